import type { Random } from '../random.js';
import type { BlockRef, PickerPeer, PickOptions, PiecePicker } from './piece-picker.js';
import type { PieceTable } from './piece-table.js';

/** Until this many pieces are complete, new pieces are picked at random (mainline's "random first"). */
export const RANDOM_FIRST_PIECES = 4;
/** In end game, at most this many duplicate requests per pick, to bound the waste. */
export const ENDGAME_MAX_DUPLICATES = 8;

export interface RarestFirstInit {
  readonly table: PieceTable;
  readonly random: Random;
}

/**
 * BitTorrent's piece selection as the reference client does it: strict priority for started
 * pieces, random first pieces, then rarest first (ties broken at random, suggested pieces first),
 * and end game once every needed block is requested.
 */
export class RarestFirstPicker implements PiecePicker {
  readonly name: string = 'rarest-first';
  protected readonly table: PieceTable;
  protected readonly random: Random;

  constructor(init: RarestFirstInit) {
    this.table = init.table;
    this.random = init.random;
  }

  pick(peer: PickerPeer, max: number, opts?: PickOptions): BlockRef[] {
    const out: BlockRef[] = [];
    if (max <= 0) return out;
    const allowed = opts?.onlyPieces;
    const usable = (piece: number): boolean =>
      peer.have.has(piece) && (allowed === undefined || allowed.has(piece));

    // Strict priority: finish what is started before opening new pieces.
    for (const dl of this.table.downloads.values()) {
      if (out.length >= max) return out;
      if (dl.free > 0 && usable(dl.index)) this.table.claim(dl.index, peer.id, max - out.length, out);
    }
    // New pieces; each iteration claims at least one block or stops.
    while (out.length < max) {
      const piece = this.choosePiece(peer, usable);
      if (piece < 0) break;
      if (this.table.claim(piece, peer.id, max - out.length, out) === 0) break;
    }
    if (out.length < max && this.table.endgame) this.pickEndgame(peer, max, usable, out);
    return out;
  }

  /** The next unstarted piece to open for `peer`, or -1. */
  protected choosePiece(peer: PickerPeer, usable: (piece: number) => boolean): number {
    const table = this.table;
    if (table.have.count < RANDOM_FIRST_PIECES) {
      const candidates: number[] = [];
      for (let i = 0; i < table.pieceCount; i++) if (table.isUnstarted(i) && usable(i)) candidates.push(i);
      return this.random.pick(candidates) ?? -1;
    }
    for (const s of peer.suggested) if (table.isUnstarted(s) && usable(s)) return s;
    return this.rarest(usable);
  }

  /** Rarest unstarted usable piece; ties broken by a random rotation of the scan. */
  protected rarest(usable: (piece: number) => boolean): number {
    const table = this.table;
    const n = table.pieceCount;
    const start = this.random.int(n);
    let best = -1;
    let bestAvailability = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (!table.isUnstarted(i) || !usable(i)) continue;
      const a = table.availabilityOf(i);
      if (a < bestAvailability) {
        best = i;
        bestAvailability = a;
        if (a <= 1) break; // cannot get rarer than a single holder
      }
    }
    return best;
  }

  protected pickEndgame(
    peer: PickerPeer,
    max: number,
    usable: (piece: number) => boolean,
    out: BlockRef[],
  ): void {
    const limit = Math.min(max, out.length + ENDGAME_MAX_DUPLICATES);
    for (const dl of this.table.downloads.values()) {
      if (out.length >= limit) return;
      if (usable(dl.index)) this.table.claimDuplicate(dl.index, peer.id, limit - out.length, out);
    }
  }
}
