import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import { testIf } from '../../support/components.js';
import { createLab } from '../../support/netns.js';
import { makeTorrentFixture } from '../../support/torrent-fixture.js';

const TIMEOUT_MS = 60_000;
const CONTENT_BYTES = 4 * 1024 * 1024;
const PIECE_BYTES = 64 * 1024;

testIf('libtorrent')('libtorrent seeds to libtorrent through connect_peer, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'lt-lt',
    pieceLength: PIECE_BYTES,
  });
  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    trackers: [],
  });
  t.teardown(() => seed.stop());
  const seedAddress = await seed.start(signal);
  t.is(seedAddress.host, '127.0.0.1');
  await seed.waitFinished(signal);

  const dir = await fx.downloadDir('lt');
  const leech = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: dir,
    mode: 'download',
    trackers: [],
  });
  t.teardown(() => leech.stop());
  const progress: number[] = [];
  leech.on('progress', (p) => progress.push(p.progress));
  await leech.start(signal);
  t.not(leech.port, seed.port);
  leech.connect(seedAddress.host, seedAddress.port);
  const done = await leech.waitFinished(signal);

  t.is(done?.downloaded, CONTENT_BYTES);
  t.is(done?.progress, 1);
  const timing = leech.timing;
  t.true(timing !== undefined && timing.transferMs !== null && timing.transferMs > 0);
  t.true(timing !== undefined && timing.elapsedMs >= (timing.transferMs ?? 0));
  t.true(timing !== undefined && timing.cpuMs > 0 && (timing.cpuSinceListeningMs ?? -1) >= 0);
  t.is(seed.timing?.transferMs, null);
  t.true(progress.length > 0 && progress.every((p) => p >= 0 && p <= 1));
  t.true((await fx.readDownloaded(dir)).equals(fx.data));
});

testIf('libtorrent')('a libtorrent seed whose content fails the hash check is a typed error', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const fx = await makeTorrentFixture(t, {
    sizeBytes: 8 * PIECE_BYTES,
    seed: 'lt-corrupt',
    pieceLength: PIECE_BYTES,
  });
  const file = await open(join(fx.seedDir, fx.name), 'r+');
  await file.write(Buffer.from([fx.data[3 * PIECE_BYTES] ^ 0xff]), 0, 1, 3 * PIECE_BYTES);
  await file.close();
  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    trackers: [],
  });
  t.teardown(() => seed.stop());
  await seed.start(signal);
  await t.throwsAsync(seed.waitFinished(signal), {
    code: 'ERR_THIRD_PARTY_REPORTED',
    message: /hash check \(7 of 8 pieces\)/,
  });
  await seed.stop();
  await seed.stop();
  t.throws(() => seed.connect('127.0.0.1', 1), { code: 'ERR_THIRD_PARTY_NOT_RUNNING' });
});

testIf('libtorrent')('listening on an address this host lacks is a typed start error', async (t) => {
  const fx = await makeTorrentFixture(t, { sizeBytes: PIECE_BYTES, seed: 'lt-listen' });
  const peer = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    host: '192.0.2.45',
  });
  t.teardown(() => peer.stop());
  const err = await t.throwsAsync(peer.start(AbortSignal.timeout(TIMEOUT_MS)), {
    code: 'ERR_THIRD_PARTY_START',
  });
  t.regex(err?.message ?? '', /192\.0\.2\.45/);
});

testIf('libtorrent')('waits give up with an AbortError naming what they waited for', async (t) => {
  const fx = await makeTorrentFixture(t, {
    sizeBytes: 4 * PIECE_BYTES,
    seed: 'lt-abort',
    pieceLength: PIECE_BYTES,
  });
  const leech = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: await fx.downloadDir('lonely'),
    mode: 'download',
    trackers: [],
  });
  t.teardown(() => leech.stop());
  await leech.start(AbortSignal.timeout(TIMEOUT_MS));
  // No peer: the download cannot finish; the wait must end with the signal.
  await t.throwsAsync(leech.waitFinished(AbortSignal.timeout(300)), {
    code: 'ERR_ABORTED',
    message: /torrent finished/,
  });
});

testIf('libtorrent', 'netns')('libtorrent peers in two lab namespaces connect directly', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const lab = await createLab({ nodes: 2 });
  t.teardown(() => lab.destroy());
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: 'lt-lab',
    pieceLength: PIECE_BYTES,
  });
  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    trackers: [],
    host: lab.address(0),
    netns: lab.namespace(0),
  });
  t.teardown(() => seed.stop());
  const seedAddress = await seed.start(signal);
  t.is(seedAddress.host, lab.address(0));
  await seed.waitFinished(signal);
  const dir = await fx.downloadDir('lab');
  const leech = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: dir,
    mode: 'download',
    trackers: [],
    host: lab.address(1),
    netns: lab.namespace(1),
    peers: [seedAddress],
  });
  t.teardown(() => leech.stop());
  const connected = new Promise<string>((resolve) =>
    leech.on('peer', (e) => e.kind === 'connected' && resolve(e.endpoint)),
  );
  await leech.start(signal);
  await leech.waitFinished(signal);
  t.is(await connected, `${seedAddress.host}:${seedAddress.port}`);
  t.true((await fx.readDownloaded(dir)).equals(fx.data));
});
