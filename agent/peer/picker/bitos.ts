import type { PlaybackView } from '../playback/playback-view.js';
import type { Random } from '../random.js';
import type { BlockRef, PickerPeer, PickOptions, PiecePicker } from './piece-picker.js';
import type { PieceDownload, PieceTable } from './piece-table.js';
import { claimEndgameDuplicates, playbackStart } from './sequential.js';
import { StrategyOptions } from './strategy-options.js';

/** Pieces in the high-priority set unless the experiment says otherwise. */
export const BITOS_DEFAULT_HIGH_PRIORITY_SIZE = 8;
/** Probability of serving the high-priority set unless the experiment says otherwise. */
export const BITOS_DEFAULT_P = 0.8;

export interface BitosInit {
  readonly table: PieceTable;
  /** Draws the set to serve; pass a fork dedicated to this picker. */
  readonly random: Random;
  /** `highPrioritySize` (pieces, integer >= 1) and `p` (probability, 0..1). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** The player; without one, playback starts at piece 0 and index order stands for deadlines. */
  readonly playback?: PlaybackView;
}

/**
 * BiToS (Vlavianos et al.), as Erman's survey describes it: the pieces not yet received are split
 * into a high-priority set (the `highPrioritySize` pieces closest to playback) and the remaining
 * set. Each new piece comes from the high-priority set with probability `p`, else from the
 * remaining set; inside a set, rarest first with the shortest time to consumption as tie-break.
 * When a high-priority piece is received, the remaining piece with the shortest deadline moves in.
 *
 * Around that, BitTorrent's own rules stay: strict priority for started pieces and end game. When
 * the drawn set has nothing this peer can serve, the other set is used rather than an idle slot.
 * Pieces behind the playhead are never consumed, so they stay in the remaining set, last in ties.
 */
export class BitosPicker implements PiecePicker {
  readonly name = 'bitos';
  readonly highPrioritySize: number;
  readonly p: number;
  readonly #table: PieceTable;
  readonly #random: Random;
  readonly #playback: PlaybackView | undefined;
  readonly #highPriority = new Set<number>();

  constructor(init: BitosInit) {
    const options = new StrategyOptions('bitos', init.options, ['highPrioritySize', 'p']);
    this.highPrioritySize = options.number('highPrioritySize', BITOS_DEFAULT_HIGH_PRIORITY_SIZE, {
      min: 1,
      integer: true,
    });
    this.p = options.number('p', BITOS_DEFAULT_P, { min: 0, max: 1 });
    this.#table = init.table;
    this.#random = init.random;
    this.#playback = init.playback;
  }

  /** The high-priority set as of the last pick (or refresh). */
  get highPriority(): ReadonlySet<number> {
    return this.#highPriority;
  }

  /**
   * Drops received (or no longer wanted) pieces from the high-priority set and refills it from the
   * remaining set, shortest deadline first. Runs at every pick; public so a caller can observe it.
   */
  refresh(): void {
    const table = this.#table;
    const start = playbackStart(this.#playback, table.pieceCount);
    for (const i of this.#highPriority) if (!table.needs(i) || i < start) this.#highPriority.delete(i);
    const missing = this.highPrioritySize - this.#highPriority.size;
    if (missing <= 0) return;
    const candidates: Array<{ piece: number; deadline: number }> = [];
    for (let i = start; i < table.pieceCount; i++) {
      if (table.needs(i) && !this.#highPriority.has(i))
        candidates.push({ piece: i, deadline: this.#deadline(i) });
    }
    candidates.sort((a, b) => a.deadline - b.deadline || a.piece - b.piece);
    for (let k = 0; k < missing && k < candidates.length; k++) this.#highPriority.add(candidates[k].piece);
  }

  pick(peer: PickerPeer, max: number, opts?: PickOptions): BlockRef[] {
    const out: BlockRef[] = [];
    if (max <= 0) return out;
    this.refresh();
    const table = this.#table;
    const allowed = opts?.onlyPieces;
    const usable = (piece: number): boolean =>
      peer.have.has(piece) && (allowed === undefined || allowed.has(piece));

    const started = this.#inPriorityOrder([...table.downloads.values()]);
    for (const dl of started) {
      if (out.length >= max) return out;
      if (dl.free > 0 && usable(dl.index)) table.claim(dl.index, peer.id, max - out.length, out);
    }
    // Each iteration claims at least one block or stops.
    while (out.length < max) {
      const high = this.#random.chance(this.p);
      let piece = this.#rarest(high, usable);
      if (piece < 0) piece = this.#rarest(!high, usable);
      if (piece < 0 || table.claim(piece, peer.id, max - out.length, out) === 0) break;
    }
    if (out.length < max && table.endgame) {
      const ordered = this.#inPriorityOrder([...table.downloads.values()]);
      claimEndgameDuplicates(table, peer.id, ordered, usable, max, out);
    }
    return out;
  }

  /**
   * The rarest unstarted piece `usable` for the peer in the high-priority set (`high`) or the
   * remaining set; ties go to the shortest time to consumption, then the lowest index. -1 if none.
   */
  #rarest(high: boolean, usable: (piece: number) => boolean): number {
    const table = this.#table;
    let best = -1;
    let bestAvailability = Number.POSITIVE_INFINITY;
    let bestConsumption = Number.POSITIVE_INFINITY;
    const consider = (i: number): void => {
      if (!table.isUnstarted(i) || !usable(i)) return;
      const a = table.availabilityOf(i);
      if (a > bestAvailability) return;
      const c = this.#timeToConsumption(i);
      if (a < bestAvailability || c < bestConsumption || (c === bestConsumption && i < best)) {
        best = i;
        bestAvailability = a;
        bestConsumption = c;
      }
    };
    if (high) {
      for (const i of this.#highPriority) consider(i);
    } else {
      for (let i = 0; i < table.pieceCount; i++) if (!this.#highPriority.has(i)) consider(i);
    }
    return best;
  }

  /** Started pieces: high-priority ones first, each group by time to consumption. */
  #inPriorityOrder(downloads: PieceDownload[]): PieceDownload[] {
    const key = (dl: PieceDownload): number => (this.#highPriority.has(dl.index) ? 0 : 1);
    return downloads.sort(
      (a, b) =>
        key(a) - key(b) ||
        this.#timeToConsumption(a.index) - this.#timeToConsumption(b.index) ||
        a.index - b.index,
    );
  }

  /** The playback deadline; pieces behind the playhead are never consumed (Infinity). */
  #timeToConsumption(piece: number): number {
    if (piece < playbackStart(this.#playback, this.#table.pieceCount)) return Number.POSITIVE_INFINITY;
    return this.#deadline(piece);
  }

  #deadline(piece: number): number {
    if (this.#playback === undefined) return piece;
    const d = this.#playback.deadline(piece);
    // A player that cannot tell (NaN) puts the piece last rather than first.
    return Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
}
