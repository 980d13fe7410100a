import type { Metainfo } from '../metainfo/types.js';
import { assertOpen, checkPieceData, checkPieceIndex, checkRange, type StorageState } from './checks.js';
import { StorageError } from './errors.js';
import type { Storage } from './storage.js';

export interface MemoryStorageInit {
  /**
   * At most this many pieces are held at once; writing another rejects with `ERR_STORAGE_FULL`.
   * Eviction is the caller's policy (it must announce what it drops), so storage only enforces
   * the bound. Default: unbounded.
   */
  readonly maxPieces?: number;
}

/**
 * Pieces held in memory, one Buffer each. `write` keeps the caller's Buffer (ownership passes to
 * the storage) and `read` returns views into it, so serving a block never copies.
 */
export class MemoryStorage implements Storage {
  /** Written buffers are kept as they are (ownership passes to the storage). */
  readonly keepsWrittenData = true;

  readonly meta: Metainfo;
  readonly maxPieces: number;
  readonly #pieces = new Map<number, Buffer>();
  #state: StorageState = 'new';

  constructor(meta: Metainfo, init: MemoryStorageInit = {}) {
    const maxPieces = init.maxPieces ?? Number.POSITIVE_INFINITY;
    if (!(maxPieces >= 1) || (maxPieces !== Number.POSITIVE_INFINITY && !Number.isInteger(maxPieces))) {
      throw new StorageError(
        'ERR_STORAGE_BAD_INIT',
        `maxPieces must be a positive integer, got ${maxPieces}`,
      );
    }
    this.meta = meta;
    this.maxPieces = maxPieces;
  }

  /**
   * A storage that already holds every piece of `content` (the torrent's concatenated bytes), as
   * views into it: a seed of generated content costs no extra memory.
   */
  static fromContent(meta: Metainfo, content: Buffer, init: MemoryStorageInit = {}): MemoryStorage {
    if (content.length !== meta.length) {
      throw new StorageError(
        'ERR_STORAGE_BAD_LENGTH',
        `content is ${content.length} bytes, the torrent ${meta.infoHashHex} has ${meta.length}`,
      );
    }
    const storage = new MemoryStorage(meta, init);
    if (meta.pieceCount > storage.maxPieces) {
      throw new StorageError(
        'ERR_STORAGE_FULL',
        `content has ${meta.pieceCount} pieces, more than maxPieces ${storage.maxPieces}`,
      );
    }
    for (let i = 0; i < meta.pieceCount; i++) {
      const start = i * meta.pieceLength;
      storage.#pieces.set(i, content.subarray(start, Math.min(start + meta.pieceLength, meta.length)));
    }
    return storage;
  }

  /** How many pieces are held. */
  get storedCount(): number {
    return this.#pieces.size;
  }

  has(piece: number): boolean {
    return this.#pieces.has(piece);
  }

  async open(_signal?: AbortSignal): Promise<void> {
    if (this.#state === 'closed') throw new StorageError('ERR_STORAGE_CLOSED', 'MemoryStorage is closed');
    this.#state = 'open';
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    this.#pieces.clear();
  }

  readSync(piece: number, offset: number, length: number): Buffer | undefined {
    if (this.#state !== 'open') return undefined;
    checkRange(this.meta, piece, offset, length);
    return this.#pieces.get(piece)?.subarray(offset, offset + length);
  }

  async read(piece: number, offset: number, length: number): Promise<Buffer> {
    assertOpen(this.#state, 'MemoryStorage');
    checkRange(this.meta, piece, offset, length);
    const data = this.#pieces.get(piece);
    if (data === undefined) {
      throw new StorageError('ERR_PIECE_NOT_STORED', `piece ${piece} is not stored`, { piece });
    }
    return data.subarray(offset, offset + length);
  }

  async write(piece: number, data: Buffer): Promise<void> {
    assertOpen(this.#state, 'MemoryStorage');
    checkPieceData(this.meta, piece, data);
    if (!this.#pieces.has(piece) && this.#pieces.size >= this.maxPieces) {
      throw new StorageError(
        'ERR_STORAGE_FULL',
        `cannot store piece ${piece}: already holding maxPieces ${this.maxPieces}`,
        { piece },
      );
    }
    this.#pieces.set(piece, data);
  }

  async delete(piece: number): Promise<void> {
    assertOpen(this.#state, 'MemoryStorage');
    checkPieceIndex(this.meta, piece);
    this.#pieces.delete(piece);
  }
}
