import { Bitfield } from '../bitfield.js';
import { allocPieceBuffer, defaultPieceBufferPool, type PieceBufferPool } from '../piece-buffer.js';
import { BLOCK_LENGTH } from '../wire/constants.js';
import type { BlockRef } from './piece-picker.js';

/** Shared empty result: never mutated. */
const NO_PEERS: string[] = [];

export const BLOCK_FREE = 0;
export const BLOCK_REQUESTED = 1;
export const BLOCK_RECEIVED = 2;

/** A piece being downloaded: block states, requesters and the assembly buffer. */
export class PieceDownload {
  readonly index: number;
  readonly size: number;
  readonly blockCount: number;
  readonly state: Uint8Array;
  /** Primary requester of each block (undefined when free or received). */
  readonly requester: Array<string | undefined>;
  /** When each block was last claimed (ms), so deadline strategies can spot late blocks. */
  readonly requestedAt: Float64Array;
  /** End-game duplicates: block -> extra requesters. Rarely populated. */
  readonly duplicates = new Map<number, string[]>();
  /** Peers that delivered at least one block, blamed when the piece fails its hash. */
  readonly contributors = new Set<string>();
  readonly buffer: Buffer;
  free: number;
  received = 0;

  constructor(index: number, size: number, buffer: Buffer = allocPieceBuffer(size)) {
    this.index = index;
    this.size = size;
    this.blockCount = Math.ceil(size / BLOCK_LENGTH);
    this.state = new Uint8Array(this.blockCount);
    this.requester = new Array(this.blockCount);
    this.requestedAt = new Float64Array(this.blockCount);
    this.free = this.blockCount;
    this.buffer = buffer;
  }

  blockLength(block: number): number {
    return block === this.blockCount - 1 ? this.size - block * BLOCK_LENGTH : BLOCK_LENGTH;
  }

  get complete(): boolean {
    return this.received === this.blockCount;
  }

  /** Every peer with an outstanding request for `block`. */
  requestersOf(block: number): string[] {
    const primary = this.requester[block];
    const extra = this.duplicates.get(block) ?? [];
    return primary === undefined ? [...extra] : [primary, ...extra];
  }
}

export interface PieceTableInit {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly length: number;
  /** Pieces already held (resume). Owned by the table afterwards. */
  readonly have?: Bitfield;
  /** Where assembly buffers come from (default: the process-wide pool). */
  readonly pool?: PieceBufferPool;
}

/**
 * The download state every piece picker shares: which pieces we have, how many connected peers
 * have each piece, and the block-level state of pieces in progress.
 *
 * Peers that have everything are counted once in `seeds` rather than in every piece's counter
 * (as libtorrent does), so a seed joining or leaving is O(1).
 */
export class PieceTable {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly length: number;
  readonly have: Bitfield;
  /** Pieces we want at all (a bounded cache or a partial download may want fewer). */
  readonly wanted: Bitfield;
  readonly availability: Uint32Array;
  readonly downloads = new Map<number, PieceDownload>();
  readonly pool: PieceBufferPool;
  seeds = 0;
  #unclaimedBlocks = 0;

  constructor(init: PieceTableInit) {
    this.pieceCount = init.pieceCount;
    this.pieceLength = init.pieceLength;
    this.length = init.length;
    this.have = init.have ?? new Bitfield(init.pieceCount);
    this.wanted = Bitfield.full(init.pieceCount);
    this.availability = new Uint32Array(init.pieceCount);
    this.pool = init.pool ?? defaultPieceBufferPool;
    for (let i = 0; i < this.pieceCount; i++)
      if (!this.have.has(i)) this.#unclaimedBlocks += this.blockCount(i);
  }

  pieceSize(index: number): number {
    return index < this.pieceCount - 1
      ? this.pieceLength
      : this.length - this.pieceLength * (this.pieceCount - 1);
  }

  blockCount(index: number): number {
    return Math.ceil(this.pieceSize(index) / BLOCK_LENGTH);
  }

  /** Number of connected peers that have `index`. */
  availabilityOf(index: number): number {
    return this.availability[index] + this.seeds;
  }

