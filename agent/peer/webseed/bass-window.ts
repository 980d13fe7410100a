import { SeedstreamError } from '../errors.js';
import type { PlaybackView } from '../playback/playback-view.js';

/** How far ahead of the playhead the media server streams, by default. */
export const DEFAULT_BASS_WINDOW_MS = 10_000;

/** A BASS option (`windowMs`, `windowPieces`...) has an impossible value. */
export class BassOptionError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_BASS_OPTION', message);
  }
}

export interface BassWindowInit {
  /** Media time ahead of the playhead that is the media server's. Default DEFAULT_BASS_WINDOW_MS. */
  readonly windowMs?: number;
  /** A fixed number of pieces instead (overrides `windowMs`). */
  readonly windowPieces?: number;
}

/** Pieces [start, end) are the media server's to stream. */
export interface WindowSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * The one definition of BASS's split, shared by both sides so they never disagree: the media
 * server streams the pieces from the playhead up to `windowMs` of media ahead (in playback order),
 * BitTorrent fetches everything else. The BASS picker (picker/bass.ts) builds it from its
 * strategy options; `startBass` hands the same object to the web seed's policy.
 *
 * Two escape hatches keep a failing server from stalling playback for ever: while the web seed
 * reports it unavailable, and for pieces it gave up on, the window is open to peers.
 */
export class BassWindow {
  readonly windowMs: number;
  readonly windowPieces: number | undefined;
  /** False while the media server keeps failing: peers may then fetch the window too. */
  serverAvailable = true;
  readonly #abandoned = new Set<number>();

  constructor(init: BassWindowInit = {}) {
    const windowMs = init.windowMs ?? DEFAULT_BASS_WINDOW_MS;
    if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
      throw new BassOptionError(
        `windowMs must be a positive number of milliseconds, got ${String(windowMs)}`,
      );
    }
    const windowPieces = init.windowPieces;
    if (
      windowPieces !== undefined &&
      (typeof windowPieces !== 'number' || !Number.isInteger(windowPieces) || windowPieces < 1)
    ) {
      throw new BassOptionError(`windowPieces must be a positive integer, got ${String(windowPieces)}`);
    }
    this.windowMs = windowMs;
    this.windowPieces = windowPieces;
  }

  /** True when both define the same window (same sizes). */
  sameSizeAs(init: BassWindowInit): boolean {
    return (
      (init.windowMs === undefined || init.windowMs === this.windowMs) &&
      (init.windowPieces === undefined || init.windowPieces === this.windowPieces)
    );
  }

  /**
   * The pieces that are the media server's now. With a player: from the playhead, every piece
   * needed within `windowMs` of the playhead piece (by the player's deadlines, so VBR timestamps
   * count), at least the playhead piece itself. Without one: [0, windowPieces), empty when only
   * `windowMs` is set.
   */
  span(playback: PlaybackView | undefined, pieceCount: number): WindowSpan {
    // Without a player there is no clock to measure `windowMs` in: only a piece count defines one.
    if (playback === undefined) return { start: 0, end: Math.min(pieceCount, this.windowPieces ?? 0) };
    const head = playback.playheadPiece;
    const start = Number.isInteger(head) ? Math.max(0, Math.min(pieceCount, head)) : 0;
    if (start >= pieceCount) return { start, end: start };
    if (this.windowPieces !== undefined) {
      return { start, end: Math.min(pieceCount, start + this.windowPieces) };
    }
    const base = playback.deadline(start);
    let end = start + 1;
    // Bounded by pieceCount; a NaN deadline ends the window rather than running it to the end.
    while (end < pieceCount && playback.deadline(end) - base < this.windowMs) end++;
    return { start, end };
  }

  /** The media server is to fetch `index` (given the current span): peers are not asked for it. */
  serverOwns(index: number, span: WindowSpan): boolean {
    return this.serverAvailable && index >= span.start && index < span.end && !this.#abandoned.has(index);
  }

  /** The media server will not deliver `index` (it gave up): peers must. */
  abandon(index: number): void {
    this.#abandoned.add(index);
  }

  isAbandoned(index: number): boolean {
    return this.#abandoned.has(index);
  }
}
