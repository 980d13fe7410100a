import { constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { Bitfield } from '../bitfield.js';
import { throwIfAborted } from '../errors.js';
import type { Metainfo } from '../metainfo/types.js';
import { assertOpen, checkPieceData, checkPieceIndex, checkRange, type StorageState } from './checks.js';
import { StorageError } from './errors.js';
import { pieceSize, type Storage } from './storage.js';

/** Whole pieces kept in memory after a disk read or write, so a piece served block by block costs one read. */
export const DEFAULT_CACHE_PIECES = 16;

export interface FileStorageInit {
  /** The directory that holds the torrent's content (`dir/name`, or `dir/name/...` for multi-file). */
  readonly dir: string;
  /** How many whole pieces the read cache holds (0 disables it). Default DEFAULT_CACHE_PIECES. */
  readonly cachePieces?: number;
}

/** The part of a piece that lives in one file. */
interface Segment {
  readonly file: number;
  readonly fileOffset: number;
  readonly pieceOffset: number;
  readonly length: number;
}

const FILE_MODE = 0o644;
/** Errors for which opening read-write is retried read-only: content in a read-only place can still be seeded. */
const READ_ONLY_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function notStored(piece: number, why: string, cause?: unknown): StorageError {
  return new StorageError('ERR_PIECE_NOT_STORED', `piece ${piece} is not stored: ${why}`, { piece, cause });
}

/** A path component from the metainfo that cannot walk out of its directory or name two levels. */
function isSafeComponent(component: string): boolean {
  return (
    typeof component === 'string' &&
    component !== '' &&
    component !== '.' &&
    component !== '..' &&
    !/[/\\\0]/.test(component)
  );
}

/**
 * The torrent's content as ordinary files below a directory, the layout every BitTorrent client
 * uses, so data can be seeded from, or resumed into, files another client wrote.
 *
 * Files are created on the first write that touches them and extended with `truncate` (sparse, not
 * zero-filled). Each file is opened once and kept open; reads and writes are positional. Which
 * pieces are held is tracked: at `open`, every piece whose bytes exist on disk counts as held
 * (resume: run `verifyStorage` to learn which of them are valid), later writes add to it and
 * `delete` removes from it.
 */
export class FileStorage implements Storage {
  /** Written pieces go to disk; the caller gets its buffer back (and may recycle it). */
  readonly keepsWrittenData = false;

  readonly meta: Metainfo;
  /** Absolute directory the content lives under. */
  readonly dir: string;
  /** Absolute path of each file of `meta.files`, in the same order. */
  readonly paths: readonly string[];
  readonly cachePieces: number;

  #state: StorageState = 'new';
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #stored: Bitfield;
  /** Open handles, by file index (read-write, or read-only where the file system refuses writes). */
  readonly #handles = new Map<number, Promise<FileHandle>>();
  /** Handles of files prepared for writing (created and extended to their length). */
  readonly #writable = new Map<number, Promise<FileHandle>>();
  #emptyFilesCreated: Promise<void> | undefined;
  /** LRU of whole pieces: Map iteration order is insertion order, so the first key is the oldest. */
  readonly #cache = new Map<number, Buffer>();
  /** Disk reads in flight, so concurrent block reads of one piece share a single read. */
  readonly #loading = new Map<number, Promise<Buffer>>();
  /** Disk operations in flight; close() waits for them before closing the handles they use. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(meta: Metainfo, init: FileStorageInit) {
    const cachePieces = init.cachePieces ?? DEFAULT_CACHE_PIECES;
    if (!Number.isInteger(cachePieces) || cachePieces < 0) {
      throw new StorageError(
        'ERR_STORAGE_BAD_INIT',
        `cachePieces must be an integer >= 0, got ${cachePieces}`,
      );
    }
    if (typeof init.dir !== 'string' || init.dir === '') {
      throw new StorageError('ERR_STORAGE_BAD_INIT', 'dir must be a non-empty path');
    }
    this.meta = meta;
    this.cachePieces = cachePieces;
    this.dir = path.resolve(init.dir);
    this.paths = meta.files.map((file, index) => this.#resolveFile(file.path, index));
    this.#stored = new Bitfield(meta.pieceCount);
  }

  #resolveFile(filePath: readonly string[], index: number): string {
    const components = this.meta.multiFile ? [this.meta.name, ...filePath] : [this.meta.name];
    const shown = JSON.stringify(components);
    if (filePath.length === 0 || !components.every(isSafeComponent)) {
      throw new StorageError('ERR_STORAGE_UNSAFE_PATH', `file ${index} has an unsafe path ${shown}`);
    }
    // Defence in depth: whatever the component check lets through must still resolve inside dir.
    const resolved = path.resolve(this.dir, ...components);
    const relative = path.relative(this.dir, resolved);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new StorageError(
        'ERR_STORAGE_UNSAFE_PATH',
        `file ${index} path ${shown} resolves outside ${this.dir}`,
        {
          path: resolved,
        },
      );
    }
    return resolved;
  }

  /** True when the piece is held (written, or present on disk at open and not deleted). */
  has(piece: number): boolean {
    return this.#stored.has(piece);
  }

  /** How many pieces are held. */
  get storedCount(): number {
    return this.#stored.count;
  }

  open(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'closed') {
      return Promise.reject(new StorageError('ERR_STORAGE_CLOSED', 'FileStorage is closed'));
    }
    if (this.#opening === undefined) {
      const opening = this.#track(this.#scan(signal));
      this.#opening = opening;
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined;
      });
    }
    return this.#opening;
  }

  /** Learns which pieces have all their bytes on disk already. */
  async #scan(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const sizes = await Promise.all(
      this.paths.map(async (file) => {
        try {
          const info = await stat(file);
          // A directory where a file belongs holds none of its bytes; writing there will fail.
          return info.isFile() ? info.size : 0;
        } catch (err) {
          // Absent, or something that is not a directory sits on its path: either way no bytes.
          const code = errnoCode(err);
          if (code === 'ENOENT' || code === 'ENOTDIR') return 0;
          throw new StorageError('ERR_STORAGE_IO', `cannot stat ${file}: ${(err as Error).message}`, {
            path: file,
            cause: err,
          });
        }
      }),
    );
    throwIfAborted(signal);
    if (this.#state === 'closed') {
      throw new StorageError('ERR_STORAGE_CLOSED', 'FileStorage was closed while opening');
    }
    const present = new Bitfield(this.meta.pieceCount);
    for (let piece = 0; piece < this.meta.pieceCount; piece++) {
      if (this.#segments(piece).every((s) => sizes[s.file] >= s.fileOffset + s.length)) present.set(piece);
    }
    this.#stored = present;
    this.#state = 'open';
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#state = 'closed';
      this.#closing = this.#closeAll();
    }
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    const opened = await Promise.allSettled([...this.#handles.values()]);
    this.#handles.clear();
    this.#writable.clear();
    this.#cache.clear();
    const closed = await Promise.allSettled(
      opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : Promise.resolve())),
    );
    const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      throw new StorageError('ERR_STORAGE_IO', `closing files under ${this.dir} failed`, {
        cause: failed.reason,
      });
    }
  }

  readSync(piece: number, offset: number, length: number): Buffer | undefined {
    if (this.#state !== 'open' || !this.#stored.has(piece)) return undefined;
    checkRange(this.meta, piece, offset, length);
    return this.#cache.get(piece)?.subarray(offset, offset + length);
  }

  async read(piece: number, offset: number, length: number): Promise<Buffer> {
    assertOpen(this.#state, 'FileStorage');
    checkRange(this.meta, piece, offset, length);
    if (!this.#stored.has(piece)) throw notStored(piece, 'never written, or deleted');
    let data = this.#cache.get(piece);
    if (data !== undefined) {
      this.#cache.delete(piece);
      this.#cache.set(piece, data);
    } else {
      data = await this.#load(piece);
    }
    return data.subarray(offset, offset + length);
  }

  #load(piece: number): Promise<Buffer> {
    let loading = this.#loading.get(piece);
    if (loading === undefined) {
      loading = this.#track(
        (async () => {
          try {
            const data = await this.#readPiece(piece);
            // A delete or close while the read was in flight wins: do not resurrect the piece.
            if (this.#state === 'open' && this.#stored.has(piece)) this.#remember(piece, data);
            return data;
          } catch (err) {
            if (err instanceof StorageError && err.code === 'ERR_PIECE_NOT_STORED') this.#stored.clear(piece);
            throw err;
          } finally {
            this.#loading.delete(piece);
          }
        })(),
      );
      this.#loading.set(piece, loading);
    }
    return loading;
  }

  async #readPiece(piece: number): Promise<Buffer> {
    const data = Buffer.allocUnsafe(pieceSize(this.meta, piece));
    await Promise.all(
      this.#segments(piece).map(async (s) => {
        const file = this.paths[s.file];
        let handle: FileHandle;
        try {
          handle = await this.#handle(s.file, false);
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOENT' || code === 'ENOTDIR') throw notStored(piece, `${file} does not exist`, err);
          throw this.#ioError('open', piece, file, err);
        }
        let done = 0;
        while (done < s.length) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await handle.read(
              data,
              s.pieceOffset + done,
              s.length - done,
              s.fileOffset + done,
            ));
          } catch (err) {
            throw this.#ioError('read', piece, file, err);
          }
          if (bytesRead === 0) throw notStored(piece, `${file} ends before byte ${s.fileOffset + s.length}`);
          done += bytesRead;
        }
      }),
    );
    return data;
  }

  async write(piece: number, data: Buffer): Promise<void> {
    assertOpen(this.#state, 'FileStorage');
    checkPieceData(this.meta, piece, data);
    await this.#track(this.#writePiece(piece, data));
    this.#stored.set(piece);
    // Not cached: the caller recycles `data`; a later read comes back from the page cache.
    this.#cache.delete(piece);
  }

  async #writePiece(piece: number, data: Buffer): Promise<void> {
    await this.#createEmptyFiles(piece);
    await Promise.all(
      this.#segments(piece).map(async (s) => {
        const file = this.paths[s.file];
        let handle: FileHandle;
        try {
          handle = await this.#writableHandle(s.file);
        } catch (err) {
          throw this.#ioError('prepare', piece, file, err);
        }
        let done = 0;
        while (done < s.length) {
          try {
            const { bytesWritten } = await handle.write(
              data,
              s.pieceOffset + done,
              s.length - done,
              s.fileOffset + done,
            );
            done += bytesWritten;
          } catch (err) {
            throw this.#ioError('write', piece, file, err);
          }
        }
      }),
    );
  }

  async delete(piece: number): Promise<void> {
    assertOpen(this.#state, 'FileStorage');
    checkPieceIndex(this.meta, piece);
    this.#stored.clear(piece);
    this.#cache.delete(piece);
  }

  /** Empty files hold no piece, so no write creates them; the first write of any piece does. */
  #createEmptyFiles(piece: number): Promise<void> {
    if (this.#emptyFilesCreated === undefined) {
      const creating = Promise.all(
        this.meta.files.map(async (entry, index) => {
          if (entry.length !== 0) return;
          const file = this.paths[index];
          try {
            await mkdir(path.dirname(file), { recursive: true });
            await (await open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT, FILE_MODE)).close();
          } catch (err) {
            throw this.#ioError('create', piece, file, err);
          }
        }),
      ).then(() => undefined);
      this.#emptyFilesCreated = creating;
      creating.catch(() => {
        if (this.#emptyFilesCreated === creating) this.#emptyFilesCreated = undefined;
      });
    }
    return this.#emptyFilesCreated;
  }

  /** The file's handle, after creating the file and extending it (sparsely) to its full length. */
  #writableHandle(index: number): Promise<FileHandle> {
    let prepared = this.#writable.get(index);
    if (prepared === undefined) {
      const preparing = (async () => {
        await mkdir(path.dirname(this.paths[index]), { recursive: true });
        const handle = await this.#handle(index, true);
        const { size } = await handle.stat();
        const length = this.meta.files[index].length;
        if (size < length) await handle.truncate(length);
        return handle;
      })();
      prepared = preparing;
      this.#writable.set(index, preparing);
      preparing.catch(() => {
        if (this.#writable.get(index) === preparing) this.#writable.delete(index);
      });
    }
    return prepared;
  }

  /** The file's handle, opened once. `create` makes a missing file; reads never create files. */
  #handle(index: number, create: boolean): Promise<FileHandle> {
    const existing = this.#handles.get(index);
    if (existing !== undefined) {
      // A read may be opening the file right now and find it missing; a writer then creates it.
      if (!create) return existing;
      return existing.catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
        return this.#handle(index, true);
      });
    }
    const opening = this.#openFile(this.paths[index], create);
    this.#handles.set(index, opening);
    opening.catch(() => {
      if (this.#handles.get(index) === opening) this.#handles.delete(index);
    });
    return opening;
  }

  async #openFile(file: string, create: boolean): Promise<FileHandle> {
    const flags = create ? fsConstants.O_RDWR | fsConstants.O_CREAT : fsConstants.O_RDWR;
    try {
      return await open(file, flags, FILE_MODE);
    } catch (err) {
      const code = errnoCode(err);
      if (create || code === undefined || !READ_ONLY_CODES.has(code)) throw err;
      return open(file, fsConstants.O_RDONLY);
    }
  }

  /** The pieces of the torrent's byte range [piece start, piece end) that fall in each file. */
  #segments(piece: number): Segment[] {
    const files = this.meta.files;
    const start = piece * this.meta.pieceLength;
    const end = start + pieceSize(this.meta, piece);
    // Binary search for the last file starting at or before `start`.
    let lo = 0;
    let hi = files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (files[mid].offset <= start) lo = mid;
      else hi = mid - 1;
    }
    const segments: Segment[] = [];
    for (let i = lo; i < files.length && files[i].offset < end; i++) {
      const from = Math.max(start, files[i].offset);
      const to = Math.min(end, files[i].offset + files[i].length);
      if (to > from) {
        segments.push({
          file: i,
          fileOffset: from - files[i].offset,
          pieceOffset: from - start,
          length: to - from,
        });
      }
    }
    return segments;
  }

  #remember(piece: number, data: Buffer): void {
    if (this.cachePieces === 0) return;
    this.#cache.delete(piece);
    this.#cache.set(piece, data);
    while (this.#cache.size > this.cachePieces) {
      const oldest = this.#cache.keys().next().value as number;
      this.#cache.delete(oldest);
    }
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    this.#pending.add(operation);
    const done = (): void => {
      this.#pending.delete(operation);
    };
    operation.then(done, done);
    return operation;
  }

  #ioError(action: string, piece: number, file: string, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    const why = err instanceof Error ? err.message : String(err);
    return new StorageError('ERR_STORAGE_IO', `cannot ${action} ${file} for piece ${piece}: ${why}`, {
      piece,
      path: file,
      cause: err,
    });
  }
}
