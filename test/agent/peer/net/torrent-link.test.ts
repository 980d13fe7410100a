import test from 'ava';
import { ShapedLink } from '../../../../agent/peer/net/shaped-link.js';
import { UNLIMITED_LINK, UnlimitedLink } from '../../../../agent/peer/net/unlimited-link.js';
import type { RemotePeer } from '../../../../agent/peer/torrent/remote-peer.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { startNode, storedContentEquals, waitForEvent, whenComplete } from '../../../support/peer-node.js';

// Torrents of our own over real loopback TCP, one of them behind a ShapedLink.

const MiB = 1_048_576;
const { meta, content } = makeMeta({
  pieceLength: 256 * 1024,
  files: [{ path: ['shaped.bin'], length: 3 * MiB }],
  seed: 'shaped-link',
});

function shaped(t: import('ava').ExecutionContext, init: ConstructorParameters<typeof ShapedLink>[0]) {
  const link = new ShapedLink(init);
  t.teardown(() => link.close());
  return link;
}

/** Payload rate of a completed download, from its first block to its last. */
function downloadRate(torrent: {
  downloaded: number;
  firstPayloadAt?: number;
  completedAt?: number;
}): number {
  return torrent.downloaded / (((torrent.completedAt ?? 0) - (torrent.firstPayloadAt ?? 0)) / 1000);
}

test('a torrent given no link uses the shared unlimited one', async (t) => {
  const node = await startNode(t, { name: 'plain', meta, content });
  t.is(node.torrent.link, UNLIMITED_LINK);
  t.true(node.torrent.link instanceof UnlimitedLink);
  t.false(node.torrent.link.holdsChunks);
});

test("a seed's shaped upload of 1.5 MiB/s: the leecher downloads 3 MiB at that rate", async (t) => {
  const rate = 1.5 * MiB;
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    deps: { link: shaped(t, { uploadBytesPerSecond: rate }) },
  });
  const leech = await startNode(t, { name: 'leech', meta, content });
  // Samples what the seed's link holds for the connection while it serves a deep pipeline.
  let maxHeld = 0;
  leech.torrent.on('piece', () => {
    const socket = seed.connections[0]?.socket;
    if (socket) maxHeld = Math.max(maxHeld, seed.torrent.link.heldBytes(socket));
  });
  leech.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leech);
  t.true(await storedContentEquals(leech, content));
  const achieved = downloadRate(leech.torrent);
  t.true(Math.abs(achieved - rate) / rate < 0.12, `achieved ${(achieved / MiB).toFixed(2)} MiB/s`);
  // Serving paused while the link's queue was long: it never held more than a fraction of a second.
  t.true(maxHeld > 0 && maxHeld < 0.4 * rate, `the link held up to ${maxHeld} bytes`);
});

test("a leecher's shaped download of 2 MiB/s from an unshaped seed", async (t) => {
  const rate = 2 * MiB;
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leech = await startNode(t, {
    name: 'leech',
    meta,
    content,
    deps: { link: shaped(t, { downloadBytesPerSecond: rate }) },
  });
  leech.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leech);
  t.true(await storedContentEquals(leech, content));
  const achieved = downloadRate(leech.torrent);
  t.true(Math.abs(achieved - rate) / rate < 0.12, `achieved ${(achieved / MiB).toFixed(2)} MiB/s`);
});

test('added delay shows in the measured request-to-block round trip (rttMs)', async (t) => {
  // The leecher's link delays its requests by 20 ms, the seed's its blocks by 15 ms, and each
  // side's reads too: 2 x (20 + 15) = 70 ms.
  const expected = 70;
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    deps: { link: shaped(t, { delayMs: 15, uploadBytesPerSecond: 8 * MiB }) },
  });
  const leech = await startNode(t, {
    name: 'leech',
    meta,
    content,
    deps: { link: shaped(t, { delayMs: 20 }) },
  });
  const connected = waitForEvent<[RemotePeer]>(leech.torrent, 'peer');
  leech.torrent.addPeer('127.0.0.1', seed.port);
  const [peer] = await connected;
  await whenComplete(leech);
  t.true(peer.rtt.samples >= 1);
  const rtt = peer.rttMs ?? -1;
  t.true(rtt >= expected - 2 && rtt <= expected + 20, `leecher's rttMs ${rtt}`);
});

test('a seed, which never requests, measures the round trip from its unchoke to the first request', async (t) => {
  const expected = 70;
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    deps: { link: shaped(t, { delayMs: 15 }) },
  });
  // Without BEP 6 the leecher cannot ask for allowed-fast pieces before it is unchoked.
  const leech = await startNode(t, {
    name: 'leech',
    meta,
    content,
    init: { fast: false },
    deps: { link: shaped(t, { delayMs: 20 }) },
  });
  leech.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leech);
  const rtt = seed.connections[0].rttMs ?? -1;
  t.true(rtt >= expected - 2 && rtt <= expected + 20, `seed's rttMs ${rtt}`);
});

test('an unshaped transfer still measures a small round trip', async (t) => {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leech = await startNode(t, { name: 'leech', meta, content });
  leech.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leech);
  const rtt = leech.connections[0].rttMs;
  t.true(rtt !== undefined && rtt < 20, `rttMs ${rtt}`);
});
