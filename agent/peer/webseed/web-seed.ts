import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { AbortError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { pieceSize } from '../storage/storage.js';
import type { ByteSource, Torrent } from '../torrent/torrent.js';
import { WebSeedError, WebSeedHashError, WebSeedInitError } from './errors.js';
import { parseWebSeedUrl, pieceSegments, webSeedFileUrl } from './file-map.js';
import type { WebSeedPolicy, WebSeedPolicyView } from './policy.js';
import { rangeGet } from './range-get.js';

/** One range GET, connect to last byte. */
export const DEFAULT_WEBSEED_TIMEOUT_MS = 30_000;
/** Failed attempts at one piece before the source gives it up to the peers. */
export const DEFAULT_WEBSEED_MAX_ATTEMPTS = 5;
/** First pause after a failure; doubles with each consecutive failure. */
export const DEFAULT_WEBSEED_BACKOFF_MS = 200;
export const DEFAULT_WEBSEED_MAX_BACKOFF_MS = 10_000;
/** How often the policy is asked again even without an event (the playhead moves silently). */
export const DEFAULT_WEBSEED_TICK_MS = 100;

/** The part of a Torrent a web seed feeds (a Torrent satisfies it). */
export type WebSeedHost = Pick<
  Torrent,
  'meta' | 'table' | 'claimExternal' | 'deliverExternal' | 'releaseExternal' | 'on' | 'off'
>;

export interface WebSeedInit {
  /** A BEP 19 `url-list` entry (http or https). */
  readonly url: string;
  /** Id under which pieces are claimed in the torrent's table. Default `webseed:<url>`. */
  readonly sourceId?: string;
  /** How the bytes are accounted in `torrent.bytesBySource`. Default 'media-server'. */
  readonly source?: ByteSource;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly tickMs?: number;
}

export interface WebSeedDeps {
  readonly torrent: WebSeedHost;
  readonly policy: WebSeedPolicy;
  readonly logger?: Logger;
}

export interface WebSeedPieceEvent {
  readonly index: number;
  readonly bytes: number;
  /** From claim to the last byte, ms. */
  readonly fetchMs: number;
}

export interface WebSeedFailureEvent {
  readonly error: WebSeedError;
  /** Failed attempts at this piece so far. */
  readonly attempt: number;
  /** No new fetch starts for this long. */
  readonly retryInMs: number;
  /** The source gave the piece up (to the peers). */
  readonly gaveUp: boolean;
}

export interface WebSeedEvents {
  /** A piece this source fetched was verified and stored. */
  piece: [event: WebSeedPieceEvent];
  /** A piece was claimed and its fetch started. */
  fetch: [index: number];
  /** A fetch failed (the piece was released). Named so that no listener is ever required. */
  'fetch-failed': [event: WebSeedFailureEvent];
}

export interface WebSeedStats {
  /** Pieces fetched whole and handed to the torrent. */
  readonly piecesFetched: number;
  /** Payload bytes handed to the torrent. */
  readonly bytesFetched: number;
  /** Fetches that failed (any cause, hash failures included). */
  readonly failures: number;
  readonly inFlight: number;
}

/**
 * A BEP 19 (GetRight-style) web seed: fetches whole pieces with HTTP range requests and hands
 * them to a torrent through its external-source hooks (`claimExternal`, `deliverExternal`,
 * `releaseExternal`), so the torrent verifies and accounts them like any other piece. Which pieces
 * is a `WebSeedPolicy`; as a BASS media server client it follows the playhead.
 *
 * A failing server never hangs or crashes the download: every request has a deadline, every
 * failure releases the piece to the peers, pauses the source (exponential backoff) and is
 * reported as a typed `fetch-failed` event; after `maxAttempts` failures at one piece the source
 * gives that piece up.
 */
export class WebSeedSource extends EventEmitter<WebSeedEvents> {
  readonly url: string;
  readonly sourceId: string;
  readonly source: ByteSource;
  readonly policy: WebSeedPolicy;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly tickMs: number;
  readonly #torrent: WebSeedHost;
  readonly #log: Logger;
  readonly #fileUrls: readonly URL[];
  readonly #agent: http.Agent;
  readonly #stopping = new AbortController();
  /** Piece -> when its fetch started (performance.now()). */
  readonly #inFlight = new Map<number, number>();
  readonly #fetches = new Set<Promise<void>>();
  /** Delivered to the torrent, hash check pending: piece -> fetch duration. */
  readonly #verifying = new Map<number, number>();
  readonly #attempts = new Map<number, number>();
  readonly #abandoned = new Set<number>();
  readonly #view: WebSeedPolicyView;
  #tick: NodeJS.Timeout | undefined;
  #resume: NodeJS.Timeout | undefined;
  #pausedUntil = 0;
  #consecutiveFailures = 0;
  #running = false;
  #stopped = false;
  #piecesFetched = 0;
  #bytesFetched = 0;
  #failures = 0;

  constructor(init: WebSeedInit, deps: WebSeedDeps) {
    super();
    const base = parseWebSeedUrl(init.url);
    this.url = init.url;
    this.sourceId = init.sourceId ?? `webseed:${init.url}`;
    this.source = init.source ?? 'media-server';
    this.policy = deps.policy;
    this.timeoutMs = positive('timeoutMs', init.timeoutMs ?? DEFAULT_WEBSEED_TIMEOUT_MS);
    this.maxAttempts = positiveInt('maxAttempts', init.maxAttempts ?? DEFAULT_WEBSEED_MAX_ATTEMPTS);
    this.backoffMs = positive('backoffMs', init.backoffMs ?? DEFAULT_WEBSEED_BACKOFF_MS);
    this.maxBackoffMs = positive('maxBackoffMs', init.maxBackoffMs ?? DEFAULT_WEBSEED_MAX_BACKOFF_MS);
    this.tickMs = positive('tickMs', init.tickMs ?? DEFAULT_WEBSEED_TICK_MS);
    this.#torrent = deps.torrent;
    this.#log = (deps.logger ?? silentLogger).child({ webseed: init.url });
    const meta = deps.torrent.meta;
    this.#fileUrls = meta.files.map((_, i) => webSeedFileUrl(base, meta, i));
    const agentInit = { keepAlive: true, maxSockets: this.policy.maxInFlight };
    this.#agent = base.protocol === 'https:' ? new https.Agent(agentInit) : new http.Agent(agentInit);
    this.#view = {
      table: deps.torrent.table,
      excluded: (i) => this.#inFlight.has(i) || this.#verifying.has(i) || this.#abandoned.has(i),
    };
  }

  get stats(): WebSeedStats {
    return {
      piecesFetched: this.#piecesFetched,
      bytesFetched: this.#bytesFetched,
      failures: this.#failures,
      inFlight: this.#inFlight.size,
    };
  }

  /** Pieces this source gave up on. */
  get abandoned(): ReadonlySet<number> {
    return this.#abandoned;
  }

  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#torrent.on('piece', this.#onPiece);
    this.#torrent.on('hash-failure', this.#onHashFailure);
    this.#tick = setInterval(() => this.#pump(), this.tickMs);
    this.#tick.unref();
    this.#pump();
  }

  /** Aborts every fetch (their pieces go back to the peers) and closes the connections. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    clearInterval(this.#tick);
    clearTimeout(this.#resume);
    this.#stopping.abort(new AbortError('web seed stopped'));
    this.#torrent.off('piece', this.#onPiece);
    this.#torrent.off('hash-failure', this.#onHashFailure);
    await Promise.allSettled([...this.#fetches]);
    this.#agent.destroy();
  }

  /** Starts as many fetches as the policy allows now. */
  #pump(): void {
    if (!this.#running) return;
    const now = performance.now();
    if (now < this.#pausedUntil) {
      if (this.#resume === undefined) {
        this.#resume = setTimeout(() => {
          this.#resume = undefined;
          this.#pump();
        }, this.#pausedUntil - now);
        this.#resume.unref();
      }
      return;
    }
    const free = this.policy.maxInFlight - this.#inFlight.size;
    if (free <= 0) return;
    for (const index of this.policy.next(this.#view, free)) {
      if (this.#inFlight.size >= this.policy.maxInFlight) break;
      if (this.#view.excluded(index) || !this.#torrent.claimExternal(this.sourceId, index)) continue;
      this.#inFlight.set(index, now);
      const fetch = this.#fetch(index);
      this.#fetches.add(fetch);
      void fetch.finally(() => this.#fetches.delete(fetch));
      this.emit('fetch', index);
    }
  }

  async #fetch(index: number): Promise<void> {
    const meta = this.#torrent.meta;
    const data = Buffer.allocUnsafe(pieceSize(meta, index));
    const signal = this.#stopping.signal;
    try {
      // A piece spanning files is one range request per file, in order.
      for (const seg of pieceSegments(meta, index)) {
        await rangeGet(
          {
            url: this.#fileUrls[seg.file],
            piece: index,
            offset: seg.fileOffset,
            length: seg.length,
            fileLength: meta.files[seg.file].length,
            target: data,
            targetOffset: seg.pieceOffset,
          },
          { timeoutMs: this.timeoutMs, agent: this.#agent, signal },
        );
      }
    } catch (err) {
      this.#inFlight.delete(index);
      if (this.#stopped || !(err instanceof WebSeedError)) {
        this.#torrent.releaseExternal(this.sourceId, index);
        if (!this.#stopped)
          this.#log.error({ piece: index, err: String(err) }, 'unexpected web seed failure');
        return;
      }
      this.#failed(index, err);
      return;
    }
    const started = this.#inFlight.get(index) ?? performance.now();
    this.#inFlight.delete(index);
    if (this.#stopped) {
      this.#torrent.releaseExternal(this.sourceId, index);
      return;
    }
    this.#verifying.set(index, performance.now() - started);
    this.#bytesFetched += data.length;
    this.#piecesFetched++;
    // False when the piece went elsewhere meanwhile (end-game duplicate, eviction): nothing to verify.
    if (!this.#torrent.deliverExternal(this.sourceId, this.source, index, data))
      this.#verifying.delete(index);
    this.#pump();
  }

  readonly #onPiece = (index: number): void => {
    const fetchMs = this.#verifying.get(index);
    if (fetchMs !== undefined) {
      this.#verifying.delete(index);
      this.#attempts.delete(index);
      if (this.#consecutiveFailures > 0) {
        this.#consecutiveFailures = 0;
        this.policy.onHealth?.(0);
      }
      this.emit('piece', { index, bytes: pieceSize(this.#torrent.meta, index), fetchMs });
    }
    this.#pump();
  };

  readonly #onHashFailure = (event: { piece: number; contributors: string[] }): void => {
    if (!this.#verifying.has(event.piece) || !event.contributors.includes(this.sourceId)) return;
    this.#verifying.delete(event.piece);
    this.#failed(event.piece, new WebSeedHashError(this.url, event.piece));
  };

  #failed(index: number, error: WebSeedError): void {
    this.#failures++;
    this.#consecutiveFailures++;
    const attempt = (this.#attempts.get(index) ?? 0) + 1;
    this.#attempts.set(index, attempt);
    const gaveUp = attempt >= this.maxAttempts;
    const retryInMs = Math.min(
      this.maxBackoffMs,
      this.backoffMs * 2 ** Math.min(this.#consecutiveFailures - 1, 30),
    );
    this.#pausedUntil = Math.max(this.#pausedUntil, performance.now() + retryInMs);
    if (gaveUp) {
      this.#abandoned.add(index);
      this.#attempts.delete(index);
      this.policy.onAbandon?.(index);
    }
    this.policy.onHealth?.(this.#consecutiveFailures);
    this.#log.warn(
      { piece: index, code: error.code, err: error.message, attempt, gaveUp },
      'web seed fetch failed',
    );
    // Released after the policy heard of it, so peers re-picking at once see the window opened.
    this.#torrent.releaseExternal(this.sourceId, index);
    this.emit('fetch-failed', { error, attempt, retryInMs, gaveUp });
    this.#pump();
  }
}

function positive(name: string, value: number): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new WebSeedInitError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new WebSeedInitError(`${name} must be a positive integer, got ${value}`);
  return value;
}
