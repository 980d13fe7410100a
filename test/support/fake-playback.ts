import type { PieceTable } from '../../agent/peer/picker/piece-table.js';
import type { PlaybackView } from '../../agent/peer/playback/playback-view.js';

export interface FakePlaybackInit {
  /** Media time of one piece (CBR). */
  readonly pieceDurationMs: number;
  readonly playheadPiece?: number;
  readonly started?: boolean;
  /** Before the start, the playhead piece is due this long from now. Default 2000. */
  readonly startupBufferMs?: number;
  readonly bufferedMs?: number;
  /** The clock deadlines are read against; default Date.now. */
  readonly now?: () => number;
}

/**
 * A scripted player for picker tests: the playhead piece is due `headLeadMs` from now and each
 * later piece `pieceDurationMs` after the previous one. Every field can be set by the test.
 */
export class FakePlayback implements PlaybackView {
  started: boolean;
  playheadPiece: number;
  bufferedMs: number;
  /** When the playhead piece is due, relative to the clock. */
  headLeadMs: number;
  readonly pieceDurationMs: number;
  readonly #now: () => number;

  constructor(init: FakePlaybackInit) {
    this.pieceDurationMs = init.pieceDurationMs;
    this.started = init.started ?? false;
    this.playheadPiece = init.playheadPiece ?? 0;
    this.bufferedMs = init.bufferedMs ?? 0;
    this.headLeadMs = this.started ? 0 : (init.startupBufferMs ?? 2_000);
    this.#now = init.now ?? Date.now;
  }

  deadline(index: number): number {
    return this.#now() + this.headLeadMs + (index - this.playheadPiece) * this.pieceDurationMs;
  }

  /** Sets `bufferedMs` from the pieces `table` holds contiguously from the playhead. */
  follow(table: PieceTable): void {
    let i = this.playheadPiece;
    while (i < table.pieceCount && table.have.has(i)) i++;
    this.bufferedMs = (i - this.playheadPiece) * this.pieceDurationMs;
  }

  /** Plays the playhead piece if it is held (starting the player); returns whether it did. */
  play(table: PieceTable): boolean {
    if (this.playheadPiece >= table.pieceCount || !table.have.has(this.playheadPiece)) return false;
    this.started = true;
    this.headLeadMs = 0;
    this.playheadPiece++;
    this.follow(table);
    return true;
  }
}
