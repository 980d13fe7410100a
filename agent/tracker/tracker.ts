import type { Logger } from '../peer/logger.js';
import { silentLogger } from '../peer/logger.js';
import type { Seed } from '../peer/random.js';
import { formatEndpoint } from './address.js';
import { AnnounceLog, type AnnounceRecord, DEFAULT_ANNOUNCE_LOG_CAPACITY } from './announce-log.js';
import { type AnnounceParams, INFO_HASH_BYTES } from './announce-params.js';
import { MalformedParameterError, TrackerConfigError, UnknownTorrentError } from './errors.js';
import type { PeerSelector } from './peer-selector.js';
import { RandomSelector } from './selectors/random-selector.js';
import { type EndpointAddress, type PeerView, type Swarm, SwarmRegistry } from './swarm-registry.js';

/** Tracker behaviour, shared by the HTTP and UDP front ends. */
export interface TrackerInit {
  /** Regular announce interval told to clients. Default 60 (a testbed wants fast discovery). */
  readonly intervalSec?: number;
  /** Default min(15, intervalSec). */
  readonly minIntervalSec?: number;
  /** A peer silent this long is dropped. Default 2.5 intervals, so one lost announce is forgiven. */
  readonly peerTtlSec?: number;
  /** numwant above this is capped (not refused). Default 200. */
  readonly maxNumwant?: number;
  /** Peers returned when numwant is absent. Default 50. */
  readonly defaultNumwant?: number;
  /** Accept announces for any infohash (true), or only `allowedInfoHashes` (false). Default true. */
  readonly open?: boolean;
  /** Hex strings or 20-byte buffers. */
  readonly allowedInfoHashes?: readonly (string | Uint8Array)[];
  /**
   * Honour the peer's claimed address (`ip` / `ipv4` / `ipv6`, the UDP `ip` field). Default true:
   * testbed peers may announce over loopback while listening elsewhere. A public tracker would
   * turn this off.
   */
  readonly acceptIpParam?: boolean;
  /** Seed of the default random selector. */
  readonly seed?: Seed;
  /** Announce records kept in the log when no `announceLog` is given. */
  readonly announceLogCapacity?: number;
}

export interface TrackerDeps {
  /** Default: `RandomSelector` seeded with `init.seed`. */
  readonly selector?: PeerSelector;
  readonly logger?: Logger;
  readonly announceLog?: AnnounceLog;
  /** Milliseconds clock for expiry and records. */
  readonly now?: () => number;
}

export const TRACKER_DEFAULTS = {
  intervalSec: 60,
  minIntervalSec: 15,
  maxNumwant: 200,
  defaultNumwant: 50,
} as const;

/** Torrents a scrape without infohashes reports at most. */
export const MAX_FULL_SCRAPE_TORRENTS = 10_000;

/** What an announce produced, for the front end to encode. */
export interface AnnounceOutcome {
  readonly swarm: Swarm;
  /** The announcing peer as stored; undefined after `stopped`. */
  readonly peer: PeerView | undefined;
  readonly selected: readonly PeerView[];
}

/** One torrent's counts, as a scrape reports them. */
export interface ScrapeCounts {
  readonly infoHash: Buffer;
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

/**
 * The tracker proper, without a transport: the allow list, the swarms, the selection policy and
 * the announce log. `TrackerServer` (HTTP) and `UdpTrackerServer` (BEP 15) are front ends of it.
 */
export class Tracker {
  readonly intervalSec: number;
  readonly minIntervalSec: number;
  readonly peerTtlSec: number;
  readonly #maxNumwant: number;
  readonly #defaultNumwant: number;
  readonly #open: boolean;
  readonly #acceptIpParam: boolean;
  readonly #allowed = new Set<string>();
  readonly #registry: SwarmRegistry;
  readonly #selector: PeerSelector;
  readonly #log: AnnounceLog;
  readonly logger: Logger;

