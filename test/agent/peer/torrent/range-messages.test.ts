import test, { type ExecutionContext } from 'ava';
import { kindOf } from '../../../../agent/peer/accounting/message-stats.js';
import { pieceSize } from '../../../../agent/peer/storage/storage.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { makeMeta } from '../../../support/fake-meta.js';
import {
  type PeerNode,
  startNode,
  storedContentEquals,
  waitForEvent,
  whenComplete,
} from '../../../support/peer-node.js';

// Our own peers with the ss_range extension (EXTENSIONS.md) over real TCP on 127.0.0.1.

/** The have/request overhead of a transfer: every kind that announces or asks for pieces. */
const OVERHEAD_KINDS = ['have', 'request', 'ext:ss_range', 'ext:lt_donthave'];

/** The experiments' piece size: 256 KiB, 16 blocks. */
const big = makeMeta({
  pieceLength: 16 * BLOCK_LENGTH,
  files: [{ path: ['stream.bin'], length: 40 * 256 * 1024 - 1234 }],
  seed: 'range-big',
});

async function transfer(
  t: ExecutionContext,
  rangeMessages: boolean,
): Promise<{ seed: PeerNode; leecher: PeerNode }> {
  const init = { rangeMessages };
  const seed = await startNode(t, { name: `seed-${rangeMessages}`, ...big, pieces: 'all', init });
  const leecher = await startNode(t, { name: `leecher-${rangeMessages}`, ...big, init });
  const seedSawClose = waitForEvent(seed.torrent, 'peer-closed');
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  await seedSawClose;
  t.true(await storedContentEquals(leecher, big.content), 'content');
  t.is(leecher.torrent.downloaded, big.meta.length);
  t.is(leecher.torrent.protocolErrors + seed.torrent.protocolErrors, 0);
  return { seed, leecher };
}

test('range have and range request cut have+request bytes by at least 90% on the same transfer', async (t) => {
  const plain = await transfer(t, false);
  const ranged = await transfer(t, true);
  t.true(ranged.leecher.connections[0].supports('ss_range'));
  t.false(plain.leecher.connections[0].supports('ss_range'));
  t.is(plain.leecher.torrent.stats.bytesOf('out', ['ext:ss_range']), 0);

  const overhead = (n: PeerNode): number =>
    n.torrent.stats.bytesOf('out', OVERHEAD_KINDS) + n.torrent.stats.bytesOf('in', OVERHEAD_KINDS);
  const before = overhead(plain.leecher);
  const after = overhead(ranged.leecher);
  t.log(`have+request bytes: ${before} with BEP 3 messages, ${after} with ss_range`);
  t.true(after <= 0.1 * before, `${after} > 10% of ${before}`);
  // Both sides count the same bytes: what the leecher sent, the seed received.
  t.is(overhead(ranged.seed), after);

  // The range requests were served as ordinary piece messages, every block once.
  const blocks = Math.ceil(big.meta.length / BLOCK_LENGTH);
  t.is(ranged.leecher.torrent.stats.countIn[kindOf('piece')], blocks);
  t.true(ranged.leecher.torrent.stats.countOut[kindOf('request')] < blocks / 4);
});

/** 12 pieces of 2 blocks. */
const small = makeMeta({
  pieceLength: 2 * BLOCK_LENGTH,
  files: [{ path: ['s.bin'], length: 12 * 2 * BLOCK_LENGTH }],
  seed: 'range-small',
});

function pieceOf(index: number): Buffer {
  const start = index * small.meta.pieceLength;
  return small.content.subarray(start, start + pieceSize(small.meta, index));
}

/** Resolves once `node` stored `count` pieces (counting from now). */
function storedPieces(node: PeerNode, count: number): Promise<unknown> {
  let seen = 0;
  return waitForEvent(node.torrent, 'piece', () => ++seen === count);
}

