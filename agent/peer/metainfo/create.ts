import { createHash, type Hash } from 'node:crypto';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type Encodable, encode } from '../bencode/index.js';
import { throwIfAborted } from '../errors.js';
import { SEEDSTREAM_VERSION } from '../version.js';
import { MetainfoError } from './errors.js';
import { parseMetainfo } from './parse.js';
import type { Metainfo, StreamingInfo } from './types.js';
import { checkPathComponent, checkPieceLength, checkStreaming } from './validate.js';

export interface CreateMetainfoInit {
  /** A file (single-file torrent) or a directory (multi-file torrent, files sorted by path). */
  readonly path?: string;
  /** In-memory content for a single-file torrent; exactly one of `path` and `content`. */
  readonly content?: { readonly name: string; readonly data: Uint8Array };
  /** Overrides the torrent's name (default: the base name of `path`, or `content.name`). */
  readonly name?: string;
  /** Default: `defaultPieceLength(total size)`. */
  readonly pieceLength?: number;
  readonly announce?: string;
  /** BEP 12 tiers. When set without `announce`, `announce` becomes the first URL. */
  readonly announceList?: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly urlList?: readonly string[];
  readonly comment?: string;
  /** Default `seedstream/<version>`. */
  readonly createdBy?: string;
  /** Seconds since the epoch; default now; `null` omits it (reproducible output). */
  readonly creationDate?: number | null;
  readonly private?: boolean;
  readonly streaming?: StreamingInfo;
}

export const MIN_DEFAULT_PIECE_LENGTH_BYTES = 16 * 1024;
export const MAX_DEFAULT_PIECE_LENGTH_BYTES = 16 * 1024 * 1024;
/** Like libtorrent: enough pieces for fine-grained exchange, few enough for a small .torrent. */
export const TARGET_PIECE_COUNT = 1500;
const READ_CHUNK_BYTES = 1024 * 1024;

/** The power of two in 16 KiB..16 MiB whose piece count is closest (log scale) to ~1500. */
export function defaultPieceLength(totalBytes: number): number {
  const ideal = totalBytes / TARGET_PIECE_COUNT;
  let best = MIN_DEFAULT_PIECE_LENGTH_BYTES;
  for (let p = MIN_DEFAULT_PIECE_LENGTH_BYTES; p <= MAX_DEFAULT_PIECE_LENGTH_BYTES; p *= 2) {
    if (Math.abs(Math.log2(p / ideal)) < Math.abs(Math.log2(best / ideal))) best = p;
  }
  return best;
}

interface SourceFile {
  /** Components below the torrent's directory (single file: `[name]`). */
  readonly path: readonly string[];
  /** Where to read it, absent for in-memory content. */
  readonly absolutePath?: string;
  readonly length: number;
}

/** Bytewise order of the UTF-8 components, so the file order does not depend on the locale. */
function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i]), Buffer.from(b[i]));
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function ioError(path: string, err: unknown): MetainfoError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT')
    return new MetainfoError('ERR_METAINFO_NOT_FOUND', 'no such file or directory', {
      source: path,
      cause: err,
    });
  return new MetainfoError('ERR_METAINFO_IO', `cannot read: ${code ?? String(err)}`, {
    source: path,
    cause: err,
  });
}

async function listFiles(
  root: string,
  signal?: AbortSignal,
): Promise<{ files: SourceFile[]; directory: boolean }> {
  let rootStat: Awaited<ReturnType<typeof stat>>;
  try {
    rootStat = await stat(root);
  } catch (err) {
    throw ioError(root, err);
  }
  if (rootStat.isFile())
    return { files: [{ path: [], absolutePath: root, length: rootStat.size }], directory: false };
  if (!rootStat.isDirectory()) {
    throw new MetainfoError('ERR_METAINFO_IO', 'not a regular file or directory', { source: root });
  }
  const files: SourceFile[] = [];
  // Symlinked directories are followed once each, so a link cycle cannot recurse forever.
  const visited = new Set<string>();
  const walk = async (dir: string, components: string[]): Promise<void> => {
    throwIfAborted(signal);
    let real: string;
    let entries: string[];
    try {
      real = await realpath(dir);
      entries = await readdir(dir);
    } catch (err) {
      throw ioError(dir, err);
    }
    if (visited.has(real)) return;
    visited.add(real);
    for (const entry of entries) {
      const full = join(dir, entry);
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await lstat(full);
        if (st.isSymbolicLink()) st = await stat(full);
      } catch (err) {
        throw ioError(full, err);
      }
      if (st.isDirectory()) await walk(full, [...components, entry]);
      else if (st.isFile()) files.push({ path: [...components, entry], absolutePath: full, length: st.size });
      else throw new MetainfoError('ERR_METAINFO_IO', 'not a regular file or directory', { source: full });
    }
  };
  await walk(root, []);
  files.sort((a, b) => comparePaths(a.path, b.path));
  return { files, directory: true };
}

/** Feeds content into per-piece SHA-1s, whatever the boundaries of the chunks fed in. */
class PieceHasher {
  readonly #pieceLength: number;
  readonly #digests: Buffer[] = [];
  #hash: Hash = createHash('sha1');
  #filled = 0;

