import type { Metainfo } from '../metainfo/types.js';

/**
 * Where a torrent's pieces live. The peer assembles and verifies pieces in memory and hands
 * storage only whole, verified pieces; storage serves byte ranges of pieces it holds.
 *
 * Implementations: `MemoryStorage` (memory-storage.ts), `FileStorage` (file-storage.ts).
 * Every implementation passes the compliance suite in test/agent/peer/storage/.
 */
export interface Storage {
  readonly meta: Metainfo;
  /** Prepares the backing store (creates directories, opens files). Idempotent. */
  open(signal?: AbortSignal): Promise<void>;
  /** Releases every resource. Idempotent; the storage may not be used afterwards. */
  close(): Promise<void>;
  /**
   * Bytes [offset, offset+length) of a piece previously written (or present at open, for resume).
   * May return a view into internal memory: callers must not modify it.
   * Rejects with StorageError `ERR_PIECE_NOT_STORED` when the piece was never written or was deleted.
   */
  read(piece: number, offset: number, length: number): Promise<Buffer>;
  /**
   * The same bytes when they are in memory right now, without I/O or a promise (the serving hot
   * path); undefined when `read` must be used. Same validation and view semantics as `read`.
   */
  readSync?(piece: number, offset: number, length: number): Buffer | undefined;
  /**
   * Stores a whole verified piece (`data.length` is the piece's exact size). When
   * `keepsWrittenData` is false the caller may reuse `data` once the promise resolves.
   */
  write(piece: number, data: Buffer): Promise<void>;
  /** `write` keeps a reference to the buffer it is given (memory) rather than copying it out (disk). */
  readonly keepsWrittenData: boolean;
  /** Drops a piece (bounded caches). Reading it afterwards rejects with `ERR_PIECE_NOT_STORED`. */
  delete(piece: number): Promise<void>;
}

/** Exact byte size of piece `index` (the last piece may be shorter). */
export function pieceSize(meta: Metainfo, index: number): number {
  if (index < meta.pieceCount - 1) return meta.pieceLength;
  return meta.length - meta.pieceLength * (meta.pieceCount - 1);
}

/** The 20-byte SHA-1 of piece `index`, as a view into the metainfo (no copy). */
export function pieceHash(meta: Metainfo, index: number): Buffer {
  return meta.pieceHashes.subarray(index * 20, index * 20 + 20);
}
