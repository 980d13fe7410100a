import { EventEmitter } from 'node:events';
import { Bitfield } from '../bitfield.js';
import type { Metainfo, StreamingInfo } from '../metainfo/types.js';
import type { ByteSource } from '../torrent/torrent.js';
import { MIN_SERIES_POINTS } from './bounded-series.js';
import { PlaybackInitError, PlaybackPieceError } from './errors.js';
import { MediaTimeline } from './media-timeline.js';
import {
  NO_BYTES,
  type PlaybackMetrics,
  PlaybackRecorder,
  type PlaybackState,
  type PlayerEvents,
} from './metrics.js';
import type { PlaybackView } from './playback-view.js';
import { type PlaybackScheduler, realScheduler } from './scheduler.js';

/**
 * Media a stalled player waits for before it resumes. Real players re-buffer rather than resume
 * on a single piece (which would stutter, one short stall per late piece); 1 s is in the range of
 * dash.js and hls.js. 0 resumes as soon as the missing piece arrives.
 */
export const DEFAULT_REBUFFER_MS = 1_000;
export const DEFAULT_BUFFER_SERIES_POINTS = 256;
/** Node's timers cannot wait longer (2^31 - 1 ms); a later event re-arms the timer when it fires. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

export interface PlayerInit {
  readonly pieceCount: number;
  readonly pieceLength: number;
  /** Content length in bytes. */
  readonly length: number;
  readonly streaming: StreamingInfo;
  /** Media (ms) that must be held contiguously from the start before playback begins. */
  readonly startupBufferMs: number;
  /**
   * Media (ms) that must be held contiguously from the playhead before a stalled player resumes
   * (or everything up to the end of the stream). Default DEFAULT_REBUFFER_MS.
   */
  readonly rebufferMs?: number;
  /** When the viewer joins (clock ms). Default: when `start()` is called. */
  readonly joinAt?: number;
  /** Bound of the buffer-level series in the metrics. Default DEFAULT_BUFFER_SERIES_POINTS. */
  readonly bufferSeriesPoints?: number;
}

/** A PlayerInit without what the metainfo says (see `Player.fromMeta`). */
export type PlayerOptions = Omit<PlayerInit, 'pieceCount' | 'pieceLength' | 'length' | 'streaming'>;

export interface PlayerDeps {
  /**
   * Pieces held besides those reported through `onPiece` (a Bitfield, or a predicate), e.g. what
   * storage held before the player existed. Read whenever the player needs a piece, but a piece
   * that appears here unannounced only counts from the next `onPiece` call or timer.
   */
  readonly held?: Bitfield | ((index: number) => boolean);
  /** Clock and timers; default `realScheduler` (Date.now, unref'd timers). */
  readonly scheduler?: PlaybackScheduler;
}

function nonNegative(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
    throw new PlaybackInitError(`${name} ${value} is not a non-negative number of milliseconds`);
  }
}

/**
 * The playback model of one viewer. It joins at `joinAt`, waits until `startupBufferMs` of media
 * is held contiguously from the start, then consumes each piece at its playback time (see
 * MediaTimeline). A piece missing at its time stalls playback at that piece; once it arrived and
 * `rebufferMs` of media is held from it (or the rest of the stream), playback resumes and every
 * later deadline shifts by the stall's length. Playback ends (`done`) at the end of the media.
 *
 * Event-driven: it sleeps on one timer until the next piece's playback time and wakes on
 * `onPiece`; nothing is polled. Every event is processed at the exact time it was due, even when
 * a timer fires late, so the measurements do not depend on timer jitter.
 *
 * Deadlines (`deadline(i)`, what streaming pickers read):
 * - before playback starts: as if it started at max(now, joinAt) + startupBufferMs, the rule of
 *   PlaybackView (how long the buffer takes to fill is not known);
 * - playing or done: the piece's playback time, shifted by all the stalls so far;
 * - stalled: as if playback resumed now.
 *
 * Pieces are assumed to stay held once reported until they are played (a bounded cache evicts
 * played pieces only).
 */