test('pieces stored in one turn reach ss_range peers as one range have, plain peers as BEP 3 haves', async (t) => {
  // A declared upstream puts ss_qos in every extended handshake: its 'peer-qos' event tells us
  // that the handshake (and so the remote's `m`) arrived.
  const upstreamBps = 1_000_000;
  const source = await startNode(t, { name: 'source', ...small, init: { upstreamBps } });
  const ranged = await startNode(t, { name: 'ranged', ...small, init: { upstreamBps } });
  const plain = await startNode(t, { name: 'plain', ...small, init: { upstreamBps, rangeMessages: false } });
  let sourceHandshakes = 0;
  const handshakes = Promise.all([
    waitForEvent(source.torrent, 'peer-qos', () => ++sourceHandshakes === 2),
    waitForEvent(ranged.torrent, 'peer-qos'),
    waitForEvent(plain.torrent, 'peer-qos'),
  ]);
  ranged.torrent.addPeer('127.0.0.1', source.port);
  plain.torrent.addPeer('127.0.0.1', source.port);
  await handshakes;
  const rangedGot = storedPieces(ranged, 8);
  const plainGot = storedPieces(plain, 8);
  // Eight pieces from outside the wire (as a media server delivers them), in one turn.
  for (let i = 0; i < 8; i++) {
    t.true(source.torrent.claimExternal('test', i));
    t.true(source.torrent.deliverExternal('test', 'media-server', i, pieceOf(i)));
  }
  await Promise.all([rangedGot, plainGot]);
  const rangedIn = ranged.connections[0].stats;
  t.is(rangedIn.countIn[kindOf('have')], 0);
  t.deepEqual(rangedIn.snapshot().in['ext:ss_range'], { count: 1, bytes: 15 }, 'one range have for 0..7');
  const plainIn = plain.connections[0].stats;
  t.is(plainIn.countIn[kindOf('have')], 8);
  t.false('ext:ss_range' in plainIn.snapshot().in);
  t.is(plainIn.countIn[kindOf('extended_handshake')], 1);
  // The ranged peer asked with range requests, and did not announce back what the source has.
  const atSource = source.connections.find((c) => c.supports('ss_range'))!;
  t.is(atSource.stats.countIn[kindOf('request')], 0);
  t.is(atSource.stats.countIn[kindOf('have')], 0);
  const rangeIn = atSource.stats.snapshot().in['ext:ss_range'];
  t.true(rangeIn !== undefined && rangeIn.count >= 1 && rangeIn.count <= 8, JSON.stringify(rangeIn));
  // The plain peer was never sent an ss_range message and got BEP 3 requests' answers.
  const plainAtSource = source.connections.find((c) => !c.supports('ss_range'))!;
  t.false('ext:ss_range' in plainAtSource.stats.snapshot().out);
  t.is(plainAtSource.stats.countIn[kindOf('request')], 16);
  t.is(source.torrent.protocolErrors + ranged.torrent.protocolErrors + plain.torrent.protocolErrors, 0);
});

for (const rangeHaveDelayMs of [0, 1_000]) {
  const title =
    rangeHaveDelayMs === 0 ? 'two range haves by default' : 'one range have within rangeHaveDelayMs';
  test(`pieces stored in two timer turns: ${title}`, async (t) => {
    const upstreamBps = 1_000_000;
    const source = await startNode(t, { name: 'source', ...small, init: { upstreamBps, rangeHaveDelayMs } });
    const ranged = await startNode(t, { name: 'ranged', ...small, init: { upstreamBps } });
    const handshakes = Promise.all([
      waitForEvent(source.torrent, 'peer-qos'),
      waitForEvent(ranged.torrent, 'peer-qos'),
    ]);
    ranged.torrent.addPeer('127.0.0.1', source.port);
    await handshakes;
    const deliver = (pieces: number[]): void => {
      for (const i of pieces) {
        source.torrent.claimExternal('test', i);
        source.torrent.deliverExternal('test', 'media-server', i, pieceOf(i));
      }
    };
    // The ranged peer can fetch a piece only once it heard of it: all 8 fetched, all 8 announced.
    const fetched = storedPieces(ranged, 8);
    deliver([0, 1, 2, 3]);
    // A timer fires after the turn's check phase, where the default flush runs.
    setTimeout(() => deliver([4, 5, 6, 7]), 0);
    await fetched;
    const expected = rangeHaveDelayMs === 0 ? 2 : 1;
    const out = source.connections[0].stats.snapshot().out;
    t.deepEqual(out['ext:ss_range'], { count: expected, bytes: 15 * expected });
    t.false('have' in out);
  });
}
