import test, { type ExecutionContext } from 'ava';
import { kindOf } from '../../../../agent/peer/accounting/message-stats.js';
import { encode } from '../../../../agent/peer/bencode/index.js';
import { RemotePeer } from '../../../../agent/peer/torrent/remote-peer.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { encodeExtended, UNCHOKE_FRAME } from '../../../../agent/peer/wire/encoder.js';
import { encodeDontHave } from '../../../../agent/peer/wire/extensions/lt-donthave.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { type PeerNode, startNode, waitForEvent } from '../../../support/peer-node.js';
import { fullBitfield, RawPeer, rawListener, requestMessage } from '../../../support/raw-peer.js';

// Torrent.evictPiece(s): what goes to which peer, and what the receiving side does with a nohave.

/** 12 pieces of 2 blocks. */
const { meta, content } = makeMeta({
  pieceLength: 2 * BLOCK_LENGTH,
  files: [{ path: ['e.bin'], length: 12 * 2 * BLOCK_LENGTH }],
  seed: 'eviction',
});
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** A declared upstream puts ss_qos in the handshake, so 'peer-qos' tells when a handshake arrived. */
const QOS = { upstreamBps: 1_000_000 };

function rawHandshakeWith(m: Record<string, number>): Buffer {
  return encodeExtended(0, encode({ m, ss_qos: { upstream: 1 } }));
}

async function connectRaw(t: ExecutionContext, node: PeerNode, m: Record<string, number>): Promise<RawPeer> {
  const raw = await RawPeer.connect(t, node.port, {
    infoHash: meta.infoHash,
    pieceCount: meta.pieceCount,
    fast: true,
    extensions: true,
  });
  raw.send(rawHandshakeWith(m));
  await raw.waitFor('extended', (e) => e[1] === 0);
  return raw;
}

/** Collects the pieces of `node`'s 'nohave' events, checking at each one that availability already dropped. */
function nohaves(
  t: ExecutionContext,
  node: PeerNode,
): { pieces: number[]; until: (n: number) => Promise<unknown> } {
  const pieces: number[] = [];
  node.torrent.on('nohave', (peer: RemotePeer, lost: readonly number[]) => {
    for (const i of lost) {
      t.false(peer.have.has(i));
      t.is(node.torrent.table.availabilityOf(i), 0, `${node.name}: availability of ${i} at once`);
    }
    pieces.push(...lost);
  });
  return {
    pieces,
    until: (n) =>
      pieces.length >= n ? Promise.resolve() : waitForEvent(node.torrent, 'nohave', () => pieces.length >= n),
  };
}

test('evicting announces lt_donthave / range nohave to the peers that negotiated them, nothing to others', async (t) => {
  // Nobody holds piece 11, so nobody completes and every connection stays up.
  const held = range(0, 11);
  const a = await startNode(t, { name: 'a', meta, content, pieces: held, init: QOS });
  const ranged = await startNode(t, { name: 'ranged', meta, content, pieces: held, init: QOS });
  const plain = await startNode(t, {
    name: 'plain',
    meta,
    content,
    pieces: held,
    init: { ...QOS, rangeMessages: false },
  });
  let handshakes = 0;
  const aHeardAll = waitForEvent(a.torrent, 'peer-qos', () => ++handshakes === 4);
  const heardA = [ranged, plain].map((n) => waitForEvent(n.torrent, 'peer-qos'));
  ranged.torrent.addPeer('127.0.0.1', a.port);
  plain.torrent.addPeer('127.0.0.1', a.port);
  const ordinary = await connectRaw(t, a, {}); // BEP 10, but neither lt_donthave nor ss_range
  const donthave = await connectRaw(t, a, { lt_donthave: 9 }); // like libtorrent
  await Promise.all([aHeardAll, ...heardA]);
  const atRanged = nohaves(t, ranged);
  const atPlain = nohaves(t, plain);
  t.is(ranged.torrent.table.availabilityOf(3), 1);

  // As a bounded cache does: stop wanting them first, or a would fetch them back at once.
  a.torrent.setWanted([3, 5, 6, 7], false);
  t.deepEqual(
    await a.torrent.evictPieces([7, 3, 5, 6, 3, 11]),
    [3, 5, 6, 7],
    'only pieces held, once, sorted',
  );
  t.false(a.torrent.stored.has(3));
  t.false(a.storage.has(3));
  t.true(a.storage.has(4));
  await Promise.all([atRanged.until(4), atPlain.until(4)]);
  t.deepEqual(atRanged.pieces, [3, 5, 6, 7]);
  t.deepEqual(atPlain.pieces, [3, 5, 6, 7]);

  const out = (peerOf: (c: RemotePeer) => boolean) => a.connections.find(peerOf)!.stats.snapshot().out;
  // A lone piece as lt_donthave (10 bytes), the run 5..7 as one range nohave (15 bytes).
  const toRanged = out((c) => c.supports('ss_range'));
  t.deepEqual(toRanged['ext:lt_donthave'], { count: 1, bytes: 10 });
  t.deepEqual(toRanged['ext:ss_range'], { count: 1, bytes: 15 });
  const toPlain = out(
    (c) => c.supports('lt_donthave') && !c.supports('ss_range') && c.clientName === 'seedstream',
  );
  t.deepEqual(toPlain['ext:lt_donthave'], { count: 4, bytes: 40 });
  t.false('ext:ss_range' in toPlain);

  // The raw peer that negotiated lt_donthave gets BEP 54 frames under its own id 9.
  await donthave.waitUntil(
    () => donthave.events.filter((e) => e[0] === 'extended' && e[1] === 9).length === 4,
  );
  t.deepEqual(
    donthave.events.filter((e) => e[0] === 'extended' && e[1] !== 0),
    [3, 5, 6, 7].map((i) => ['extended', 9, encodeDontHave(i).toString('hex')]),
  );
  // The ordinary peer is told nothing; its request for an evicted piece gets a reject. Its reject
  // comes after anything a sent before, on the same connection.
  ordinary.send(requestMessage(5, 0, BLOCK_LENGTH));
  await ordinary.waitFor('reject', (e) => e[1] === 5);
  t.deepEqual(
    ordinary.events.filter((e) => e[0] === 'extended').map((e) => e[1]),
    [0],
  );
  t.is(a.torrent.protocolErrors + ranged.torrent.protocolErrors + plain.torrent.protocolErrors, 0);
});

