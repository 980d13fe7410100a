/*
 * A mixed swarm over loopback: a libtorrent seed whose upload is capped (so the leechers must
 * trade among themselves), two of our leechers and two libtorrent leechers. Every pair is
 * connected once, dialled from one side only (libtorrent -> ours and ours -> libtorrent both
 * occur), and everyone must complete with identical content.
 */
import type { ExecutionContext } from 'ava';
import { LibtorrentPeer, type LibtorrentPeerInit } from '../../../agent/third-party/libtorrent.js';
import { testIf } from '../../support/components.js';
import {
  assertNoProtocolErrors,
  assertSameContent,
  COMPAT_TIMEOUT_MS,
  type ContentFixture,
  connectionsTo,
  KIB,
  MIB,
  makeContent,
  pieceBytes,
  startOurPeer,
} from './compat-helpers.js';

// Five peers and three libtorrent processes: one such test at a time.
const test = testIf('libtorrent').serial;

/** The seed alone would need about 4 s per leecher at this rate. */
const SEED_UPLOAD_BYTES_PER_SECOND = 1 * MIB;
const LIBTORRENT_CLIENT = /libtorrent/;

test('a swarm of our peers and libtorrent peers: everyone completes, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const fx = await makeContent(t, {
    seed: 'compat-mixed',
    directory: 'mixed',
    files: { 'part1.bin': 2 * MIB + 3, 'part2.bin': 2 * MIB - 3 },
    pieceLength: 64 * KIB,
  });
  const startLibtorrent = async (init: Partial<LibtorrentPeerInit>): Promise<LibtorrentPeer> => {
    const peer = new LibtorrentPeer({
      torrentPath: fx.torrentPath,
      saveDir: fx.seedDir,
      mode: 'download',
      trackers: [],
      ...init,
    });
    t.teardown(() => peer.stop());
    await peer.start(signal);
    return peer;
  };

  const seed = await startLibtorrent({
    mode: 'seed',
    uploadLimitBytesPerSecond: SEED_UPLOAD_BYTES_PER_SECOND,
  });
  await seed.waitFinished(signal);
  const ours1 = await startOurPeer(t, { name: 'mixed-1', fx, dir: await fx.downloadDir('ours-1') });
  const ours2 = await startOurPeer(t, { name: 'mixed-2', fx, dir: await fx.downloadDir('ours-2') });
  // lt1 dials the seed and both of ours; lt2 dials the seed and lt1; ours dial the seed, lt2 and
  // (ours2) ours1.
  const lt1Dir = await fx.downloadDir('lt-1');
  const lt1 = await startLibtorrent({
    saveDir: lt1Dir,
    peers: [seed.address, { host: ours1.host, port: ours1.port }, { host: ours2.host, port: ours2.port }],
  });
  const lt2Dir = await fx.downloadDir('lt-2');
  const lt2 = await startLibtorrent({ saveDir: lt2Dir, peers: [seed.address, lt1.address] });
  for (const ours of [ours1, ours2]) {
    ours.torrent.addPeer(seed.address.host, seed.address.port);
    ours.torrent.addPeer(lt2.address.host, lt2.address.port);
  }
  ours2.torrent.addPeer(ours1.host, ours1.port);

  await Promise.all([
    ours1.torrent.whenComplete(signal),
    ours2.torrent.whenComplete(signal),
    lt1.waitFinished(signal),
    lt2.waitFinished(signal),
  ]);

  await assertDownloads(t, fx, {
    'ours-1': ours1.storage.dir,
    'ours-2': ours2.storage.dir,
    'lt-1': lt1Dir,
    'lt-2': lt2Dir,
  });
  for (const ours of [ours1, ours2]) {
    assertNoProtocolErrors(t, ours);
    t.true(pieceBytes(ours, 'in') >= fx.totalBytes, `${ours.name} piece bytes in`);
    t.true(
      connectionsTo(ours, LIBTORRENT_CLIENT).length >= 3,
      `${ours.name} met the seed, lt-1 and lt-2: ${JSON.stringify(ours.connections.map((c) => c.clientName))}`,
    );
  }
  // With the seed capped, the leechers traded: ours served libtorrent leechers, and libtorrent
  // leechers (which announce pieces with bitfield + have, not have all) served others.
  const toLibtorrent = [ours1, ours2]
    .flatMap((ours) => connectionsTo(ours, LIBTORRENT_CLIENT))
    .reduce((sum, c) => sum + c.stats.bytesOf('out', ['piece']), 0);
  t.true(toLibtorrent > 0, 'our leechers uploaded to libtorrent leechers');
  const ltUploaded = (lt1.lastProgress?.uploaded ?? 0) + (lt2.lastProgress?.uploaded ?? 0);
  t.true(ltUploaded > 0, 'libtorrent leechers uploaded');
});

async function assertDownloads(
  t: ExecutionContext,
  fx: ContentFixture,
  dirs: Record<string, string>,
): Promise<void> {
  for (const [who, dir] of Object.entries(dirs)) await assertSameContent(t, fx, dir, who);
}
