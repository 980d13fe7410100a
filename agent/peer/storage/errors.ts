import { SeedstreamError } from '../errors.js';

/** Codes a `StorageError` carries; each names one way a storage operation can fail. */
export type StorageErrorCode =
  /** The piece was never written, was deleted, or its bytes are missing on disk. */
  | 'ERR_PIECE_NOT_STORED'
  /** The file system failed (permissions, disk full, ...); `cause` holds the system error. */
  | 'ERR_STORAGE_IO'
  /** A piece index or byte range outside the torrent. */
  | 'ERR_STORAGE_BAD_RANGE'
  /** Data handed to `write` (or `fromContent`) is not exactly the expected size. */
  | 'ERR_STORAGE_BAD_LENGTH'
  /** A file path from the metainfo would land outside the storage directory. */
  | 'ERR_STORAGE_UNSAFE_PATH'
  /** A bounded storage holds its maximum number of pieces; delete one first. */
  | 'ERR_STORAGE_FULL'
  /** An invalid configuration value (`XInit`). */
  | 'ERR_STORAGE_BAD_INIT'
  /** Used before `open()`. */
  | 'ERR_STORAGE_NOT_OPEN'
  /** Used after `close()`. */
  | 'ERR_STORAGE_CLOSED';

export interface StorageErrorDetails {
  /** The piece the operation concerned, when there is one. */
  readonly piece?: number;
  /** The file involved, when there is one. */
  readonly path?: string;
  readonly cause?: unknown;
}

/** A storage operation failed; match on `code`. */
export class StorageError extends SeedstreamError {
  readonly piece?: number;
  readonly path?: string;

  constructor(code: StorageErrorCode, message: string, details: StorageErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.piece !== undefined) this.piece = details.piece;
    if (details.path !== undefined) this.path = details.path;
  }
}