export class Player extends EventEmitter<PlayerEvents> implements PlaybackView {
  readonly timeline: MediaTimeline;
  readonly pieceCount: number;
  readonly startupBufferMs: number;
  readonly rebufferMs: number;
  readonly #scheduler: PlaybackScheduler;
  /** Pieces reported through onPiece. */
  readonly #held: Bitfield;
  readonly #external: ((index: number) => boolean) | undefined;
  /** Pieces missing at their playback time: played late, if ever. */
  readonly #missed: Bitfield;
  readonly #recorder: PlaybackRecorder;
  #joinAt: number | undefined;
  #state: PlaybackState = 'waiting';
  #running = false;
  #runningSince = 0;
  #joined = false;
  #stoppedAt: number | undefined;
  #playhead = 0;
  /** Clock time minus media time while playing: the start time plus every stall so far. */
  #offset = 0;
  #stallStartedAt = 0;
  /** Lower bound of the first piece at or after the playhead that is not held. */
  #contiguous = 0;
  /** The piece onPiece is reporting: not held yet while the events due before it are processed. */
  #arriving = -1;
  #timer: unknown;
  #timerArmed = false;

  constructor(init: PlayerInit, deps: PlayerDeps = {}) {
    super();
    this.timeline = new MediaTimeline(init);
    this.pieceCount = init.pieceCount;
    nonNegative(init.startupBufferMs, 'startupBufferMs');
    nonNegative(init.rebufferMs, 'rebufferMs');
    if (init.joinAt !== undefined && !Number.isFinite(init.joinAt)) {
      throw new PlaybackInitError(`joinAt ${init.joinAt} is not a finite time`);
    }
    const points = init.bufferSeriesPoints ?? DEFAULT_BUFFER_SERIES_POINTS;
    if (!Number.isSafeInteger(points) || points < MIN_SERIES_POINTS) {
      throw new PlaybackInitError(`bufferSeriesPoints ${points} is not an integer >= ${MIN_SERIES_POINTS}`);
    }
    this.startupBufferMs = init.startupBufferMs;
    this.rebufferMs = init.rebufferMs ?? DEFAULT_REBUFFER_MS;
    this.#joinAt = init.joinAt;
    this.#scheduler = deps.scheduler ?? realScheduler;
    this.#held = new Bitfield(init.pieceCount);
    this.#missed = new Bitfield(init.pieceCount);
    const held = deps.held;
    if (held instanceof Bitfield) {
      if (held.length !== init.pieceCount) {
        throw new PlaybackInitError(`held bitfield has ${held.length} pieces, expected ${init.pieceCount}`);
      }
      this.#external = (i) => held.has(i);
    } else {
      this.#external = held;
    }
    this.#recorder = new PlaybackRecorder(points);
  }

  /** A player for `meta`'s stream; throws PlaybackInitError when it has no streaming section. */
  static fromMeta(meta: Metainfo, options: PlayerOptions, deps?: PlayerDeps): Player {
    if (meta.streaming === undefined) {
      throw new PlaybackInitError(`torrent ${meta.name} has no streaming section (bitrate, duration)`);
    }
    return new Player(
      {
        ...options,
        pieceCount: meta.pieceCount,
        pieceLength: meta.pieceLength,
        length: meta.length,
        streaming: meta.streaming,
      },
      deps,
    );
  }

  get state(): PlaybackState {
    return this.#state;
  }

  get started(): boolean {
    return this.#state !== 'waiting';
  }

  get playheadPiece(): number {
    return this.#playhead;
  }

  /** When the viewer joins or joined; undefined before `start()` when none was configured. */
  get joinAt(): number | undefined {
    return this.#joinAt;
  }

  get bufferedMs(): number {
    return this.#bufferedAt(this.#now());
  }

  /** Media time of the playhead (ms from the start of the stream). */
  get positionMs(): number {
    return this.#positionAt(this.#now());
  }

