import type { Logger } from '../peer/logger.js';
import { silentLogger } from '../peer/logger.js';
import type { AnnounceEvent } from '../peer/tracker/announcer.js';
import { TrackerConfigError } from './errors.js';

/** What one announce told the tracker and what it got back: the `tracker` metric's raw record. */
export interface AnnounceRecord {
  readonly timeMs: number;
  /** Hex. */
  readonly infoHash: string;
  /** Hex. */
  readonly peerId: string;
  /** `host:port` endpoints the peer is reachable at (IPv4 first). */
  readonly endpoints: readonly string[];
  readonly event?: AnnounceEvent;
  readonly left?: number;
  readonly seed: boolean;
  /** Peers asked for after capping. */
  readonly numwant: number;
  /** Extension: reported upstream capacity, bytes/s (absent for ordinary clients). */
  readonly upstreamBps?: number;
  /** Extension: delays reported with this announce (absent when the parameter was not sent). */
  readonly delays?: readonly { readonly endpoint: string; readonly delayMs: number }[];
  /** Selector that chose `returned`. */
  readonly policy: string;
  /** Endpoints returned, in order. */
  readonly returned: readonly string[];
  readonly complete: number;
  readonly incomplete: number;
}

export type AnnounceListener = (record: AnnounceRecord) => void;

export interface AnnounceLogInit {
  /** Records kept for `recent()`; 0 keeps none (listeners still see every record). */
  readonly capacity: number;
}

export interface AnnounceLogDeps {
  /** Told about listeners that throw; a metrics bug must not fail announces. */
  readonly logger?: Logger;
}

export const DEFAULT_ANNOUNCE_LOG_CAPACITY = 4096;

/** A bounded ring of the latest announce records plus a listener hook for metrics. */
export class AnnounceLog {
  readonly #capacity: number;
  readonly #ring: (AnnounceRecord | undefined)[];
  readonly #listeners = new Set<AnnounceListener>();
  readonly #logger: Logger;
  #next = 0;
  #total = 0;

  constructor(
    init: AnnounceLogInit = { capacity: DEFAULT_ANNOUNCE_LOG_CAPACITY },
    deps: AnnounceLogDeps = {},
  ) {
    if (!(Number.isInteger(init.capacity) && init.capacity >= 0)) {
      throw new TrackerConfigError(`announce log capacity must be an integer >= 0, got ${init.capacity}`);
    }
    this.#capacity = init.capacity;
    this.#ring = new Array(init.capacity);
    this.#logger = deps.logger ?? silentLogger;
  }

  /** False when nobody would see a record, so the tracker can skip building it. */
  get wanted(): boolean {
    return this.#capacity > 0 || this.#listeners.size > 0;
  }

  /** Records ever added (not just those still held). */
  get total(): number {
    return this.#total;
  }

  add(record: AnnounceRecord): void {
    this.#total++;
    if (this.#capacity > 0) {
      this.#ring[this.#next] = record;
      this.#next = (this.#next + 1) % this.#capacity;
    }
    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch (err) {
        this.#logger.warn({ err }, 'announce log listener threw');
      }
    }
  }

  /** Held records, oldest first; at most `limit` of the newest. */
  recent(limit = this.#capacity): AnnounceRecord[] {
    const out: AnnounceRecord[] = [];
    for (let i = 0; i < this.#capacity; i++) {
      const r = this.#ring[(this.#next + i) % this.#capacity];
      if (r !== undefined) out.push(r);
    }
    return limit >= out.length ? out : out.slice(out.length - limit);
  }

  /** Calls `listener` for every later record; returns the unsubscribe function. */
  subscribe(listener: AnnounceListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
