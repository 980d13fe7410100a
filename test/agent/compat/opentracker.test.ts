/*
 * Our peer announces to opentracker (Debian's build, whitelist mode) over loopback and finds the
 * other peers there: no peer address is handed to anyone directly.
 */
import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import { OpenTracker, type ScrapeCounts } from '../../../agent/third-party/opentracker.js';
import { pollUntil } from '../../../agent/third-party/wait.js';
import { testIf } from '../../support/components.js';
import {
  assertNoProtocolErrors,
  assertSameContent,
  COMPAT_TIMEOUT_MS,
  connectionsTo,
  KIB,
  MIB,
  makeContent,
  pieceBytes,
  startOurPeer,
} from './compat-helpers.js';

const test = testIf('opentracker', 'libtorrent');
const LIBTORRENT_CLIENT = /libtorrent/;
/** `v` of our own extended handshake. */
const OUR_CLIENT = /^seedstream/;
/** A libtorrent leecher needs about 3 s for the swarm's content at this rate. */
const LEECH_CAP_BYTES_PER_SECOND = 1 * MIB;

/** Waits until the tracker counts `peers` peers (seeds or not) of the torrent. */
function waitForSwarmSize(
  tracker: OpenTracker,
  infoHash: string,
  peers: number,
  signal: AbortSignal,
): Promise<ScrapeCounts> {
  return pollUntil(
    async () => {
      const c = await tracker.scrape(infoHash, signal);
      return c.complete + c.incomplete >= peers ? c : undefined;
    },
    { intervalMs: 100, signal, what: `${peers} peers of ${infoHash} at opentracker` },
  );
}

test('our leecher finds a libtorrent seed at opentracker; its completed and stopped announces count', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeContent(t, {
    seed: 'compat-ot-leech',
    files: { 'movie.bin': 3 * MIB + 333 },
    pieceLength: 128 * KIB,
    announce: tracker.announceUrl,
  });
  await tracker.allow([fx.meta.infoHashHex], signal);
  const seed = new LibtorrentPeer({ torrentPath: fx.torrentPath, saveDir: fx.seedDir, mode: 'seed' });
  t.teardown(() => seed.stop());
  await seed.start(signal);
  await seed.waitFinished(signal);
  await tracker.waitForPeers(fx.meta.infoHashHex, { seeders: 1 }, signal);

  const dir = await fx.downloadDir('ours');
  const ours = await startOurPeer(t, { name: 'ot-leech', fx, dir, announce: true });
  await ours.torrent.whenComplete(signal);
  await assertSameContent(t, fx, dir, 'our download');
  assertNoProtocolErrors(t, ours);
  t.true(pieceBytes(ours, 'in') >= fx.totalBytes);
  t.true(connectionsTo(ours, LIBTORRENT_CLIENT).length > 0, 'the seed came from the tracker');

  // Our `completed` announce makes us a seed in the tracker's eyes and counts one download.
  const counted = await tracker.waitForPeers(fx.meta.infoHashHex, { seeders: 2 }, signal);
  t.is(counted.incomplete, 0);
  t.is(counted.downloaded, 1);
  // And our `stopped` announce removes us again.
  await ours.torrent.stop();
  const after = await pollUntil(
    async () => {
      const c = await tracker.scrape(fx.meta.infoHashHex, signal);
      return c.complete === 1 ? c : undefined;
    },
    { intervalMs: 100, signal, what: 'our stopped peer to leave the swarm' },
  );
  t.is(after.complete, 1);
});

test('our seed, our leecher and two libtorrent leechers meet only through opentracker; all complete', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeContent(t, {
    seed: 'compat-ot-swarm',
    directory: 'box',
    files: { 'a.bin': 1 * MIB + 1, 'b/c.bin': 2 * MIB - 1 },
    pieceLength: 64 * KIB,
    announce: tracker.announceUrl,
  });
  await tracker.allow([fx.meta.infoHashHex], signal);

  // opentracker tells an announcing peer about those that announced before it, so the peers
  // join one by one (each once the tracker counts the ones before it): each finds every earlier
  // one there and dials it. The libtorrent leechers are capped so that they are still leechers,
  // dialling, when the others arrive.
  const hex = fx.meta.infoHashHex;
  const ourSeed = await startOurPeer(t, { name: 'ot-seed', fx, dir: fx.seedDir, announce: true });
  await waitForSwarmSize(tracker, hex, 1, signal);
  const ltDirs = [await fx.downloadDir('lt-1'), await fx.downloadDir('lt-2')];
  const startCappedLeech = async (saveDir: string): Promise<LibtorrentPeer> => {
    const peer = new LibtorrentPeer({
      torrentPath: fx.torrentPath,
      saveDir,
      mode: 'download',
      downloadLimitBytesPerSecond: LEECH_CAP_BYTES_PER_SECOND,
    });
    t.teardown(() => peer.stop());
    await peer.start(signal);
    return peer;
  };
  const lt1 = await startCappedLeech(ltDirs[0]);
  await waitForSwarmSize(tracker, hex, 2, signal);
  const ourDir = await fx.downloadDir('ours');
  const ourLeech = await startOurPeer(t, { name: 'ot-leech-2', fx, dir: ourDir, announce: true });
  await waitForSwarmSize(tracker, hex, 3, signal);
  const lt2 = await startCappedLeech(ltDirs[1]);

  await Promise.all([
    ourLeech.torrent.whenComplete(signal),
    lt1.waitFinished(signal),
    lt2.waitFinished(signal),
  ]);
  await assertSameContent(t, fx, ourDir, 'our leecher');
  await assertSameContent(t, fx, ltDirs[0], 'lt-1');
  await assertSameContent(t, fx, ltDirs[1], 'lt-2');
  for (const ours of [ourSeed, ourLeech]) assertNoProtocolErrors(t, ours);
  // Every piece left the only seed at least once.
  t.true(
    pieceBytes(ourSeed, 'out') >= fx.totalBytes,
    `our seed sent ${pieceBytes(ourSeed, 'out')} piece bytes`,
  );
  // Our leecher met our seed and lt-1 (both announced before it) and lt-2 (which dialled it).
  t.true(connectionsTo(ourLeech, OUR_CLIENT).length > 0, 'our leecher found our seed');
  t.true(connectionsTo(ourLeech, LIBTORRENT_CLIENT).length >= 2, 'our leecher met both libtorrent peers');
  t.true(connectionsTo(ourSeed, LIBTORRENT_CLIENT).length >= 2, 'both libtorrent peers found our seed');
});
