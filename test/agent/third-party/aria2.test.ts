import { Aria2 } from '../../../agent/third-party/aria2.js';
import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import { OpenTracker } from '../../../agent/third-party/opentracker.js';
import { testIf } from '../../support/components.js';
import { createLab } from '../../support/netns.js';
import { makeTorrentFixture } from '../../support/torrent-fixture.js';

const test = testIf('aria2', 'libtorrent', 'opentracker');
const TIMEOUT_MS = 60_000;
const CONTENT_BYTES = 4 * 1024 * 1024;

test('aria2 seeds to libtorrent on loopback through opentracker, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'aria2-seed',
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  await tracker.allow([fx.infoHashHex], signal);

  const aria2 = new Aria2();
  t.teardown(() => aria2.stop());
  await aria2.start(signal);
  const gid = await aria2.addTorrent(fx.torrentPath, { dir: fx.seedDir, mode: 'seed' }, signal);
  const seeding = await aria2.waitSeeding(gid, signal);
  t.is(seeding.infoHash, fx.infoHashHex);
  await tracker.waitForPeers(fx.infoHashHex, { seeders: 1 }, signal);

  const dir = await fx.downloadDir('lt');
  const leech = new LibtorrentPeer({ torrentPath: fx.torrentPath, saveDir: dir, mode: 'download' });
  t.teardown(() => leech.stop());
  await leech.start(signal);
  await leech.waitFinished(signal);

  t.true((await fx.readDownloaded(dir)).equals(fx.data));
  const after = await aria2.status(gid, signal);
  t.true(after.uploadLength >= CONTENT_BYTES, `aria2 uploaded ${after.uploadLength} bytes`);
});

test('aria2 downloads from a libtorrent seed on loopback through opentracker, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'aria2-leech',
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  await tracker.allow([fx.infoHashHex], signal);
  const seed = new LibtorrentPeer({ torrentPath: fx.torrentPath, saveDir: fx.seedDir, mode: 'seed' });
  t.teardown(() => seed.stop());
  await seed.start(signal);
  await seed.waitFinished(signal);
  await tracker.waitForPeers(fx.infoHashHex, { seeders: 1 }, signal);

  const aria2 = new Aria2();
  t.teardown(() => aria2.stop());
  await aria2.start(signal);
  const dir = await fx.downloadDir('aria2');
  const gid = await aria2.addTorrent(fx.torrentPath, { dir, mode: 'download' }, signal);
  const done = await aria2.waitComplete(gid, signal);

  t.is(done.completedLength, CONTENT_BYTES);
  t.true((await fx.readDownloaded(dir)).equals(fx.data));
});

test('aria2 reports a torrent it cannot take as a typed error', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const fx = await makeTorrentFixture(t, { sizeBytes: 64 * 1024, seed: 'aria2-dup' });
  const aria2 = new Aria2();
  t.teardown(() => aria2.stop());
  await aria2.start(signal);
  await aria2.addTorrent(fx.torrentPath, { dir: fx.seedDir, mode: 'seed' }, signal);
  // aria2 refuses a second download of the same infohash in one instance.
  const gid = await aria2.addTorrent(
    fx.torrentPath,
    { dir: await fx.downloadDir('dup'), mode: 'download' },
    signal,
  );
  await t.throwsAsync(aria2.waitComplete(gid, signal), {
    code: 'ERR_THIRD_PARTY_REPORTED',
    message: /already registered/,
  });
});

testIf(
  'aria2',
  'libtorrent',
  'opentracker',
  'netns',
)('aria2 downloads from libtorrent inside a netns lab, driven through the relay', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const lab = await createLab({ nodes: 2 });
  t.teardown(() => lab.destroy());
  const tracker = new OpenTracker({ host: lab.address(0), netns: lab.namespace(0) });
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'aria2-lab',
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  await tracker.allow([fx.infoHashHex], signal);
  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    host: lab.address(0),
    netns: lab.namespace(0),
  });
  t.teardown(() => seed.stop());
  await seed.start(signal);
  await seed.waitFinished(signal);
  await tracker.waitForPeers(fx.infoHashHex, { seeders: 1 }, signal);

  const aria2 = new Aria2({ host: lab.address(1), netns: lab.namespace(1) });
  t.teardown(() => aria2.stop());
  await aria2.start(signal);
  const dir = await fx.downloadDir('aria2-lab');
  const gid = await aria2.addTorrent(fx.torrentPath, { dir, mode: 'download' }, signal);
  await aria2.waitComplete(gid, signal);
  t.true((await fx.readDownloaded(dir)).equals(fx.data));
});