  /** We still need the piece: wanted, not held. */
  needs(index: number): boolean {
    return !this.have.has(index) && this.wanted.has(index);
  }

  /** A needed piece that no block has been requested of yet. */
  isUnstarted(index: number): boolean {
    return this.needs(index) && !this.downloads.has(index);
  }

  /** True when every block we need is requested or received: time for end game. */
  get endgame(): boolean {
    return this.#unclaimedBlocks === 0 && !this.done;
  }

  /** Every wanted piece is held. */
  get done(): boolean {
    for (const i of this.wanted.indices()) if (!this.have.has(i)) return false;
    return true;
  }

  get unclaimedBlocks(): number {
    return this.#unclaimedBlocks;
  }

  addPeerPieces(pieces: Bitfield): void {
    if (pieces.complete) {
      this.seeds++;
      return;
    }
    for (const i of pieces.indices()) this.availability[i]++;
  }

  removePeerPieces(pieces: Bitfield): void {
    if (pieces.complete) {
      this.seeds--;
      return;
    }
    for (const i of pieces.indices()) this.availability[i]--;
  }

  /** A peer gained one piece; `becameSeed` when that completed its set. */
  addPeerPiece(index: number, peerPieces: Bitfield): void {
    // Called after the peer's bitfield has the bit set.
    if (peerPieces.complete) {
      // Move the peer from per-piece counters to the seed count.
      for (const i of peerPieces.indices()) if (i !== index) this.availability[i]--;
      this.seeds++;
      return;
    }
    this.availability[index]++;
  }

  /** A peer dropped one piece (nohave). Call before clearing the bit in `peerPieces`. */
  removePeerPiece(index: number, peerPieces: Bitfield): void {
    if (peerPieces.complete) {
      this.seeds--;
      for (const i of peerPieces.indices()) if (i !== index) this.availability[i]++;
      return;
    }
    this.availability[index]--;
  }

  /** Stop or resume wanting a piece (bounded cache, partial download). */
  setWanted(index: number, wanted: boolean): void {
    if (this.have.has(index)) {
      if (wanted) this.wanted.set(index);
      else this.wanted.clear(index);
      return;
    }
    const changed = wanted ? this.wanted.set(index) : this.wanted.clear(index);
    if (!changed) return;
    const dl = this.downloads.get(index);
    const unclaimed = dl ? dl.free : this.blockCount(index);
    this.#unclaimedBlocks += wanted ? unclaimed : -unclaimed;
  }

  /**
   * Claims up to `max` free blocks of `piece` for `peerId` (starting the download if needed),
   * appending them to `out`. Returns how many were claimed.
   */
  claim(piece: number, peerId: string, max: number, out: BlockRef[]): number {
    if (max <= 0 || !this.needs(piece)) return 0;
    let dl = this.downloads.get(piece);
    if (dl === undefined) {
      const size = this.pieceSize(piece);
      dl = new PieceDownload(piece, size, this.pool.take(size));
      this.downloads.set(piece, dl);
    }
    if (dl.free === 0) return 0;
    let claimed = 0;
    for (let b = 0; b < dl.blockCount && claimed < max; b++) {
      if (dl.state[b] !== BLOCK_FREE) continue;
      dl.state[b] = BLOCK_REQUESTED;
      dl.requester[b] = peerId;
      dl.requestedAt[b] = Date.now();
      dl.free--;
      claimed++;
      out.push({ piece, begin: b * BLOCK_LENGTH, length: dl.blockLength(b) });
    }
    this.#unclaimedBlocks -= claimed;
    return claimed;
  }

