import { MetainfoError } from '../metainfo/errors.js';
import type { StreamingInfo } from '../metainfo/types.js';
import { checkStreaming } from '../metainfo/validate.js';
import { PlaybackInitError } from './errors.js';

export interface MediaTimelineInit {
  readonly pieceCount: number;
  readonly pieceLength: number;
  /** Content length in bytes. */
  readonly length: number;
  readonly streaming: StreamingInfo;
}

/**
 * When, in media time (ms from the start of the stream), each piece is first needed.
 *
 * - CBR (no `pieceTimestampsMs`): from the bitrate alone, each piece lasting its bytes * 8 /
 *   bitrate, so the media ends at length * 8 / bitrate. `durationMs` is not used: a CBR stream's
 *   pieces are placed by their byte offsets, and a rounded duration would shift the last ones.
 * - VBR: piece i is needed at `pieceTimestampsMs[i]`; the media ends at `durationMs`.
 */
export class MediaTimeline {
  readonly pieceCount: number;
  /** Media time at which playback of the whole stream ends. */
  readonly endMs: number;
  readonly vbr: boolean;
  /** `pieceCount + 1` entries: piece starts, then the end of the media. */
  readonly #startsMs: Float64Array;

  constructor(init: MediaTimelineInit) {
    const { pieceCount, pieceLength, length, streaming } = init;
    if (!Number.isSafeInteger(pieceCount) || pieceCount <= 0) {
      throw new PlaybackInitError(`pieceCount ${pieceCount} is not a positive integer`);
    }
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
      throw new PlaybackInitError(`pieceLength ${pieceLength} is not a positive integer`);
    }
    if (!Number.isSafeInteger(length) || length <= 0 || Math.ceil(length / pieceLength) !== pieceCount) {
      throw new PlaybackInitError(
        `length ${length} does not make ${pieceCount} pieces of ${pieceLength} bytes`,
      );
    }
    try {
      checkStreaming(streaming, pieceCount, 'streaming');
    } catch (err) {
      if (!(err instanceof MetainfoError)) throw err;
      throw new PlaybackInitError(`bad streaming info: ${err.message}`, { cause: err });
    }
    this.pieceCount = pieceCount;
    this.#startsMs = new Float64Array(pieceCount + 1);
    const stamps = streaming.pieceTimestampsMs;
    this.vbr = stamps !== undefined;
    if (stamps !== undefined) {
      this.#startsMs.set(stamps);
      this.endMs = streaming.durationMs;
    } else {
      const msPerByte = 8_000 / streaming.bitrateBps;
      for (let i = 0; i < pieceCount; i++) this.#startsMs[i] = i * pieceLength * msPerByte;
      this.endMs = length * msPerByte;
    }
    this.#startsMs[pieceCount] = this.endMs;
  }

  /**
   * Media time at which piece `index` is first needed; `startMs(pieceCount)` is the end of the
   * media, so the media held in pieces `a..b-1` runs from `startMs(a)` to `startMs(b)`. Indices
   * outside 0..pieceCount are clamped (this sits on the pickers' hot path, so it does not throw).
   */
  startMs(index: number): number {
    const i = Number.isFinite(index) ? Math.min(Math.max(Math.floor(index), 0), this.pieceCount) : 0;
    return this.#startsMs[i];
  }
}
