import type { PlaybackView } from '../playback/playback-view.js';
import type { BlockRef, PickerPeer, PickOptions, PiecePicker } from './piece-picker.js';
import type { PieceDownload, PieceTable } from './piece-table.js';
import { ENDGAME_MAX_DUPLICATES } from './rarest-first.js';
import { StrategyOptions } from './strategy-options.js';

/**
 * Where playback order starts: the playhead, clamped into [0, pieceCount]; 0 without a player.
 * `pieceCount` means everything was played, so every needed piece is "behind".
 */
export function playbackStart(playback: PlaybackView | undefined, pieceCount: number): number {
  const head = playback?.playheadPiece ?? 0;
  if (!Number.isFinite(head) || head <= 0) return 0;
  return Math.min(Math.floor(head), pieceCount);
}

/**
 * Position of `piece` in playback order from `start`: pieces ahead of the playhead first, then the
 * ones behind it (not played again, but still wanted by the torrent, so fetched last).
 */
export function playbackRank(piece: number, start: number, pieceCount: number): number {
  return piece >= start ? piece - start : pieceCount - start + piece;
}

/** Pieces in progress, in playback order from `start`. */
export function downloadsInPlaybackOrder(table: PieceTable, start: number): PieceDownload[] {
  const n = table.pieceCount;
  return [...table.downloads.values()].sort(
    (a, b) => playbackRank(a.index, start, n) - playbackRank(b.index, start, n),
  );
}

/**
 * End game as rarest-first does it (at most ENDGAME_MAX_DUPLICATES duplicates per pick), but over
 * `ordered` pieces so the most urgent blocks are duplicated first.
 */
export function claimEndgameDuplicates(
  table: PieceTable,
  peerId: string,
  ordered: readonly PieceDownload[],
  usable: (piece: number) => boolean,
  max: number,
  out: BlockRef[],
): void {
  const limit = Math.min(max, out.length + ENDGAME_MAX_DUPLICATES);
  for (const dl of ordered) {
    if (out.length >= limit) return;
    if (usable(dl.index)) table.claimDuplicate(dl.index, peerId, limit - out.length, out);
  }
}

export interface SequentialInit {
  readonly table: PieceTable;
  /** Experiment parameters; `sequential` takes none, so any name is an error. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** The player; without one, playback order starts at piece 0. */
  readonly playback?: PlaybackView;
}

/**
 * Strict playback order from the playhead: finish started pieces first (nearest the playhead
 * first), then open the next needed piece after the playhead; pieces behind the playhead come
 * last. End game as rarest-first. Makes no random choice, so the seed changes nothing.
 */
export class SequentialPicker implements PiecePicker {
  readonly name = 'sequential';
  readonly #table: PieceTable;
  readonly #playback: PlaybackView | undefined;

  constructor(init: SequentialInit) {
    new StrategyOptions('sequential', init.options, []);
    this.#table = init.table;
    this.#playback = init.playback;
  }

  pick(peer: PickerPeer, max: number, opts?: PickOptions): BlockRef[] {
    const out: BlockRef[] = [];
    if (max <= 0) return out;
    const table = this.#table;
    const n = table.pieceCount;
    const allowed = opts?.onlyPieces;
    const usable = (piece: number): boolean =>
      peer.have.has(piece) && (allowed === undefined || allowed.has(piece));
    const start = playbackStart(this.#playback, n);

    const started = downloadsInPlaybackOrder(table, start);
    for (const dl of started) {
      if (out.length >= max) return out;
      if (dl.free > 0 && usable(dl.index)) table.claim(dl.index, peer.id, max - out.length, out);
    }
    for (let k = 0; k < n && out.length < max; k++) {
      const i = (start + k) % n;
      if (table.isUnstarted(i) && usable(i)) table.claim(i, peer.id, max - out.length, out);
    }
    if (out.length < max && table.endgame) {
      claimEndgameDuplicates(table, peer.id, downloadsInPlaybackOrder(table, start), usable, max, out);
    }
    return out;
  }
}