test('a range peer that drops a piece we took from it learns that we hold it (the have we skipped)', async (t) => {
  // a lacks 10 and 11, b lacks 0 and 11: each downloads one piece from the other; nobody completes.
  const a = await startNode(t, { name: 'a', meta, content, pieces: range(0, 10) });
  const b = await startNode(t, { name: 'b', meta, content, pieces: range(1, 11) });
  const aGot10 = waitForEvent(a.torrent, 'piece', (i) => i === 10);
  const bGot0 = waitForEvent(b.torrent, 'piece', (i) => i === 0);
  b.torrent.addPeer('127.0.0.1', a.port);
  await Promise.all([aGot10, bGot0]);
  // Each had the other's new piece: no have went either way.
  for (const n of [a, b]) t.is(n.connections[0].stats.countOut[kindOf('have')], 0, n.name);

  // b drops 10 (still wanted): its nohave makes a announce 10, and b fetches it back from a.
  const again = waitForEvent(b.torrent, 'piece', (i) => i === 10);
  t.true(await b.torrent.evictPiece(10));
  await again;
  t.is(a.connections[0].stats.countOut[kindOf('have')], 1);
  t.is(b.connections[0].stats.snapshot().out['ext:lt_donthave']?.count, 1);
  t.true(b.torrent.stored.has(10));
});

test('receiving lt_donthave: availability drops, requests for the piece are released, interest kept', async (t) => {
  const leecher = await startNode(t, { name: 'leecher', meta, content });
  const connected = new Promise<RawPeer>((resolve) => {
    void rawListener(
      t,
      { infoHash: meta.infoHash, pieceCount: meta.pieceCount, fast: true, extensions: true },
      resolve,
    ).then(({ port }) => leecher.torrent.addPeer('127.0.0.1', port));
  });
  const fakeSeed = await connected;
  // A seed that never sends a block: the leecher's requests stay outstanding.
  fakeSeed.send(fullBitfield(meta.pieceCount), rawHandshakeWith({ lt_donthave: 4 }), UNCHOKE_FRAME);
  const firstRequest = await fakeSeed.waitFor('request');
  const piece = firstRequest[1] as number;
  const conn = leecher.connections[0];
  t.true([...conn.outstanding.keys()].some((k) => RemotePeer.pieceOfKey(k) === piece));
  t.true(conn.seed);

  const lost = waitForEvent<[RemotePeer, readonly number[]]>(leecher.torrent, 'nohave', (_p, pieces) => {
    // Checked at the event: the table and the connection are already updated.
    t.deepEqual(pieces, [piece]);
    t.false(conn.have.has(piece));
    t.false(conn.seed);
    t.is(leecher.torrent.table.availabilityOf(piece), 0);
    t.false([...conn.outstanding.keys()].some((k) => RemotePeer.pieceOfKey(k) === piece));
    const dl = leecher.torrent.table.downloads.get(piece);
    t.true(dl === undefined || dl.requester.every((r) => r === undefined), 'blocks released');
    return true;
  });
  const id = leecher.torrent.extensionRegistry.handshakeM().lt_donthave;
  fakeSeed.send(encodeExtended(id, encodeDontHave(piece)));
  await lost;
  t.true(conn.amInterested, 'the fake seed still has 11 pieces we need');
  t.is(leecher.torrent.protocolErrors, 0);
});
