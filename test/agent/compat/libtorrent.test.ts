/*
 * Our peer and libtorrent (python3-libtorrent) exchange content over loopback in both
 * directions, meeting through libtorrent's connect_peer or our addPeer: no tracker involved.
 */
import type { ExecutionContext } from 'ava';
import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import { testIf } from '../../support/components.js';
import {
  assertNoProtocolErrors,
  assertSameContent,
  COMPAT_TIMEOUT_MS,
  connectionsTo,
  KIB,
  MIB,
  makeContent,
  type OurPeer,
  pieceBytes,
  startOurPeer,
} from './compat-helpers.js';

const test = testIf('libtorrent');

/** libtorrent's extended handshake `v`: the driver's user agent, `seedstream-test/libtorrent-<version>`. */
const LIBTORRENT_CLIENT = /^seedstream-test\/libtorrent-\d+\.\d+/;

/** The libtorrent connection was parsed as a well-behaved BEP 6 + BEP 10 peer. */
function assertLibtorrentConnection(t: ExecutionContext, peer: OurPeer): void {
  const lt = connectionsTo(peer, LIBTORRENT_CLIENT);
  t.true(
    lt.length > 0,
    `no connection announced libtorrent's client name: ${JSON.stringify(peer.connections.map((c) => c.clientName))}`,
  );
  for (const c of lt) {
    t.true(c.fast, 'libtorrent negotiated the fast extension');
    t.true(c.extensions, 'libtorrent negotiated the extension protocol');
    // libtorrent's peer ids are Azureus-style, -LT2080-.
    t.is(c.peerId.subarray(0, 3).toString('latin1'), '-LT');
    t.true((c.remoteExtensions.get('ut_metadata') ?? 0) > 0, 'libtorrent lists ut_metadata in m');
  }
}

test('our peer downloads a multi-file torrent from a libtorrent seed, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const fx = await makeContent(t, {
    seed: 'compat-lt-seed',
    directory: 'album',
    files: { 'a.bin': 1_500_000, 'sub/b.bin': 1, 'sub/c.bin': 2 * MIB + 12_345, 'z.bin': 700_000 },
    pieceLength: 128 * KIB,
  });
  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    trackers: [],
  });
  t.teardown(() => seed.stop());
  const seedAddress = await seed.start(signal);
  await seed.waitFinished(signal);

  const dir = await fx.downloadDir('ours');
  const ours = await startOurPeer(t, { name: 'leech', fx, dir });
  ours.torrent.addPeer(seedAddress.host, seedAddress.port);
  await ours.torrent.whenComplete(signal);

  await assertSameContent(t, fx, dir, 'our download');
  t.true(pieceBytes(ours, 'in') >= fx.totalBytes, `piece bytes in: ${pieceBytes(ours, 'in')}`);
  t.is(ours.torrent.downloaded, fx.totalBytes);
  assertNoProtocolErrors(t, ours);
  assertLibtorrentConnection(t, ours);
  // A seed sends have-all (BEP 6) rather than a bitfield.
  const received = ours.torrent.stats.snapshot().in;
  t.is(received.have_all?.count, 1);
  t.is(received.extended_handshake?.count, 1);
});

test('libtorrent downloads from our seed through connect_peer, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const fx = await makeContent(t, {
    seed: 'compat-lt-leech',
    files: { 'movie.bin': 4 * MIB + 4_321 },
    pieceLength: 64 * KIB,
  });
  const ours = await startOurPeer(t, { name: 'seed', fx, dir: fx.seedDir });
  t.true(ours.torrent.complete);

  const dir = await fx.downloadDir('lt');
  const leech = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: dir,
    mode: 'download',
    trackers: [],
    peers: [{ host: ours.host, port: ours.port }],
  });
  t.teardown(() => leech.stop());
  await leech.start(signal);
  const done = await leech.waitFinished(signal);

  t.is(done?.downloaded, fx.totalBytes);
  await assertSameContent(t, fx, dir, 'libtorrent download');
  t.true(pieceBytes(ours, 'out') >= fx.totalBytes, `piece bytes out: ${pieceBytes(ours, 'out')}`);
  t.true(ours.torrent.uploaded >= fx.totalBytes);
  assertNoProtocolErrors(t, ours);
  assertLibtorrentConnection(t, ours);
  const inbound = connectionsTo(ours, LIBTORRENT_CLIENT);
  t.true(inbound.every((c) => c.inbound));
  // libtorrent told us its listen port in its extended handshake.
  t.true(inbound.some((c) => c.listenPort === leech.port));
});

test('libtorrent with its default settings (uTP on, default pipeline) downloads from our seed', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const fx = await makeContent(t, {
    seed: 'compat-lt-default',
    files: { 'clip.bin': 3 * MIB },
    pieceLength: 256 * KIB,
  });
  const ours = await startOurPeer(t, { name: 'seed-default', fx, dir: fx.seedDir });
  const dir = await fx.downloadDir('lt-default');
  const leech = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: dir,
    mode: 'download',
    trackers: [],
    profile: 'default',
    peers: [{ host: ours.host, port: ours.port }],
  });
  t.teardown(() => leech.stop());
  await leech.start(signal);
  await leech.waitFinished(signal);
  await assertSameContent(t, fx, dir, 'libtorrent (default profile) download');
  t.true(pieceBytes(ours, 'out') >= fx.totalBytes);
  assertNoProtocolErrors(t, ours);
  assertLibtorrentConnection(t, ours);
});
