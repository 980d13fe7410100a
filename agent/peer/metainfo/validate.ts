import { MetainfoError } from './errors.js';
import type { StreamingInfo } from './types.js';

/* Checks shared by parseMetainfo (untrusted files) and createMetainfo (fail before hashing). */

export const SHA1_LENGTH_BYTES = 20;
/** Larger pieces than this are refused: a peer buffers whole pieces in memory. */
export const MAX_PIECE_LENGTH_BYTES = 64 * 1024 * 1024;

/**
 * A file or directory name taken from a torrent must stay inside the download directory: empty,
 * `.`, `..`, and anything containing `/` or NUL is refused (path traversal).
 */
export function checkPathComponent(component: string, keyPath: string, source?: string): void {
  let reason: string | undefined;
  if (component === '') reason = 'is empty';
  else if (component === '.' || component === '..') reason = `is ${JSON.stringify(component)}`;
  else if (component.includes('/')) reason = 'contains "/"';
  else if (component.includes('\0')) reason = 'contains a NUL character';
  if (reason !== undefined) {
    throw new MetainfoError(
      'ERR_METAINFO_UNSAFE_PATH',
      `unsafe path component ${JSON.stringify(component)}: ${reason}`,
      {
        source,
        keyPath,
      },
    );
  }
}

export function checkPieceLength(pieceLength: number, keyPath: string, source?: string): void {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH_BYTES) {
    throw new MetainfoError(
      'ERR_METAINFO_BAD_FIELD',
      `piece length ${pieceLength} is not an integer in 1..${MAX_PIECE_LENGTH_BYTES}`,
      { source, keyPath },
    );
  }
}

/**
 * The streaming section must describe playable content: positive bitrate and duration, and (for
 * VBR) one timestamp per piece, non-negative, non-decreasing and within the duration.
 */
export function checkStreaming(
  streaming: StreamingInfo,
  pieceCount: number,
  keyPath: string,
  source?: string,
): void {
  const bad = (key: string, detail: string): MetainfoError =>
    new MetainfoError('ERR_METAINFO_BAD_FIELD', detail, { source, keyPath: `${keyPath}.${key}` });
  if (!Number.isSafeInteger(streaming.bitrateBps) || streaming.bitrateBps <= 0) {
    throw bad('bitrate', `bitrate ${streaming.bitrateBps} is not a positive integer (bits/s)`);
  }
  if (!Number.isSafeInteger(streaming.durationMs) || streaming.durationMs <= 0) {
    throw bad('duration', `duration ${streaming.durationMs} is not a positive integer (ms)`);
  }
  const stamps = streaming.pieceTimestampsMs;
  if (stamps === undefined) return;
  if (stamps.length !== pieceCount) {
    throw bad('timestamps', `has ${stamps.length} entries, expected one per piece (${pieceCount})`);
  }
  let previous = 0;
  for (let i = 0; i < stamps.length; i++) {
    const ts = stamps[i];
    if (!Number.isSafeInteger(ts) || ts < 0 || ts > streaming.durationMs) {
      throw bad(`timestamps[${i}]`, `${ts} is not an integer in 0..duration (${streaming.durationMs} ms)`);
    }
    if (ts < previous) throw bad(`timestamps[${i}]`, `${ts} is before the previous timestamp ${previous}`);
    previous = ts;
  }
}
