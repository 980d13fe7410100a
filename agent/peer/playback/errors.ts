import { SeedstreamError } from '../errors.js';

/** A player built from an inconsistent configuration (its message names the field). */
export class PlaybackInitError extends SeedstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PLAYBACK_BAD_INIT', message, options);
  }
}

/** A piece index outside the content was reported to the player. */
export class PlaybackPieceError extends SeedstreamError {
  constructor(index: number, pieceCount: number) {
    super('ERR_PLAYBACK_BAD_PIECE', `piece ${index} is not an index in 0..${pieceCount - 1}`);
  }
}
