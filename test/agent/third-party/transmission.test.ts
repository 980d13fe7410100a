import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import { OpenTracker } from '../../../agent/third-party/opentracker.js';
import { TransmissionDaemon } from '../../../agent/third-party/transmission.js';
import { testIf } from '../../support/components.js';
import { createLab } from '../../support/netns.js';
import { makeTorrentFixture } from '../../support/torrent-fixture.js';

const TIMEOUT_MS = 60_000;
const CONTENT_BYTES = 4 * 1024 * 1024;

testIf(
  'transmission',
  'libtorrent',
  'opentracker',
)('Transmission seeds to libtorrent on loopback through opentracker, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'transmission-seed',
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  await tracker.allow([fx.infoHashHex], signal);

  const daemon = new TransmissionDaemon();
  t.teardown(() => daemon.stop());
  await daemon.start(signal);
  const added = await daemon.addTorrent(fx.torrentPath, fx.seedDir, signal);
  t.is(added.hashString, fx.infoHashHex);
  await daemon.waitSeeding(added.id, signal);
  await tracker.waitForPeers(fx.infoHashHex, { seeders: 1 }, signal);

  const dir = await fx.downloadDir('lt');
  const leech = new LibtorrentPeer({ torrentPath: fx.torrentPath, saveDir: dir, mode: 'download' });
  t.teardown(() => leech.stop());
  await leech.start(signal);
  await leech.waitFinished(signal);

  t.true((await fx.readDownloaded(dir)).equals(fx.data));
  const [seeding] = await daemon.progress([added.id], signal);
  t.is(seeding.uploadedEver >= CONTENT_BYTES, true, `Transmission uploaded ${seeding.uploadedEver} bytes`);
});

testIf(
  'transmission',
  'libtorrent',
  'opentracker',
  'netns',
)('Transmission leeches from libtorrent inside a netns lab, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const lab = await createLab({ nodes: 2 });
  t.teardown(() => lab.destroy());
  const seedNs = lab.namespace(0);
  const tracker = new OpenTracker({ host: lab.address(0), netns: seedNs });
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'transmission-leech',
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  await tracker.allow([fx.infoHashHex], signal);

  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    host: lab.address(0),
    netns: seedNs,
  });
  t.teardown(() => seed.stop());
  await seed.start(signal);
  await seed.waitFinished(signal);
  await tracker.waitForPeers(fx.infoHashHex, { seeders: 1 }, signal);

  const daemon = new TransmissionDaemon({ host: lab.address(1), netns: lab.namespace(1) });
  t.teardown(() => daemon.stop());
  await daemon.start(signal);
  const dir = await fx.downloadDir('transmission');
  const added = await daemon.addTorrent(fx.torrentPath, dir, signal);
  const done = await daemon.waitComplete(added.id, signal);

  t.is(done.haveValid, CONTENT_BYTES);
  t.true((await fx.readDownloaded(dir)).equals(fx.data));
});
