/*
 * Our peer and aria2 (aria2c 1.36) exchange content over loopback in both directions. aria2
 * cannot be handed a peer address, so the two meet through opentracker.
 */
import type { ExecutionContext } from 'ava';
import { Aria2 } from '../../../agent/third-party/aria2.js';
import { OpenTracker } from '../../../agent/third-party/opentracker.js';
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

const test = testIf('aria2', 'opentracker');

/** aria2's extended handshake `v`. */
const ARIA2_CLIENT = /^aria2\/\d/;

function assertAria2Connection(t: ExecutionContext, ours: OurPeer): void {
  const a2 = connectionsTo(ours, ARIA2_CLIENT);
  t.true(a2.length > 0, JSON.stringify(ours.connections.map((c) => c.clientName)));
  // aria2's peer ids start with A2-<major>-<minor>-<patch>-.
  t.true(a2.every((c) => c.peerId.subarray(0, 3).toString('latin1') === 'A2-' && c.extensions));
}

test('our peer finds an aria2 seed through opentracker and downloads from it, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeContent(t, {
    seed: 'compat-aria2-seed',
    directory: 'pack',
    files: { 'one.bin': 2 * MIB + 5, 'two/three.bin': 1 * MIB + 77_777 },
    pieceLength: 256 * KIB,
    announce: tracker.announceUrl,
  });
  await tracker.allow([fx.meta.infoHashHex], signal);

  const aria2 = new Aria2();
  t.teardown(() => aria2.stop());
  await aria2.start(signal);
  const gid = await aria2.addTorrent(fx.torrentPath, { dir: fx.seedDir, mode: 'seed' }, signal);
  const seeding = await aria2.waitSeeding(gid, signal);
  t.is(seeding.infoHash, fx.meta.infoHashHex, 'aria2 takes our .torrent with our infohash');
  await tracker.waitForPeers(fx.meta.infoHashHex, { seeders: 1 }, signal);

  const dir = await fx.downloadDir('ours');
  const ours = await startOurPeer(t, { name: 'aria2-leech', fx, dir, announce: true });
  await ours.torrent.whenComplete(signal);

  await assertSameContent(t, fx, dir, 'our download');
  t.true(pieceBytes(ours, 'in') >= fx.totalBytes, `piece bytes in: ${pieceBytes(ours, 'in')}`);
  assertNoProtocolErrors(t, ours);
  assertAria2Connection(t, ours);
  const after = await aria2.status(gid, signal);
  t.true(after.uploadLength >= fx.totalBytes, `aria2 uploaded ${after.uploadLength} bytes`);
});

test('aria2 finds our seed through opentracker and downloads from it, byte for byte', async (t) => {
  const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
  const tracker = new OpenTracker();
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const fx = await makeContent(t, {
    seed: 'compat-aria2-leech',
    files: { 'movie.bin': 4 * MIB + 1 },
    pieceLength: 64 * KIB,
    announce: tracker.announceUrl,
  });
  await tracker.allow([fx.meta.infoHashHex], signal);
  const ours = await startOurPeer(t, { name: 'aria2-seed', fx, dir: fx.seedDir, announce: true });
  t.true(ours.torrent.complete);
  await tracker.waitForPeers(fx.meta.infoHashHex, { seeders: 1 }, signal);

  const aria2 = new Aria2();
  t.teardown(() => aria2.stop());
  await aria2.start(signal);
  const dir = await fx.downloadDir('aria2');
  const gid = await aria2.addTorrent(fx.torrentPath, { dir, mode: 'download' }, signal);
  const done = await aria2.waitComplete(gid, signal);

  t.is(done.completedLength, fx.totalBytes);
  await assertSameContent(t, fx, dir, 'aria2 download');
  t.true(pieceBytes(ours, 'out') >= fx.totalBytes, `piece bytes out: ${pieceBytes(ours, 'out')}`);
  t.true(ours.torrent.uploaded >= fx.totalBytes);
  assertNoProtocolErrors(t, ours);
  assertAria2Connection(t, ours);
  t.true(connectionsTo(ours, ARIA2_CLIENT).every((c) => c.inbound));
});