  deadline(index: number): number {
    const media = this.timeline.startMs(index);
    switch (this.#state) {
      case 'waiting': {
        const now = this.#now();
        return Math.max(now, this.#joinAt ?? now) + this.startupBufferMs + media;
      }
      case 'stalled':
        return this.#now() + media - this.timeline.startMs(this.#playhead);
      default:
        return media + this.#offset;
    }
  }

  /**
   * Starts the clock: the viewer joins at `joinAt` (default now). With a `joinAt` already past,
   * playback cannot begin before this call, and the startup delay (measured from `joinAt`)
   * includes the wait. Idempotent; a no-op once stopped.
   */
  start(): void {
    if (this.#running || this.#stoppedAt !== undefined) return;
    const now = this.#scheduler.now();
    this.#running = true;
    this.#runningSince = now;
    this.#joinAt ??= now;
    this.#step(now);
  }

  /** Stops the clock and clears the timer; the metrics stay frozen at this moment. Idempotent. */
  stop(): void {
    if (this.#stoppedAt !== undefined) return;
    const now = this.#scheduler.now();
    if (this.#running) this.#advance(now);
    this.#running = false;
    this.#stoppedAt = now;
    this.#disarm();
    if (this.#joined) this.#recorder.sample(now, this.#bufferedAt(now), true);
  }

  /** Piece `index` is now held (verified and stored). Idempotent per piece. */
  onPiece(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.pieceCount) {
      throw new PlaybackPieceError(index, this.pieceCount);
    }
    if (this.#held.has(index)) return;
    if (!this.#running) {
      this.#held.set(index);
      return;
    }
    const now = this.#scheduler.now();
    // Whatever was due before this arrival happened without the piece; a piece arriving exactly at
    // its playback time is on time.
    this.#arriving = index;
    try {
      this.#advance(now, true);
    } finally {
      this.#arriving = -1;
    }
    this.#held.set(index);
    if (!this.#running) return; // a listener stopped the player
    if (this.#state === 'waiting' && this.#joined && this.#ready(this.startupBufferMs)) this.#begin(now);
    else if (this.#state === 'stalled' && this.#ready(this.rebufferMs)) this.#resume(now);
    if (this.#joined) this.#recorder.sample(now, this.#bufferedAt(now));
    this.#step(now);
  }

  /** A snapshot of this player's metrics; `bytesBySource` is the torrent's (see attachPlayer). */
  metrics(bytesBySource: Readonly<Record<ByteSource, number>> = NO_BYTES): PlaybackMetrics {
    const now = this.#now();
    return this.#recorder.snapshot({
      atMs: now,
      state: this.#state,
      joinAtMs: this.#joinAt,
      playheadPiece: this.#playhead,
      positionMs: this.#positionAt(now),
      bufferedMs: this.#bufferedAt(now),
      lagMs: this.#lagAt(now),
      bytesBySource,
    });
  }

  /** Timers in use (0 or 1): lets tests check that a stopped player leaves none behind. */
  get pendingTimers(): number {
    return this.#timerArmed ? 1 : 0;
  }

  #now(): number {
    return this.#stoppedAt ?? this.#scheduler.now();
  }

  #isHeld(index: number): boolean {
    if (index === this.#arriving) return false;
    return this.#held.has(index) || (this.#external?.(index) ?? false);
  }

  /** First piece at or after the playhead that is not held (`pieceCount` when all are). */
  #firstMissing(): number {
    let k = Math.max(this.#contiguous, this.#playhead);
    while (k < this.pieceCount && this.#isHeld(k)) k++;
    // A piece being reported is not held yet: do not move the bound past it.
    if (this.#arriving < 0) this.#contiguous = k;
    return k;
  }

  /**
   * Enough media held from the playhead to (re)start: `ms` of it and more than none, or every
   * piece to the end of the stream. The playhead piece itself is always required.
   */
  #ready(ms: number): boolean {
    const k = this.#firstMissing();
    if (k <= this.#playhead) return false;
    if (k === this.pieceCount) return true;
    const span = this.timeline.startMs(k) - this.timeline.startMs(this.#playhead);
    return span > 0 && span >= ms;
  }

  #positionAt(now: number): number {
    switch (this.#state) {
      case 'waiting':
        return 0;
      case 'playing':
        return Math.min(Math.max(now - this.#offset, 0), this.timeline.startMs(this.#playhead));
      case 'stalled':
        return this.timeline.startMs(this.#playhead);
      case 'done':
        return this.timeline.endMs;
    }
  }

  #bufferedAt(now: number): number {
    if (this.#state === 'done') return 0;
    return Math.max(0, this.timeline.startMs(this.#firstMissing()) - this.#positionAt(now));
  }

  #lagAt(now: number): number {
    const joinAt = this.#joinAt;
    if (joinAt === undefined || !this.#joined) return 0;
    // Once done, the lag is frozen at the moment playback ended.
    const until = this.#state === 'done' ? this.#offset + this.timeline.endMs : now;
    return Math.max(0, until - joinAt - this.#positionAt(now));
  }

  /** When the next timed event is due: the join, the playhead piece, or the end of the media. */
  #nextDue(): number | undefined {
    if (!this.#running) return undefined;
    if (!this.#joined) return Math.max(this.#joinAt ?? this.#runningSince, this.#runningSince);
    if (this.#state !== 'playing') return undefined;
    return this.timeline.startMs(this.#playhead) + this.#offset;
  }

  /** Processes, in order and each at its own time, every timed event due by `now` (or before it). */
  #advance(now: number, strictlyBefore = false): void {
    // Each event joins, consumes a piece, stalls or ends: pieceCount + 2 of them at most.
    for (let guard = 0; guard < this.pieceCount + 4; guard++) {
      const due = this.#nextDue();
      if (due === undefined || due > now || (strictlyBefore && due === now)) return;
      this.#fire(due);
    }
  }

  #fire(at: number): void {
    if (!this.#joined) {
      this.#joined = true;
      this.#recorder.sample(at, this.#bufferedAt(at), true);
      if (this.#ready(this.startupBufferMs)) this.#begin(at);
      return;
    }
    const i = this.#playhead;
    if (i === this.pieceCount) {
      this.#finish(at);
      return;
    }
    if (!this.#isHeld(i)) {
      this.#stall(at);
      return;
    }
    this.#playhead = i + 1;
    this.#recorder.played(!this.#missed.has(i));
    this.#recorder.sample(at, this.#bufferedAt(at));
  }

  #begin(at: number): void {
    this.#state = 'playing';
    this.#offset = at;
    this.#recorder.started(at);
    this.#recorder.sample(at, this.#bufferedAt(at), true);
    this.emit('started', { atMs: at, startupDelayMs: at - (this.#joinAt ?? at) });
  }

  #stall(at: number): void {
    const h = this.#playhead;
    // Pieces sharing the playhead's timestamp (VBR) were due at the same instant.
    const due = this.timeline.startMs(h);
    let missed = 0;
    for (let j = h; j < this.pieceCount && this.timeline.startMs(j) === due; j++) {
      if (!this.#isHeld(j) && this.#missed.set(j)) missed++;
    }
    this.#state = 'stalled';
    this.#stallStartedAt = at;
    this.#recorder.stalled(at, missed);
    this.#recorder.sample(at, 0, true);
    this.emit('stall', { atMs: at, piece: h });
  }

  #resume(at: number): void {
    this.#offset += at - this.#stallStartedAt;
    this.#state = 'playing';
    const stallMs = this.#recorder.resumed(at);
    this.#recorder.sample(at, this.#bufferedAt(at), true);
    this.emit('resume', { atMs: at, piece: this.#playhead, stallMs });
  }

  #finish(at: number): void {
    this.#state = 'done';
    this.#recorder.sample(at, 0, true);
    this.emit('done', { atMs: at, lagMs: this.#lagAt(at) });
  }

  /** Catches up with `now`, then sleeps until the next timed event. */
  #step(now: number): void {
    this.#advance(now);
    this.#disarm();
    const due = this.#nextDue();
    if (due === undefined) return;
    const delay = Math.min(Math.max(0, due - now), MAX_TIMER_DELAY_MS);
    this.#timerArmed = true;
    this.#timer = this.#scheduler.setTimeout(() => {
      this.#timerArmed = false;
      this.#step(this.#scheduler.now());
    }, delay);
  }

  #disarm(): void {
    if (!this.#timerArmed) return;
    this.#timerArmed = false;
    this.#scheduler.clearTimeout(this.#timer);
  }
}