  constructor(pieceLength: number) {
    this.#pieceLength = pieceLength;
  }

  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.#pieceLength - this.#filled, chunk.length - at);
      this.#hash.update(chunk.subarray(at, at + take));
      this.#filled += take;
      at += take;
      if (this.#filled === this.#pieceLength) {
        this.#digests.push(this.#hash.digest());
        this.#hash = createHash('sha1');
        this.#filled = 0;
      }
    }
  }

  finish(): Buffer {
    if (this.#filled > 0) this.#digests.push(this.#hash.digest());
    return Buffer.concat(this.#digests);
  }
}

async function hashFile(
  file: SourceFile & { absolutePath: string },
  hasher: PieceHasher,
  chunk: Buffer,
  signal?: AbortSignal,
): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file.absolutePath, 'r');
  } catch (err) {
    throw ioError(file.absolutePath, err);
  }
  try {
    let position = 0;
    while (position < file.length) {
      throwIfAborted(signal);
      const want = Math.min(chunk.length, file.length - position);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, want, position));
      } catch (err) {
        throw ioError(file.absolutePath, err);
      }
      if (bytesRead === 0) {
        throw new MetainfoError(
          'ERR_METAINFO_IO',
          `file shrank while being hashed (expected ${file.length} bytes)`,
          {
            source: file.absolutePath,
          },
        );
      }
      hasher.update(chunk.subarray(0, bytesRead));
      position += bytesRead;
    }
    // A file that grew would make the torrent describe content that no longer exists.
    const { size } = await handle.stat();
    if (size !== file.length) {
      throw new MetainfoError(
        'ERR_METAINFO_IO',
        `file changed size while being hashed (${file.length} -> ${size} bytes)`,
        {
          source: file.absolutePath,
        },
      );
    }
  } finally {
    await handle.close();
  }
}

function checkUrl(url: string, option: string): void {
  if (!URL.canParse(url)) {
    throw new MetainfoError('ERR_METAINFO_BAD_OPTION', `${JSON.stringify(url)} is not a valid URL`, {
      keyPath: option,
    });
  }
}

/**
 * Creates a torrent (BEP 3 v1) from a file, a directory or in-memory content, hashing files as
 * streams so that large content never sits in memory. The result is re-parsed with
 * `parseMetainfo`, so `meta` is exactly what a peer loading `torrent` will see.
 */
export async function createMetainfo(
  init: CreateMetainfoInit,
  signal?: AbortSignal,
): Promise<{ torrent: Buffer; meta: Metainfo }> {
  throwIfAborted(signal);
  if ((init.path === undefined) === (init.content === undefined)) {
    throw new MetainfoError('ERR_METAINFO_BAD_OPTION', 'give exactly one of "path" and "content"');
  }
  const announceList = (init.announceList ?? []).map((tier) => [...tier]).filter((tier) => tier.length > 0);
  const announce = init.announce ?? announceList[0]?.[0];
  if (announce !== undefined) checkUrl(announce, 'announce');
  for (const [i, tier] of announceList.entries()) {
    for (const [k, url] of tier.entries()) checkUrl(url, `announceList[${i}][${k}]`);
  }
  for (const [i, url] of (init.urlList ?? []).entries()) checkUrl(url, `urlList[${i}]`);
  if (init.creationDate != null && !Number.isSafeInteger(init.creationDate)) {
    throw new MetainfoError(
      'ERR_METAINFO_BAD_OPTION',
      `creation date ${init.creationDate} is not an integer`,
      {
        keyPath: 'creationDate',
      },
    );
  }

  let files: SourceFile[];
  let multiFile: boolean;
  let name: string;
  if (init.content !== undefined) {
    files = [{ path: [], length: init.content.data.length }];
    multiFile = false;
    name = init.name ?? init.content.name;
  } else {
    const root = resolve(init.path as string);
    ({ files, directory: multiFile } = await listFiles(root, signal));
    name = init.name ?? basename(root);
  }
  const source = init.path;
  checkPathComponent(name, 'name', source);
  for (const f of files) {
    for (const [i, c] of f.path.entries()) checkPathComponent(c, `files path[${i}]`, f.absolutePath);
  }
  const length = files.reduce((sum, f) => sum + f.length, 0);
  if (length === 0)
    throw new MetainfoError('ERR_METAINFO_EMPTY', 'no content to make a torrent of (0 bytes)', { source });

  const pieceLength = init.pieceLength ?? defaultPieceLength(length);
  checkPieceLength(pieceLength, 'pieceLength', source);
  const pieceCount = Math.ceil(length / pieceLength);
  // Checked before hashing so that a bad option fails at once, not after reading gigabytes.
  if (init.streaming !== undefined) checkStreaming(init.streaming, pieceCount, 'streaming', source);

  const hasher = new PieceHasher(pieceLength);
  if (init.content !== undefined) {
    hasher.update(init.content.data);
  } else {
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(length, 1)));
    for (const f of files) await hashFile(f as SourceFile & { absolutePath: string }, hasher, chunk, signal);
  }
  const pieces = hasher.finish();

  const streaming = init.streaming;
  const info: Record<string, Encodable | undefined> = {
    name,
    'piece length': pieceLength,
    pieces,
    private: init.private ? 1 : undefined,
    streaming:
      streaming === undefined
        ? undefined
        : {
            bitrate: streaming.bitrateBps,
            duration: streaming.durationMs,
            timestamps: streaming.pieceTimestampsMs,
          },
  };
  if (multiFile) info.files = files.map((f) => ({ length: f.length, path: f.path }));
  else info.length = length;

  const creationDate = init.creationDate === undefined ? Math.floor(Date.now() / 1000) : init.creationDate;
  const torrent = encode({
    announce,
    'announce-list': announceList.length > 0 ? announceList : undefined,
    comment: init.comment,
    'created by': init.createdBy ?? `seedstream/${SEEDSTREAM_VERSION}`,
    'creation date': creationDate ?? undefined,
    info,
    'url-list': init.urlList !== undefined && init.urlList.length > 0 ? init.urlList : undefined,
  });
  return { torrent, meta: parseMetainfo(torrent, source) };
}
