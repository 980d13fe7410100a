/**
 * What a streaming piece picker knows of the player it feeds. Implemented by the playback model
 * (agent/peer/playback/); pickers that ignore playback (rarest-first) never look at it.
 *
 * Times are milliseconds on the torrent's clock (`Date.now()` unless a harness injects one).
 */
export interface PlaybackView {
  /** The player has started (its start-up buffer was filled). */
  readonly started: boolean;
  /** Index of the next piece the player will consume; `pieceCount` once everything was played. */
  readonly playheadPiece: number;
  /**
   * When piece `index` must be held for playback not to stall. Before the player starts, deadlines
   * assume it starts as soon as its start-up buffer could be filled (now + start-up buffer).
   * Pieces already played have a deadline in the past.
   */
  deadline(index: number): number;
  /** Milliseconds of media held contiguously from the playhead. */
  readonly bufferedMs: number;
}
