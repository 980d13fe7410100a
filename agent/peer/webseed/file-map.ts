import type { Metainfo } from '../metainfo/types.js';
import { pieceSize } from '../storage/storage.js';
import { WebSeedInitError } from './errors.js';

/** The part of a piece that lives in one file: `length` bytes at `fileOffset` of file `file`. */
export interface FileSegment {
  readonly file: number;
  readonly fileOffset: number;
  /** Where these bytes go in the piece. */
  readonly pieceOffset: number;
  readonly length: number;
}

/** The files piece `index` spans, in order (zero-length files never appear). */
export function pieceSegments(meta: Metainfo, index: number): FileSegment[] {
  const start = index * meta.pieceLength;
  const end = start + pieceSize(meta, index);
  const out: FileSegment[] = [];
  // Files are sorted by offset; a binary search would help only torrents with very many files.
  for (let f = 0; f < meta.files.length; f++) {
    const file = meta.files[f];
    const fileEnd = file.offset + file.length;
    if (file.length === 0 || fileEnd <= start) continue;
    if (file.offset >= end) break;
    const from = Math.max(start, file.offset);
    const to = Math.min(end, fileEnd);
    out.push({ file: f, fileOffset: from - file.offset, pieceOffset: from - start, length: to - from });
  }
  return out;
}

/** Parses a `url-list` entry; only http and https are fetched. */
export function parseWebSeedUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new WebSeedInitError(`web seed URL "${url}" is not a valid URL: ${(err as Error).message}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebSeedInitError(`web seed URL "${url}" is not http(s)`);
  }
  return parsed;
}

/**
 * The URL of file `index` under a BEP 19 web seed `base`: a single-file torrent is the URL
 * itself, or URL + name when it ends in `/`; a multi-file torrent is URL + name + path (a `/` is
 * added to the URL when it lacks one, as libtorrent does). Components are percent-encoded.
 */
export function webSeedFileUrl(base: URL, meta: Metainfo, index: number): URL {
  const dir = base.pathname.endsWith('/');
  if (!meta.multiFile && !dir) return new URL(base);
  const components = meta.multiFile ? [meta.name, ...meta.files[index].path] : [meta.name];
  const url = new URL(base);
  url.pathname = (dir ? base.pathname : `${base.pathname}/`) + components.map(encodeURIComponent).join('/');
  return url;
}
