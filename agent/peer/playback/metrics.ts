import type { ByteSource } from '../torrent/torrent.js';
import { BoundedSeries } from './bounded-series.js';

/**
 * - `waiting`: not started yet (before the viewer joins, or filling the start-up buffer);
 * - `playing`; `stalled`: paused at a piece that was missing at its playback time;
 * - `done`: the whole stream was played.
 */
export type PlaybackState = 'waiting' | 'playing' | 'stalled' | 'done';

export interface BufferSample {
  /** Clock time (ms). */
  readonly atMs: number;
  /** Media held contiguously ahead of the playhead (ms). */
  readonly bufferedMs: number;
}

/**
 * One player's quality of experience at one moment: plain data (JSON-serialisable), so it can be
 * logged, sent over the wire or aggregated as is. Times are ms on the player's clock.
 */
export interface PlaybackMetrics {
  readonly state: PlaybackState;
  /** When this snapshot was taken (for a stopped player: when it stopped). */
  readonly atMs: number;
  /** When the viewer joined; null before `start()` when no join time was configured. */
  readonly joinAtMs: number | null;
  readonly startedAtMs: number | null;
  /** Join to playback start; null until the player starts. */
  readonly startupDelayMs: number | null;
  readonly stallCount: number;
  /** Total time spent stalled, including a stall still going on. */
  readonly stallMs: number;
  readonly longestStallMs: number;
  readonly piecesPlayed: number;
  /** Pieces held when playback reached them. */
  readonly piecesOnTime: number;
  /** `piecesOnTime / piecesPlayed`; null while no piece was played. */
  readonly continuityIndex: number | null;
  /** Pieces missing at their playback time (each arrives after its deadline, or never). */
  readonly deadlineMisses: number;
  readonly playheadPiece: number;
  /** Media time of the playhead (ms from the start of the stream). */
  readonly positionMs: number;
  readonly bufferedMs: number;
  /**
   * How far the playhead is behind the ideal timeline, on which playback starts the moment the
   * viewer joins and never stalls: time since the join minus media played. Once done it is
   * frozen at the end of playback (startup delay plus total stall time); 0 before the join.
   */
  readonly lagMs: number;
  /** Payload bytes downloaded by source, read from the torrent when the snapshot was taken. */
  readonly bytesBySource: Readonly<Record<ByteSource, number>>;
  /** Buffer level over time: bounded, coarsening as the run grows (see BoundedSeries). */
  readonly bufferSeries: readonly BufferSample[];
}

/** Events a player emits for the metrics stream. */
export interface StartedEvent {
  readonly atMs: number;
  readonly startupDelayMs: number;
}
export interface StallEvent {
  readonly atMs: number;
  /** The piece that was missing. */
  readonly piece: number;
}
export interface ResumeEvent {
  readonly atMs: number;
  readonly piece: number;
  readonly stallMs: number;
}
export interface DoneEvent {
  readonly atMs: number;
  readonly lagMs: number;
}

export interface PlayerEvents {
  started: [event: StartedEvent];
  stall: [event: StallEvent];
  resume: [event: ResumeEvent];
  done: [event: DoneEvent];
}

export const NO_BYTES: Readonly<Record<ByteSource, number>> = Object.freeze({
  peer: 0,
  seed: 0,
  'media-server': 0,
});

/** What the player reports of its own state when a snapshot is taken. */
export interface PlayerSnapshotInput {
  readonly atMs: number;
  readonly state: PlaybackState;
  readonly joinAtMs: number | undefined;
  readonly playheadPiece: number;
  readonly positionMs: number;
  readonly bufferedMs: number;
  readonly lagMs: number;
  readonly bytesBySource: Readonly<Record<ByteSource, number>>;
}

/**
 * The measurements of one player: it tells the recorder what happened and when; the recorder
 * keeps the counters and the buffer series and turns them into a `PlaybackMetrics` snapshot.
 */
export class PlaybackRecorder {
  readonly #series: BoundedSeries;
  #startedAt: number | undefined;
  #stallCount = 0;
  #stallMs = 0;
  #longestStallMs = 0;
  #stallStartedAt: number | undefined;
  #piecesPlayed = 0;
  #piecesOnTime = 0;
  #deadlineMisses = 0;

  constructor(seriesPoints: number) {
    this.#series = new BoundedSeries(seriesPoints);
  }

  started(atMs: number): void {
    this.#startedAt = atMs;
  }

  played(onTime: boolean): void {
    this.#piecesPlayed++;
    if (onTime) this.#piecesOnTime++;
  }

  /** Playback stopped at `atMs` because `missedPieces` (at least one) were due and missing. */
  stalled(atMs: number, missedPieces: number): void {
    this.#stallCount++;
    this.#deadlineMisses += missedPieces;
    this.#stallStartedAt = atMs;
  }

  /** A stall ended at `atMs`; returns its length. */
  resumed(atMs: number): number {
    const stallMs = atMs - (this.#stallStartedAt ?? atMs);
    this.#stallStartedAt = undefined;
    this.#stallMs += stallMs;
    this.#longestStallMs = Math.max(this.#longestStallMs, stallMs);
    return stallMs;
  }

  /** Records the buffer level; `mark` for state changes, which the series always keeps. */
  sample(atMs: number, bufferedMs: number, mark = false): void {
    this.#series.add(atMs, bufferedMs, mark);
  }

  snapshot(input: PlayerSnapshotInput): PlaybackMetrics {
    const ongoing = this.#stallStartedAt === undefined ? 0 : Math.max(0, input.atMs - this.#stallStartedAt);
    const startedAt = this.#startedAt;
    const joinAt = input.joinAtMs;
    return {
      state: input.state,
      atMs: input.atMs,
      joinAtMs: joinAt ?? null,
      startedAtMs: startedAt ?? null,
      startupDelayMs: startedAt === undefined || joinAt === undefined ? null : startedAt - joinAt,
      stallCount: this.#stallCount,
      stallMs: this.#stallMs + ongoing,
      longestStallMs: Math.max(this.#longestStallMs, ongoing),
      piecesPlayed: this.#piecesPlayed,
      piecesOnTime: this.#piecesOnTime,
      continuityIndex: this.#piecesPlayed === 0 ? null : this.#piecesOnTime / this.#piecesPlayed,
      deadlineMisses: this.#deadlineMisses,
      playheadPiece: input.playheadPiece,
      positionMs: input.positionMs,
      bufferedMs: input.bufferedMs,
      lagMs: input.lagMs,
      bytesBySource: { ...input.bytesBySource },
      bufferSeries: this.#series.points().map((p) => ({ atMs: p.atMs, bufferedMs: p.value })),
    };
  }
}
