import { createHash } from 'node:crypto';
import { Bitfield } from '../bitfield.js';
import { throwIfAborted } from '../errors.js';
import { StorageError } from './errors.js';
import { pieceHash, pieceSize, type Storage } from './storage.js';

/** Called after each piece is checked: `done` of `total` pieces, and how many were valid so far. */
export type VerifyProgress = (progress: { done: number; total: number; valid: number }) => void;

/**
 * Which pieces an (open) storage holds with the right SHA-1: the have-bitfield to resume from.
 * Pieces that are not stored are simply absent; any other storage failure rejects. The storage is
 * left unchanged, so pieces that failed the check are still held: delete them if they must not be
 * served.
 */
export async function verifyStorage(
  storage: Storage,
  signal?: AbortSignal,
  onProgress?: VerifyProgress,
): Promise<Bitfield> {
  const meta = storage.meta;
  const valid = new Bitfield(meta.pieceCount);
  for (let piece = 0; piece < meta.pieceCount; piece++) {
    throwIfAborted(signal);
    let data: Buffer | undefined;
    try {
      data = await storage.read(piece, 0, pieceSize(meta, piece));
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'ERR_PIECE_NOT_STORED')) throw err;
    }
    if (data !== undefined && createHash('sha1').update(data).digest().equals(pieceHash(meta, piece))) {
      valid.set(piece);
    }
    onProgress?.({ done: piece + 1, total: meta.pieceCount, valid: valid.count });
  }
  throwIfAborted(signal);
  return valid;
}
