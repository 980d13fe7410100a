import test from 'ava';
import { kindOf, MESSAGE_KINDS, type MessageStats } from '../../../../agent/peer/accounting/message-stats.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { PIECE_HEADER_LENGTH } from '../../../../agent/peer/wire/encoder.js';
import { makeMeta } from '../../../support/fake-meta.js';
import {
  blockCount,
  type PeerNode,
  startNode,
  storedContentEquals,
  waitForEvent,
  whenComplete,
} from '../../../support/peer-node.js';

// Real TCP on 127.0.0.1 between Torrents of our own: a seed and leechers, full content checks.

/** 31 pieces of 2 blocks; the last piece is 1 full block and 579 bytes. */
const { meta, content } = makeMeta({
  pieceLength: 2 * BLOCK_LENGTH,
  files: [{ path: ['swarm.bin'], length: 1_000_003 }],
  seed: 'swarm',
});
const ALL_PIECES = [...Array(meta.pieceCount).keys()];
const TOTAL_BLOCKS = blockCount(meta, ALL_PIECES, BLOCK_LENGTH);

function sumOf(
  stats: readonly MessageStats[],
  field: 'countIn' | 'bytesIn' | 'countOut' | 'bytesOut',
): number[] {
  const out = new Array<number>(stats[0]?.[field].length ?? 0).fill(0);
  for (const s of stats) for (let i = 0; i < out.length; i++) out[i] += s[field][i];
  return out;
}

/** Per-connection accounting adds up to the torrent's totals, in both directions. */
function assertAccountingConsistent(t: import('ava').ExecutionContext, node: PeerNode): void {
  const per = node.connections.map((c) => c.stats);
  for (const field of ['countIn', 'bytesIn', 'countOut', 'bytesOut'] as const) {
    t.deepEqual(sumOf(per, field), [...node.torrent.stats[field]], `${node.name}: ${field}`);
  }
  const piece = kindOf('piece');
  const s = node.torrent.stats;
  // Every piece byte received was either useful payload or waste; each message has a 13-byte header.
  t.is(
    s.bytesIn[piece],
    node.torrent.downloaded + node.torrent.wastedBytes + PIECE_HEADER_LENGTH * s.countIn[piece],
    `${node.name}: piece bytes in`,
  );
  t.is(s.bytesIn[kindOf('handshake')], 68 * node.connections.length);
}

test('one seed and four leechers: every leecher completes with byte-identical content', async (t) => {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leechers: PeerNode[] = [];
  for (let i = 0; i < 4; i++) leechers.push(await startNode(t, { name: `leech${i}`, meta, content }));
  for (const [i, l] of leechers.entries()) {
    l.torrent.addPeer('127.0.0.1', seed.port);
    // Each leecher also dials the ones before it, so pieces flow between leechers too.
    for (const other of leechers.slice(0, i)) l.torrent.addPeer('127.0.0.1', other.port);
  }
  await Promise.all(leechers.map((l) => whenComplete(l)));
  for (const l of leechers) {
    t.true(await storedContentEquals(l, content), `${l.name} content`);
    t.is(l.torrent.downloaded, meta.length, `${l.name} downloaded each byte once`);
    t.is(l.torrent.protocolErrors, 0);
    t.is(l.torrent.hashFailures, 0);
    t.true(l.torrent.complete);
  }
  t.is(seed.torrent.protocolErrors, 0);
  // Every leecher got every byte from someone (end-game duplicates may add a little more).
  const uploaded = [seed, ...leechers].reduce((sum, n) => sum + n.torrent.uploaded, 0);
  t.true(uploaded >= 4 * meta.length, `uploaded ${uploaded}`);
  for (const node of [seed, ...leechers]) assertAccountingConsistent(t, node);
});

test('a leecher resumes from half-filled storage and downloads only what it lacks', async (t) => {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const half = ALL_PIECES.filter((i) => i % 2 === 0);
  const missing = ALL_PIECES.filter((i) => i % 2 === 1);
  const leecher = await startNode(t, { name: 'resumer', meta, content, pieces: half });
  t.is(leecher.torrent.stored.count, half.length);
  t.is(
    leecher.torrent.left,
    missing.reduce((sum, i) => sum + Math.min(meta.pieceLength, meta.length - i * meta.pieceLength), 0),
  );
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content));
  t.is(
    leecher.torrent.downloaded,
    meta.length -
      half.reduce((sum, i) => sum + Math.min(meta.pieceLength, meta.length - i * meta.pieceLength), 0),
  );
  t.is(leecher.torrent.stats.countIn[kindOf('piece')], blockCount(meta, missing, BLOCK_LENGTH));
  t.is(leecher.torrent.left, 0);
});

test('a resumed leecher serves its half to a newcomer while fetching the rest', async (t) => {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const resumer = await startNode(t, { name: 'resumer', meta, content, pieces: ALL_PIECES.slice(0, 16) });
  const newcomer = await startNode(t, { name: 'newcomer', meta, content });
  resumer.torrent.addPeer('127.0.0.1', seed.port);
  newcomer.torrent.addPeer('127.0.0.1', resumer.port);
  newcomer.torrent.addPeer('127.0.0.1', seed.port);
  await Promise.all([whenComplete(resumer), whenComplete(newcomer)]);
  t.true(await storedContentEquals(newcomer, content));
  t.true(await storedContentEquals(resumer, content));
});

