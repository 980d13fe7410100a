import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ProgramReportedError } from './errors.js';
import { LIBTORRENT_DRIVER_PATH, SYSTEM_PYTHON } from './libtorrent.js';

const execFileAsync = promisify(execFile);
const PROGRAM = 'libtorrent create_torrent';
const MAKE_TIMEOUT_MS = 60_000;

export interface LibtorrentTorrentInit {
  /** A file (single-file torrent) or a directory (multi-file torrent). */
  readonly contentPath: string;
  /** Where to write the .torrent. */
  readonly outPath: string;
  /** Bytes; default: libtorrent's choice. */
  readonly pieceLength?: number;
  readonly announce?: readonly string[];
  /** Seconds since the epoch; default now. */
  readonly creationDate?: number;
  readonly python?: string;
  readonly signal?: AbortSignal;
}

export interface LibtorrentTorrent {
  readonly infoHashHex: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly length: number;
}

/**
 * Writes a v1 .torrent made by libtorrent's create_torrent: a reference implementation
 * independent of seedstream's own metainfo code.
 */
export async function makeTorrentWithLibtorrent(init: LibtorrentTorrentInit): Promise<LibtorrentTorrent> {
  const args = [
    LIBTORRENT_DRIVER_PATH,
    '--make-torrent',
    '--content',
    init.contentPath,
    '--out',
    init.outPath,
  ];
  if (init.pieceLength !== undefined) args.push('--piece-length', String(init.pieceLength));
  for (const url of init.announce ?? []) args.push('--announce', url);
  if (init.creationDate !== undefined) args.push('--creation-date', String(init.creationDate));
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(init.python ?? SYSTEM_PYTHON, args, {
      timeout: MAKE_TIMEOUT_MS,
      signal: init.signal,
    }));
  } catch (err) {
    const e = err as { message?: string; stderr?: string };
    throw new ProgramReportedError(
      PROGRAM,
      `cannot make a torrent of ${init.contentPath}: ${e.message}`,
      e.stderr,
    );
  }
  let parsed: LibtorrentTorrent & { infoHash: string };
  try {
    parsed = JSON.parse(stdout) as LibtorrentTorrent & { infoHash: string };
  } catch {
    throw new ProgramReportedError(PROGRAM, `unexpected output: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return {
    infoHashHex: parsed.infoHash,
    pieceLength: parsed.pieceLength,
    pieceCount: parsed.pieceCount,
    length: parsed.length,
  };
}
