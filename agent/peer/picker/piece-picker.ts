import type { Bitfield } from '../bitfield.js';

/** One block to request: `length` bytes at `begin` of `piece`. */
export interface BlockRef {
  readonly piece: number;
  readonly begin: number;
  readonly length: number;
}

/** What a picker may know of the remote peer it picks for. */
export interface PickerPeer {
  /** Stable id of the connection. */
  readonly id: string;
  /** Pieces the remote peer has. */
  readonly have: Bitfield;
  /** Pieces the remote peer suggested (BEP 6). */
  readonly suggested: ReadonlySet<number>;
  /** Payload bytes/s we receive from it (rolling window). */
  readonly downloadRate: number;
  /** Smoothed round-trip time in ms, when measured. */
  readonly rttMs?: number;
  /** The remote chokes us (it will only serve allowed-fast pieces). */
  readonly peerChoking?: boolean;
}

export interface PickOptions {
  /** Restrict to these pieces (the remote chokes us but allowed these, BEP 6). */
  readonly onlyPieces?: ReadonlySet<number>;
}

/**
 * Decides which blocks to request from which peer. All strategies share the torrent's
 * `PieceTable` (availability, in-progress pieces, block states) and differ only in order.
 *
 * `pick` claims the returned blocks in the table for `peer`; the torrent sends the requests.
 * Implementations: one file per strategy in this directory; each passes the compliance suite in
 * test/agent/peer/picker/.
 */
export interface PiecePicker {
  readonly name: string;
  pick(peer: PickerPeer, max: number, opts?: PickOptions): BlockRef[];
}
