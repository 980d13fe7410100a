import type { Bitfield } from '../bitfield.js';
import { SeedstreamError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { PlaybackView } from '../playback/playback-view.js';

/** How often the playhead is looked at to slide the wanted window, unless told otherwise. */
export const CACHE_REFRESH_INTERVAL_MS = 250;

export class BoundedCacheError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_CACHE_CAPACITY', message);
  }
}

/** What the cache needs of the torrent it bounds (`Torrent` is one). */
export interface CacheHost {
  readonly pieceCount: number;
  readonly meta: { readonly pieceLength: number };
  /** Pieces held and announced. */
  readonly stored: Bitfield;
  /** Drops pieces and announces it (lt_donthave / range nohave). */
  evictPieces(pieces: Iterable<number>): Promise<number[]>;
  /** Starts or stops wanting pieces (and updates interest and requests). */
  setWanted(pieces: Iterable<number>, wanted: boolean): void;
  on(event: 'piece', listener: (index: number) => void): unknown;
  off(event: 'piece', listener: (index: number) => void): unknown;
}

export interface BoundedCacheInit {
  /** Most pieces held at once (at least 1). Give this or `capacityBytes`. */
  readonly capacityPieces?: number;
  /** Most bytes held at once, rounded down to whole pieces (of the torrent's piece length). */
  readonly capacityBytes?: number;
  /** How often the playhead is checked to slide the window; default CACHE_REFRESH_INTERVAL_MS. */
  readonly refreshIntervalMs?: number;
}

export interface BoundedCacheDeps {
  readonly host: CacheHost;
  /** Where the player is: pieces below `playheadPiece` were played. */
  readonly playback: PlaybackView;
  readonly logger?: Logger;
}

/**
 * The eviction policy of a peer that holds less than the whole content (a set-top box). It keeps
 * at most `capacity` pieces:
 *
 * - the torrent wants only the window [playhead, playhead + capacity): pieces behind the playhead
 *   were played, pieces beyond the window could not be kept, so neither is downloaded only to be
 *   evicted at once;
 * - when a stored piece takes the cache over capacity, played pieces go first (the furthest behind
 *   first, so the most recently played stay available to the peers behind us), then the ones
 *   furthest ahead of the playhead; the playhead piece itself never goes;
 * - as the playhead advances the window slides, so a bounded peer still plays the whole stream as
 *   long as the capacity is at least its start-up buffer plus one piece.
 *
 * Storage must take `capacity` pieces plus those being written at once (at most another
 * `capacity`): the cache enforces the bound after each store, and the torrent announces each
 * eviction to the peers that negotiated lt_donthave or ss_range.
 */
export class BoundedCache {
  /** Most pieces held at once. */
  readonly capacity: number;
  /** Pieces evicted so far. */
  evicted = 0;
  readonly #host: CacheHost;
  readonly #playback: PlaybackView;
  readonly #log: Logger;
  readonly #refreshIntervalMs: number;
  /** The wanted window [first, end) last applied; undefined before the first refresh. */
  #window: { first: number; end: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(init: BoundedCacheInit, deps: BoundedCacheDeps) {
    this.#host = deps.host;
    this.#playback = deps.playback;
    this.#log = deps.logger ?? silentLogger;
    this.#refreshIntervalMs = init.refreshIntervalMs ?? CACHE_REFRESH_INTERVAL_MS;
    this.capacity = capacityInPieces(init, deps.host.meta.pieceLength);
  }

  /** Takes control of the torrent's wanted set and evicts whenever a stored piece overfills the cache. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#host.on('piece', this.#onPiece);
    this.#timer = setInterval(() => this.refresh(), this.#refreshIntervalMs);
    this.#timer.unref();
    this.refresh();
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#host.off('piece', this.#onPiece);
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  readonly #onPiece = (): void => this.refresh();

  /** Slides the wanted window to the playhead and evicts what does not fit. Cheap when nothing changed. */
  refresh(): void {
    this.#slideWindow();
    const victims = this.victims();
    if (victims.length === 0) return;
    this.evicted += victims.length;
    this.#host.evictPieces(victims).catch((err: unknown) => {
      this.#log.warn({ err: (err as Error).message ?? String(err) }, 'eviction failed');
    });
  }

  /** The window of pieces the torrent should want now: [playhead, playhead + capacity). */
  wantedWindow(): { first: number; end: number } {
    const n = this.#host.pieceCount;
    const first = Math.max(0, Math.min(n, Math.floor(this.#playback.playheadPiece)));
    return { first, end: Math.min(n, first + this.capacity) };
  }

  /** Pieces to evict for the cache to fit, in eviction order (empty when it fits). */
  victims(): number[] {
    const stored = this.#host.stored;
    let excess = stored.count - this.capacity;
    if (excess <= 0) return [];
    const playhead = this.wantedWindow().first;
    const out: number[] = [];
    // Played pieces, the furthest behind first.
    for (let i = 0; i < playhead && excess > 0; i++) {
      if (!stored.has(i)) continue;
      out.push(i);
      excess--;
    }
    // Then the furthest ahead; never the piece the player needs next.
    for (let i = this.#host.pieceCount - 1; i > playhead && excess > 0; i--) {
      if (!stored.has(i)) continue;
      out.push(i);
      excess--;
    }
    return out;
  }

  #slideWindow(): void {
    const next = this.wantedWindow();
    const prev = this.#window;
    if (prev !== undefined && prev.first === next.first && prev.end === next.end) return;
    const n = this.#host.pieceCount;
    const outside: number[] = [];
    const inside: number[] = [];
    if (prev === undefined) {
      for (let i = 0; i < n; i++) (i >= next.first && i < next.end ? inside : outside).push(i);
    } else {
      for (let i = prev.first; i < prev.end; i++) if (i < next.first || i >= next.end) outside.push(i);
      for (let i = next.first; i < next.end; i++) if (i < prev.first || i >= prev.end) inside.push(i);
    }
    this.#window = next;
    if (outside.length > 0) this.#host.setWanted(outside, false);
    if (inside.length > 0) this.#host.setWanted(inside, true);
  }
}

function capacityInPieces(init: BoundedCacheInit, pieceLength: number): number {
  const { capacityPieces, capacityBytes } = init;
  if ((capacityPieces === undefined) === (capacityBytes === undefined)) {
    throw new BoundedCacheError('give the cache capacity either in pieces or in bytes');
  }
  const pieces = capacityPieces ?? Math.floor((capacityBytes ?? 0) / pieceLength);
  if (!Number.isSafeInteger(pieces) || pieces < 1) {
    throw new BoundedCacheError(
      capacityPieces !== undefined
        ? `cache capacity must be a whole number of pieces >= 1, got ${capacityPieces}`
        : `cache capacity of ${capacityBytes} bytes holds no whole piece of ${pieceLength} bytes`,
    );
  }
  return pieces;
}
