import type { Metainfo } from '../metainfo/types.js';
import { StorageError } from './errors.js';
import { pieceSize } from './storage.js';

/** Where a storage is in its life: operations are allowed only while `open`. */
export type StorageState = 'new' | 'open' | 'closed';

export function assertOpen(state: StorageState, name: string): void {
  if (state === 'open') return;
  if (state === 'closed') throw new StorageError('ERR_STORAGE_CLOSED', `${name} is closed`);
  throw new StorageError('ERR_STORAGE_NOT_OPEN', `${name} is used before open()`);
}

/** Rejects anything but an integer index of one of the torrent's pieces. */
export function checkPieceIndex(meta: Metainfo, piece: number): void {
  if (!Number.isInteger(piece) || piece < 0 || piece >= meta.pieceCount) {
    throw new StorageError(
      'ERR_STORAGE_BAD_RANGE',
      `piece ${piece} is out of range: the torrent has ${meta.pieceCount} pieces`,
      Number.isInteger(piece) ? { piece } : {},
    );
  }
}

/** Rejects a byte range that is not inside piece `piece`. Zero-length ranges are allowed. */
export function checkRange(meta: Metainfo, piece: number, offset: number, length: number): void {
  checkPieceIndex(meta, piece);
  const size = pieceSize(meta, piece);
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new StorageError(
      'ERR_STORAGE_BAD_RANGE',
      `range offset ${offset} length ${length} is outside piece ${piece} of ${size} bytes`,
      { piece },
    );
  }
}

/** Rejects a piece write whose data is not exactly the piece's size. */
export function checkPieceData(meta: Metainfo, piece: number, data: Buffer): void {
  checkPieceIndex(meta, piece);
  const size = pieceSize(meta, piece);
  if (data.length !== size) {
    throw new StorageError(
      'ERR_STORAGE_BAD_LENGTH',
      `piece ${piece} must be ${size} bytes, got ${data.length}`,
      { piece },
    );
  }
}
