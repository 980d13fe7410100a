import type { ExecutionContext } from 'ava';
import { kindOf } from '../../../../agent/peer/accounting/message-stats.js';
import type { RemotePeer } from '../../../../agent/peer/torrent/remote-peer.js';
import { LibtorrentPeer, type LibtorrentPeersReport } from '../../../../agent/third-party/libtorrent.js';
import { testIf } from '../../../support/components.js';
import { type PeerNode, startNode, waitForEvent, whenComplete } from '../../../support/peer-node.js';
import { assertSameContent, type ContentFixture, makeContent } from '../../compat/compat-helpers.js';

// Our peers and a real libtorrent in one swarm on 127.0.0.1: the seedstream extensions (ss_range,
// ss_qos messages) run between our peers and never reach libtorrent, which still gets BEP 54
// lt_donthave when we evict, and updates its view at once.

const test = testIf('libtorrent');
const TIMEOUT_MS = 60_000;
const PIECE_LENGTH = 64 * 1024;

async function content(t: ExecutionContext, seed: string, pieces: number): Promise<ContentFixture> {
  return makeContent(t, {
    seed,
    files: { 'video.bin': pieces * PIECE_LENGTH - 4321 },
    pieceLength: PIECE_LENGTH,
  });
}

async function startLibtorrent(
  t: ExecutionContext,
  fx: ContentFixture,
  peers: PeerNode[],
): Promise<{ lt: LibtorrentPeer; dir: string }> {
  const dir = await fx.downloadDir('libtorrent');
  const lt = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: dir,
    mode: 'download',
    trackers: [],
    peers: peers.map((p) => ({ host: '127.0.0.1', port: p.port })),
  });
  t.teardown(() => lt.stop());
  await lt.start(AbortSignal.timeout(TIMEOUT_MS));
  return { lt, dir };
}

const isLibtorrent = (c: RemotePeer): boolean => /libtorrent/.test(c.clientName ?? '');

/** Bytes of `kind` out on `c`. */
const out = (c: RemotePeer, kind: string): number => c.stats.bytesOf('out', [kind]);

test('mixed swarm: ss_range between our peers, plain BEP 3 to libtorrent, every extension message kept from it', async (t) => {
  const fx = await content(t, 'mixed-extensions', 48);
  const data = fx.files[0].data;
  const seed = await startNode(t, { name: 'seed', meta: fx.meta, content: data, pieces: 'all' });
  const leecher = await startNode(t, { name: 'leecher', meta: fx.meta, content: data });
  // libtorrent dials both before the leecher starts, so the leecher stores pieces while connected to it.
  const leecherSawLt = waitForEvent<[RemotePeer]>(leecher.torrent, 'peer');
  const seedSawLt = waitForEvent<[RemotePeer]>(seed.torrent, 'peer');
  const { lt, dir } = await startLibtorrent(t, fx, [seed, leecher]);
  await Promise.all([leecherSawLt, seedSawLt]);
  // A requirement in the handshake, then changed (an ss_qos message): both for our peers only.
  leecher.torrent.setRequirement({ minBitrateBitsPerSec: 4_000_000, maxDelayMs: 5_000 });
  leecher.torrent.once('peer', () => leecher.torrent.setRequirement({ maxDelayMs: 2_000 }));
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await Promise.all([whenComplete(leecher, TIMEOUT_MS), lt.waitFinished(AbortSignal.timeout(TIMEOUT_MS))]);
  await assertSameContent(t, fx, dir, 'libtorrent');
  t.true(leecher.torrent.complete);

  const toLt = [...seed.connections, ...leecher.connections].filter(isLibtorrent);
  t.is(toLt.length, 2, 'libtorrent connected to both of our peers');
  for (const c of toLt) {
    t.true(c.supports('lt_donthave'), 'libtorrent offers lt_donthave');
    t.false(c.supports('ss_range'));
    t.is(out(c, 'ext:ss_range'), 0);
    t.is(out(c, 'ext:ss_qos'), 0);
    t.is(out(c, 'ext:lt_donthave'), 0, 'nothing was evicted');
  }
  // The leecher announced its pieces to libtorrent with BEP 3 haves.
  const leecherToLt = leecher.connections.find(isLibtorrent)!;
  t.true(leecherToLt.stats.countOut[kindOf('have')] > 0);
  // Between our peers: range requests one way, the requirement update the other way.
  const leecherToSeed = leecher.connections.find((c) => c.supports('ss_range'))!;
  t.true(out(leecherToSeed, 'ext:ss_range') > 0);
  t.true(out(leecherToSeed, 'ext:ss_qos') > 0);
  const seedView = seed.connections.find((c) => c.supports('ss_range'))!;
  t.deepEqual(seedView.qos, { maxDelayMs: 2_000 });
  for (const n of [seed, leecher]) t.is(n.torrent.protocolErrors, 0, `${n.name} protocol errors`);
});

/** Asks libtorrent for its view after each progress report until `done` holds (bounded). */
async function untilLibtorrentSees(
  lt: LibtorrentPeer,
  done: (report: LibtorrentPeersReport) => boolean,
): Promise<LibtorrentPeersReport> {
  const deadline = AbortSignal.timeout(TIMEOUT_MS);
  // Bounded by the deadline: each round waits for libtorrent's next progress report (every 250 ms).
  for (;;) {
    const report = await lt.peers(deadline);
    if (done(report)) return report;
    await waitForEvent(lt, 'progress', () => true, TIMEOUT_MS);
    deadline.throwIfAborted();
  }
}

test('evicting announces lt_donthave to libtorrent, which drops the pieces from its view and availability', async (t) => {
  const PIECES = 24;
  const fx = await content(t, 'evict-to-libtorrent', PIECES);
  const data = fx.files[0].data;
  // We lack the last piece, so libtorrent never completes and the connection stays.
  const ours = await startNode(t, {
    name: 'ours',
    meta: fx.meta,
    content: data,
    pieces: [...Array(PIECES - 1).keys()],
  });
  const { lt } = await startLibtorrent(t, fx, [ours]);
  await lt.waitProgress(
    (p) => p.pieces === PIECES - 1,
    'every piece we hold',
    AbortSignal.timeout(TIMEOUT_MS),
  );
  const mine = (r: LibtorrentPeersReport) => r.peers.find((p) => p.port === ours.port);
  const before = await untilLibtorrentSees(lt, (r) => mine(r)?.pieces === `${'1'.repeat(PIECES - 1)}0`);
  t.is(before.availability[2], 1);
  t.is(before.availability[5], 1);

  const evicted = [2, 5, 6, 7];
  ours.torrent.setWanted(evicted, false);
  t.deepEqual(await ours.torrent.evictPieces(evicted), evicted);
  const after = await untilLibtorrentSees(lt, (r) => evicted.every((i) => mine(r)?.pieces[i] === '0'));
  for (const i of evicted) t.is(after.availability[i], 0, `libtorrent's availability of ${i}`);
  t.is(after.availability[3], 1);
  t.is(
    mine(after)?.pieces,
    [...Array(PIECES).keys()].map((i) => (i < PIECES - 1 && !evicted.includes(i) ? '1' : '0')).join(''),
  );

  const conn = ours.connections.find(isLibtorrent)!;
  t.false(conn.closed, 'libtorrent kept the connection');
  t.deepEqual(conn.stats.snapshot().out['ext:lt_donthave'], {
    count: evicted.length,
    bytes: 10 * evicted.length,
  });
  t.is(out(conn, 'ext:ss_range'), 0);
  t.is(ours.torrent.protocolErrors, 0);
});
