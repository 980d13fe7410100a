import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { Random, type Seed } from '../../agent/peer/random.js';
import { makeTorrentWithLibtorrent } from '../../agent/third-party/libtorrent-make-torrent.js';
import { TempDir } from '../../agent/third-party/temp-dir.js';

export interface TorrentFixtureInit {
  readonly sizeBytes: number;
  /** Seeds the content bytes. */
  readonly seed: Seed;
  readonly pieceLength?: number;
  readonly announce?: readonly string[];
  /** File name of the single-file torrent; default `content.bin`. */
  readonly name?: string;
}

export interface TorrentFixture {
  /** Temp dir holding everything below; removed in t.teardown. */
  readonly root: string;
  /** Directory that contains the content file: a seed's save dir. */
  readonly seedDir: string;
  readonly name: string;
  readonly data: Buffer;
  readonly torrentPath: string;
  readonly infoHashHex: string;
  /** A fresh, empty directory for a downloader (`label` keeps them apart). */
  downloadDir(label: string): Promise<string>;
  /** The bytes a downloader wrote into `dir`. */
  readDownloaded(dir: string): Promise<Buffer>;
}

/**
 * Seeded random content in a single-file torrent made by libtorrent (an implementation
 * independent of seedstream's), all under one temp dir removed when the test ends.
 */
export async function makeTorrentFixture(
  t: ExecutionContext,
  init: TorrentFixtureInit,
): Promise<TorrentFixture> {
  const tmp = await TempDir.create('fixture');
  t.teardown(() => tmp.remove());
  const name = init.name ?? 'content.bin';
  const seedDir = join(tmp.path, 'seed');
  await mkdir(seedDir);
  const data = Buffer.from(new Random(init.seed).fill(new Uint8Array(init.sizeBytes)));
  await writeFile(join(seedDir, name), data);
  const torrentPath = join(tmp.path, `${name}.torrent`);
  const made = await makeTorrentWithLibtorrent({
    contentPath: join(seedDir, name),
    outPath: torrentPath,
    pieceLength: init.pieceLength,
    announce: init.announce,
  });
  return {
    root: tmp.path,
    seedDir,
    name,
    data,
    torrentPath,
    infoHashHex: made.infoHashHex,
    async downloadDir(label: string) {
      const dir = join(tmp.path, `download-${label}`);
      await mkdir(dir);
      return dir;
    },
    readDownloaded(dir: string) {
      return readFile(join(dir, name));
    },
  };
}
