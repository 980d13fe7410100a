/*
 * Our peer and Transmission (transmission-daemon 3.00) exchange content in both directions.
 * Transmission cannot be handed a peer, so the two meet through opentracker. As a leecher it
 * ignores loopback peers: that direction runs in a netns lab, our seed being the `seedstream
 * seed` command in one namespace and Transmission in another.
 */
import { BLOCK_LENGTH } from '../../../agent/peer/wire/constants.js';
import { OpenTracker } from '../../../agent/third-party/opentracker.js';
import { TransmissionDaemon } from '../../../agent/third-party/transmission.js';
import { testIf } from '../../support/components.js';
import { createLab } from '../../support/netns.js';
import {
  assertNoProtocolErrors,
  assertSameContent,
  COMPAT_TIMEOUT_MS,
  connectionsTo,
  KIB,
  MIB,
  makeContent,
  pieceBytes,
  spawnLabSeed,
  startOurPeer,
} from './compat-helpers.js';

/** Transmission's extended handshake `v`. */
const TRANSMISSION_CLIENT = /^Transmission \d/;

testIf('transmission', 'opentracker')(
  'our peer finds a Transmission seed through opentracker and downloads from it, byte for byte',
  async (t) => {
    const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
    const tracker = new OpenTracker();
    t.teardown(() => tracker.stop());
    await tracker.start(signal);
    const fx = await makeContent(t, {
      seed: 'compat-transmission-seed',
      files: { 'movie.bin': 4 * MIB + 999 },
      pieceLength: 128 * KIB,
      announce: tracker.announceUrl,
    });
    await tracker.allow([fx.meta.infoHashHex], signal);

    const daemon = new TransmissionDaemon();
    t.teardown(() => daemon.stop());
    await daemon.start(signal);
    const added = await daemon.addTorrent(fx.torrentPath, fx.seedDir, signal);
    t.is(added.hashString, fx.meta.infoHashHex, 'Transmission takes our .torrent with our infohash');
    await daemon.waitSeeding(added.id, signal);
    await tracker.waitForPeers(fx.meta.infoHashHex, { seeders: 1 }, signal);

    const dir = await fx.downloadDir('ours');
    const ours = await startOurPeer(t, { name: 'transmission-leech', fx, dir, announce: true });
    await ours.torrent.whenComplete(signal);

    await assertSameContent(t, fx, dir, 'our download');
    t.true(pieceBytes(ours, 'in') >= fx.totalBytes, `piece bytes in: ${pieceBytes(ours, 'in')}`);
    assertNoProtocolErrors(t, ours);
    const tr = connectionsTo(ours, TRANSMISSION_CLIENT);
    t.true(tr.length > 0, JSON.stringify(ours.connections.map((c) => c.clientName)));
    t.true(tr.every((c) => c.peerId.subarray(0, 2).toString('latin1') === '-T' && c.fast && c.extensions));
    const [seeding] = await daemon.progress([added.id], signal);
    t.true(seeding.uploadedEver >= fx.totalBytes, `Transmission uploaded ${seeding.uploadedEver} bytes`);
  },
);

testIf(
  'transmission',
  'opentracker',
  'netns',
)(
  'Transmission downloads a multi-file torrent from our seed inside a netns lab, byte for byte',
  async (t) => {
    const signal = AbortSignal.timeout(COMPAT_TIMEOUT_MS);
    const lab = await createLab({ nodes: 2 });
    t.teardown(() => lab.destroy());
    const tracker = new OpenTracker({ host: lab.address(0), netns: lab.namespace(0) });
    t.teardown(() => tracker.stop());
    await tracker.start(signal);
    const fx = await makeContent(t, {
      seed: 'compat-transmission-leech',
      directory: 'season',
      files: { 'e01.bin': 2 * MIB + 17, 'e02.bin': 1 * MIB, 'extras/notes.txt': 3_000 },
      pieceLength: 64 * KIB,
      announce: tracker.announceUrl,
    });
    await tracker.allow([fx.meta.infoHashHex], signal);

    const seed = await spawnLabSeed(t, lab, 0, { torrentPath: fx.torrentPath, dir: fx.seedDir, signal });
    t.is(seed.host, lab.address(0));
    await tracker.waitForPeers(fx.meta.infoHashHex, { seeders: 1 }, signal);

    const daemon = new TransmissionDaemon({ host: lab.address(1), netns: lab.namespace(1) });
    t.teardown(() => daemon.stop());
    await daemon.start(signal);
    const dir = await fx.downloadDir('transmission');
    const added = await daemon.addTorrent(fx.torrentPath, dir, signal);
    const done = await daemon.waitComplete(added.id, signal);

    t.is(done.haveValid, fx.totalBytes);
    await assertSameContent(t, fx, dir, 'Transmission download');
    const stopped = await seed.stop();
    t.is(stopped.protocolErrors, 0, seed.output());
    t.true(stopped.uploaded >= fx.totalBytes, `our seed uploaded ${stopped.uploaded} bytes`);
    const piecesOut = stopped.messages.out.piece;
    t.true(piecesOut !== undefined && piecesOut.bytes >= fx.totalBytes, JSON.stringify(piecesOut));
    t.true((stopped.messages.in.request?.count ?? 0) >= Math.ceil(fx.totalBytes / BLOCK_LENGTH));
    t.is(stopped.messages.in.extended_handshake?.count, 1, 'Transmission sent one extended handshake');
  },
);
