import { readFile } from 'node:fs/promises';
import { MetainfoError } from './errors.js';
import { parseMetainfo } from './parse.js';
import type { Metainfo } from './types.js';

/** Largest .torrent file read; real ones are at most a few MiB. */
export const MAX_TORRENT_FILE_BYTES = 256 * 1024 * 1024;

/** Reads and parses a .torrent file; a missing or unreadable file is a MetainfoError naming it. */
export async function loadMetainfo(
  path: string,
  signal?: AbortSignal,
): Promise<{ torrent: Buffer; meta: Metainfo }> {
  let torrent: Buffer;
  try {
    torrent = await readFile(path, { signal });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ABORT_ERR') throw err;
    if (code === 'ENOENT') {
      throw new MetainfoError('ERR_METAINFO_NOT_FOUND', 'no such file', { source: path, cause: err });
    }
    throw new MetainfoError('ERR_METAINFO_IO', `cannot read: ${code ?? String(err)}`, {
      source: path,
      cause: err,
    });
  }
  if (torrent.length > MAX_TORRENT_FILE_BYTES) {
    throw new MetainfoError('ERR_METAINFO_IO', `file of ${torrent.length} bytes is too large for a torrent`, {
      source: path,
    });
  }
  return { torrent, meta: parseMetainfo(torrent, path) };
}