  /**
   * End game: claims up to `max` blocks of `piece` already requested from other peers but not
   * from `peerId`, so the last blocks come from whoever is fastest. `accept` narrows the blocks
   * (a deadline strategy duplicates only the late ones).
   */
  claimDuplicate(
    piece: number,
    peerId: string,
    max: number,
    out: BlockRef[],
    accept?: (block: number) => boolean,
  ): number {
    const dl = this.downloads.get(piece);
    if (dl === undefined || max <= 0) return 0;
    let claimed = 0;
    for (let b = 0; b < dl.blockCount && claimed < max; b++) {
      if (dl.state[b] !== BLOCK_REQUESTED || dl.requester[b] === peerId) continue;
      if (accept !== undefined && !accept(b)) continue;
      const extra = dl.duplicates.get(b);
      if (extra?.includes(peerId)) continue;
      if (extra) extra.push(peerId);
      else dl.duplicates.set(b, [peerId]);
      claimed++;
      out.push({ piece, begin: b * BLOCK_LENGTH, length: dl.blockLength(b) });
    }
    return claimed;
  }

  /** `peerId` will not deliver this block (cancel, reject, choke, disconnect). */
  release(piece: number, begin: number, peerId: string): void {
    const dl = this.downloads.get(piece);
    if (dl === undefined) return;
    const b = begin / BLOCK_LENGTH;
    if (dl.state[b] !== BLOCK_REQUESTED) return;
    const extra = dl.duplicates.get(b);
    if (dl.requester[b] === peerId) {
      if (extra && extra.length > 0) {
        dl.requester[b] = extra.shift();
        if (extra.length === 0) dl.duplicates.delete(b);
        return;
      }
      dl.requester[b] = undefined;
      dl.state[b] = BLOCK_FREE;
      dl.free++;
      if (this.wanted.has(piece)) this.#unclaimedBlocks++;
      return;
    }
    if (extra) {
      const at = extra.indexOf(peerId);
      if (at >= 0) extra.splice(at, 1);
      if (extra.length === 0) dl.duplicates.delete(b);
    }
  }

  /**
   * Where an arriving block goes: the download of a needed piece and a block-aligned, exact-size
   * block not yet received; undefined otherwise (unrequested, duplicate, or malformed).
   */
  sinkFor(piece: number, begin: number, length: number): PieceDownload | undefined {
    const dl = this.downloads.get(piece);
    if (dl === undefined || begin % BLOCK_LENGTH !== 0) return undefined;
    const b = begin / BLOCK_LENGTH;
    if (b >= dl.blockCount || dl.state[b] === BLOCK_RECEIVED || dl.blockLength(b) !== length)
      return undefined;
    return dl;
  }

  /**
   * Marks a block received from `peerId`. Returns the other peers that still have it requested
   * (to cancel), or undefined when the block was not expected.
   */
  markReceived(piece: number, begin: number, peerId: string): string[] | undefined {
    const dl = this.downloads.get(piece);
    if (dl === undefined) return undefined;
    const b = begin / BLOCK_LENGTH;
    const state = dl.state[b];
    if (state === BLOCK_RECEIVED) return undefined;
    let others = NO_PEERS;
    // The common case (one requester, the sender) allocates nothing.
    if (state === BLOCK_REQUESTED && (dl.duplicates.has(b) || dl.requester[b] !== peerId)) {
      others = dl.requestersOf(b).filter((id) => id !== peerId);
    }
    if (state === BLOCK_FREE) {
      dl.free--;
      if (this.wanted.has(piece)) this.#unclaimedBlocks--;
    }
    dl.state[b] = BLOCK_RECEIVED;
    dl.requester[b] = undefined;
    dl.duplicates.delete(b);
    dl.received++;
    dl.contributors.add(peerId);
    return others;
  }

  /** The piece verified: it is ours. */
  completePiece(piece: number): void {
    this.downloads.delete(piece);
    this.have.set(piece);
  }

  /** The piece failed its hash: every block is needed again. */
  failPiece(piece: number): void {
    const dl = this.downloads.get(piece);
    if (dl === undefined) return;
    this.downloads.delete(piece);
    if (this.wanted.has(piece)) this.#unclaimedBlocks += dl.blockCount - dl.free;
  }

  /** We lost a piece we had (evicted from a bounded cache). */
  dropPiece(piece: number): void {
    if (!this.have.clear(piece)) return;
    if (this.wanted.has(piece)) this.#unclaimedBlocks += this.blockCount(piece);
  }
}