for (const side of ['leecher', 'seed'] as const) {
  test(`fast extension off on the ${side} side: plain BEP 3 still completes`, async (t) => {
    const off = { fast: false };
    const seed = await startNode(t, {
      name: 'seed',
      meta,
      content,
      pieces: 'all',
      init: side === 'seed' ? off : {},
    });
    const leecher = await startNode(t, {
      name: 'leecher',
      meta,
      content,
      init: side === 'leecher' ? off : {},
    });
    leecher.torrent.addPeer('127.0.0.1', seed.port);
    await whenComplete(leecher);
    t.true(await storedContentEquals(leecher, content));
    t.false(leecher.connections[0].fast);
    t.false(seed.connections[0].fast);
    // No BEP 6 message crossed the wire: the seed announced itself with a bitfield.
    const fastKinds = ['have_all', 'have_none', 'suggest', 'reject', 'allowed_fast'];
    for (const node of [seed, leecher]) {
      t.is(
        node.torrent.stats.bytesOf('in', fastKinds) + node.torrent.stats.bytesOf('out', fastKinds),
        0,
        node.name,
      );
    }
    t.is(leecher.torrent.stats.countIn[kindOf('bitfield')], 1);
  });
}

test('with the fast extension on both sides, the seed sends have-all and allowed-fast', async (t) => {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leecher = await startNode(t, { name: 'leecher', meta, content });
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.true(leecher.connections[0].fast);
  t.is(leecher.torrent.stats.countIn[kindOf('have_all')], 1);
  t.is(leecher.torrent.stats.countIn[kindOf('bitfield')], 0);
  t.is(leecher.torrent.stats.countIn[kindOf('allowed_fast')], 10);
  t.is(seed.torrent.stats.countIn[kindOf('have_none')], 1);
});

test('extension protocol off: no extended messages, and the download completes', async (t) => {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leecher = await startNode(t, { name: 'leecher', meta, content, init: { extensionProtocol: false } });
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content));
  t.false(leecher.connections[0].extensions);
  t.false(seed.connections[0].extensions);
  for (const node of [seed, leecher]) {
    const snap = node.torrent.stats.snapshot();
    t.false('extended_handshake' in snap.in || 'extended_handshake' in snap.out, node.name);
  }
});

test('accounting: per-connection totals add up, and piece bytes are content + 13 per block', async (t) => {
  // BEP 3 requests only: range requests (ss_range) are accounted in range-messages.test.ts.
  const init = { rangeMessages: false };
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all', init });
  const leecher = await startNode(t, { name: 'leecher', meta, content, init });
  const seedSawClose = waitForEvent(seed.torrent, 'peer-closed');
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  // The leecher, now complete, drops the seed; wait until the seed saw it, so its counts are final.
  await seedSawClose;
  const piece = kindOf('piece');
  const request = kindOf('request');
  const wire = meta.length + PIECE_HEADER_LENGTH * TOTAL_BLOCKS;
  t.is(leecher.torrent.stats.countIn[piece], TOTAL_BLOCKS);
  t.is(leecher.torrent.stats.bytesIn[piece], wire);
  t.is(seed.torrent.stats.countOut[piece], TOTAL_BLOCKS);
  t.is(seed.torrent.stats.bytesOut[piece], wire);
  t.is(leecher.torrent.stats.countOut[request], TOTAL_BLOCKS);
  t.is(seed.torrent.stats.countIn[request], TOTAL_BLOCKS);
  t.is(leecher.torrent.stats.bytesOut[request], 17 * TOTAL_BLOCKS);
  t.is(leecher.torrent.wastedBytes, 0);
  t.is(leecher.torrent.downloaded, meta.length);
  t.is(seed.torrent.uploaded, meta.length);
  // What one side sent, the other received, kind by kind.
  const leecherIn = leecher.torrent.stats.snapshot().in;
  const seedOut = seed.torrent.stats.snapshot().out;
  for (const kind of MESSAGE_KINDS) t.deepEqual(leecherIn[kind], seedOut[kind], `seed -> leecher ${kind}`);
  for (const node of [seed, leecher]) assertAccountingConsistent(t, node);
});

test('a leecher that completed remembers the seed it knew as a seed (it is not dialled again)', async (t) => {
  const { meta, content } = makeMeta({
    pieceLength: 16_384,
    files: [{ path: ['c.bin'], length: 262_144 }],
    seed: 31,
  });
  const seed = await startNode(t, { name: 'seed-x', meta, content, pieces: 'all' });
  const leech = await startNode(t, { name: 'leech-x', meta, content });
  leech.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leech);
  const known = leech.torrent.knownPeers().find((k) => k.port === seed.port);
  t.truthy(known);
  t.true(known!.seed, 'the seed is remembered as a seed, which #connectKnown skips once complete');
});