  constructor(init: TrackerInit = {}, deps: TrackerDeps = {}) {
    this.intervalSec = init.intervalSec ?? TRACKER_DEFAULTS.intervalSec;
    this.minIntervalSec = init.minIntervalSec ?? Math.min(TRACKER_DEFAULTS.minIntervalSec, this.intervalSec);
    this.#maxNumwant = init.maxNumwant ?? TRACKER_DEFAULTS.maxNumwant;
    this.#defaultNumwant = Math.min(init.defaultNumwant ?? TRACKER_DEFAULTS.defaultNumwant, this.#maxNumwant);
    this.#open = init.open ?? true;
    this.#acceptIpParam = init.acceptIpParam ?? true;
    this.peerTtlSec = init.peerTtlSec ?? this.intervalSec * 2.5;
    for (const [name, v] of [
      ['intervalSec', this.intervalSec],
      ['minIntervalSec', this.minIntervalSec],
      ['maxNumwant', this.#maxNumwant],
      ['defaultNumwant', this.#defaultNumwant],
    ] as const) {
      if (!(Number.isInteger(v) && v >= 0)) {
        throw new TrackerConfigError(`${name} must be an integer >= 0, got ${v}`);
      }
    }
    for (const h of init.allowedInfoHashes ?? []) this.allow(h);
    this.#registry = new SwarmRegistry({ peerTtlSec: this.peerTtlSec }, { now: deps.now });
    this.#selector = deps.selector ?? new RandomSelector({ seed: init.seed ?? 0 });
    this.logger = deps.logger ?? silentLogger;
    this.#log =
      deps.announceLog ??
      new AnnounceLog(
        { capacity: init.announceLogCapacity ?? DEFAULT_ANNOUNCE_LOG_CAPACITY },
        { logger: this.logger },
      );
  }

  get announceLog(): AnnounceLog {
    return this.#log;
  }

  get registry(): SwarmRegistry {
    return this.#registry;
  }

  get selector(): PeerSelector {
    return this.#selector;
  }

  /** Lets a closed tracker serve this torrent (hex string or 20 bytes). */
  allow(infoHash: string | Uint8Array): void {
    const bytes = typeof infoHash === 'string' ? Buffer.from(infoHash, 'hex') : Buffer.from(infoHash);
    const valid =
      typeof infoHash === 'string' ? /^[0-9a-fA-F]{40}$/.test(infoHash) : bytes.length === INFO_HASH_BYTES;
    if (!valid) throw new TrackerConfigError(`not an infohash: ${String(infoHash)}`);
    this.#allowed.add(bytes.toString('latin1'));
  }

  checkAllowed(infoHash: Buffer): void {
    if (!this.#open && !this.#allowed.has(infoHash.toString('latin1'))) {
      throw new UnknownTorrentError(infoHash.toString('hex'));
    }
  }

  /**
   * Applies an announce whose parameters are already parsed. `source` is the address the request
   * came from (4 or 16 bytes). Throws a TrackerRequestError for a refused announce.
   */
  announce(p: AnnounceParams, source: Buffer | undefined): AnnounceOutcome {
    this.checkAllowed(p.infoHash);
    const { v4, v6 } = this.#endpoints(p, source);
    const { swarm, peer } = this.#registry.announce(p.infoHash, {
      peerId: p.peerId,
      v4,
      v6,
      left: p.left,
      event: p.event,
      key: p.key,
      upstreamBps: p.upstreamBps,
      delays: p.delays,
    });
    const numwant = Math.min(p.numwant ?? this.#defaultNumwant, this.#maxNumwant);
    const nowMs = this.#registry.now();
    const selected =
      peer === undefined || numwant === 0
        ? []
        : this.#selector.select({ swarm, asker: peer, count: numwant, nowMs });
    if (this.#log.wanted) this.#log.add(this.#record(p, swarm, peer, v4, v6, numwant, selected, nowMs));
    return { swarm, peer, selected };
  }

  /** Counts for each named torrent (zeros for unknown ones), or for every torrent when none is named. */
  scrape(infoHashes: readonly Buffer[]): ScrapeCounts[] {
    const counts = (infoHash: Buffer, s: Swarm | undefined): ScrapeCounts => ({
      infoHash,
      complete: s?.complete ?? 0,
      incomplete: s?.incomplete ?? 0,
      downloaded: s?.downloaded ?? 0,
    });
    const out: ScrapeCounts[] = [];
    if (infoHashes.length === 0) {
      for (const swarm of this.#registry.swarms()) {
        if (out.length >= MAX_FULL_SCRAPE_TORRENTS) break;
        if (swarm.size > 0) out.push(counts(swarm.infoHash, swarm));
      }
      return out;
    }
    for (const h of infoHashes) this.checkAllowed(h);
    for (const h of infoHashes) out.push(counts(h, this.#registry.swarm(h)));
    return out;
  }

  #endpoints(p: AnnounceParams, source: Buffer | undefined): { v4?: EndpointAddress; v6?: EndpointAddress } {
    let address = source;
    if (this.#acceptIpParam && p.ip !== undefined) address = p.ip;
    let v4 = address?.length === 4 ? { address, port: p.port } : undefined;
    let v6 = address?.length === 16 ? { address, port: p.port } : undefined;
    if (this.#acceptIpParam && p.ipv4 !== undefined)
      v4 = { address: p.ipv4.address, port: p.ipv4.port ?? p.port };
    if (this.#acceptIpParam && p.ipv6 !== undefined)
      v6 = { address: p.ipv6.address, port: p.ipv6.port ?? p.port };
    if (v4 === undefined && v6 === undefined) {
      throw new MalformedParameterError('ip', 'no address to reach the peer at');
    }
    return { v4, v6 };
  }

  #record(
    p: AnnounceParams,
    swarm: Swarm,
    peer: PeerView | undefined,
    v4: EndpointAddress | undefined,
    v6: EndpointAddress | undefined,
    numwant: number,
    selected: readonly PeerView[],
    nowMs: number,
  ): AnnounceRecord {
    const endpoints: string[] = [];
    if (v4 !== undefined) endpoints.push(peer?.v4?.text ?? formatEndpoint(v4.address, v4.port));
    if (v6 !== undefined) endpoints.push(peer?.v6?.text ?? formatEndpoint(v6.address, v6.port));
    return {
      timeMs: nowMs,
      infoHash: p.infoHash.toString('hex'),
      peerId: p.peerId.toString('hex'),
      endpoints,
      ...(p.event === undefined ? {} : { event: p.event }),
      ...(p.left === undefined ? {} : { left: p.left }),
      seed: peer?.seed ?? p.left === 0,
      numwant,
      ...(p.upstreamBps === undefined ? {} : { upstreamBps: p.upstreamBps }),
      ...(p.delays === undefined
        ? {}
        : { delays: p.delays.map((d) => ({ endpoint: d.endpoint, delayMs: d.delayMs })) }),
      policy: this.#selector.name,
      returned: selected.map((s) => (s.v4 ?? s.v6)!.text),
      complete: swarm.complete,
      incomplete: swarm.incomplete,
    };
  }
}
