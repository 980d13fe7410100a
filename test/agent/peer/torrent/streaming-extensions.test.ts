import test, { type ExecutionContext } from 'ava';
import { encode } from '../../../../agent/peer/bencode/index.js';
import type { RemotePeer } from '../../../../agent/peer/torrent/remote-peer.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { encodeExtended, INTERESTED_FRAME } from '../../../../agent/peer/wire/encoder.js';
import { encodeDontHave } from '../../../../agent/peer/wire/extensions/lt-donthave.js';
import { encodeQosMessage } from '../../../../agent/peer/wire/extensions/qos.js';
import { encodeRange } from '../../../../agent/peer/wire/extensions/range.js';
import { makeMeta } from '../../../support/fake-meta.js';
import {
  type PeerNode,
  startNode,
  storedContentEquals,
  waitForEvent,
  whenComplete,
  whenPeerClosedWith,
} from '../../../support/peer-node.js';
import { RawPeer, requestMessage } from '../../../support/raw-peer.js';

// Malformed ss_range / lt_donthave / ss_qos from a hand-driven peer, QoS declarations between our
// peers, and BEP 6 rejects for requests that cannot meet the requester's max response delay.

/** 12 pieces of 2 blocks. */
const { meta, content } = makeMeta({
  pieceLength: 2 * BLOCK_LENGTH,
  files: [{ path: ['x.bin'], length: 12 * 2 * BLOCK_LENGTH - 777 }],
  seed: 'streaming-extensions',
});

/** Every extension we speak, as a remote that speaks them all would list them. */
const REMOTE_M = { lt_donthave: 11, ss_range: 12, ss_qos: 13 };

const extendedHandshake = (fields: Record<string, unknown> = {}): Buffer =>
  encodeExtended(0, encode({ m: REMOTE_M, ...(fields as Record<string, never>) }));

/** An extension message to `node` under the extended id `node` assigned to `name`. */
function toNode(node: PeerNode, name: string, payload: Uint8Array): Buffer {
  const id = node.torrent.extensionRegistry.handshakeM()[name];
  if (id === undefined) throw new Error(`${node.name} does not speak ${name}`);
  return encodeExtended(id, payload);
}

async function connectRaw(t: ExecutionContext, node: PeerNode): Promise<RawPeer> {
  return RawPeer.connect(t, node.port, {
    infoHash: meta.infoHash,
    pieceCount: meta.pieceCount,
    fast: true,
    extensions: true,
  });
}

const qosRaw = (qos: string): Buffer => Buffer.from(qos, 'latin1');

interface HostileCase {
  readonly title: string;
  /** `partial` holds pieces 0 and 1 only. */
  readonly target: 'seed' | 'partial';
  readonly frames: (node: PeerNode) => Buffer[];
  readonly code: string;
}

const raw9 = (subtype: number, first: number, count: number, extra = 0): Buffer => {
  const b = Buffer.alloc(9 + extra);
  b[0] = subtype;
  b.writeUInt32BE(first, 1);
  b.writeUInt32BE(count, 5);
  return b;
};

const CASES: readonly HostileCase[] = [
  {
    title: 'a range have of zero pieces',
    target: 'partial',
    frames: (n) => [toNode(n, 'ss_range', raw9(0, 3, 0))],
    code: 'ERR_BAD_RANGE',
  },
  {
    title: 'a range nohave past the last piece',
    target: 'partial',
    frames: (n) => [toNode(n, 'ss_range', raw9(1, meta.pieceCount - 2, 3))],
    code: 'ERR_BAD_RANGE',
  },
  {
    title: 'a range request whose count overflows 32 bits with first',
    target: 'seed',
    frames: (n) => [toNode(n, 'ss_range', raw9(2, 4, 0xffff_ffff))],
    code: 'ERR_BAD_RANGE',
  },
  {
    title: 'a range request with a trailing byte',
    target: 'seed',
    frames: (n) => [toNode(n, 'ss_range', raw9(2, 0, 1, 1))],
    code: 'ERR_BAD_RANGE',
  },
  {
    title: 'an empty ss_range message',
    target: 'seed',
    frames: (n) => [toNode(n, 'ss_range', Buffer.alloc(0))],
    code: 'ERR_BAD_RANGE',
  },
  {
    title: 'a range request for pieces it never had',
    target: 'partial',
    frames: (n) => [toNode(n, 'ss_range', encodeRange('request', 1, 2))],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'an lt_donthave of three bytes',
    target: 'seed',
    frames: (n) => [toNode(n, 'lt_donthave', Buffer.from([0, 0, 1]))],
    code: 'ERR_BAD_DONTHAVE',
  },
  {
    title: 'an lt_donthave for a piece index out of range',
    target: 'partial',
    frames: (n) => [toNode(n, 'lt_donthave', encodeDontHave(meta.pieceCount))],
    code: 'ERR_BAD_DONTHAVE',
  },
  {
    title: 'an ss_qos message that is not a dictionary',
    target: 'seed',
    frames: (n) => [toNode(n, 'ss_qos', qosRaw('i5e'))],
    code: 'ERR_BAD_QOS',
  },
  {
    title: 'an ss_qos handshake key with a negative delay',
    target: 'seed',
    frames: () => [encodeExtended(0, encode({ m: REMOTE_M, ss_qos: { max_delay: -5 } }))],
    code: 'ERR_BAD_QOS',
  },
];

for (const c of CASES) {
  test(`${c.title}: ${c.code}, disconnected and counted; the torrent stays healthy`, async (t) => {
    const target =
      c.target === 'seed'
        ? await startNode(t, { name: 'seed', meta, content, pieces: 'all' })
        : await startNode(t, { name: 'partial', meta, content, pieces: [0, 1] });
    const raw = await connectRaw(t, target);
    raw.send(extendedHandshake(), ...c.frames(target));
    const closed = await whenPeerClosedWith(target, c.code);
    t.is((closed.error as { code?: string }).code, c.code);
    await raw.whenClosed();
    t.is(target.torrent.protocolErrors, 1);
    t.is(target.torrent.failure, undefined);
    // Still serving: an honest leecher gets what the target holds.
    const honest = await startNode(t, { name: 'honest', meta, content });
    honest.torrent.addPeer('127.0.0.1', target.port);
    if (c.target === 'seed') {
      await whenComplete(honest);
      t.true(await storedContentEquals(honest, content));
    } else {
      let n = 0;
      await waitForEvent(honest.torrent, 'piece', () => ++n === 2);
    }
  });
}

/** 8 pieces of 4 MiB: 2048 blocks, more than MAX_QUEUED_REQUESTS. */
const huge = makeMeta({
  pieceLength: 256 * BLOCK_LENGTH,
  files: [{ path: ['h.bin'], length: 8 * 4 * 1_048_576 }],
  seed: 'huge',
});

test('a range request for more blocks than our reqq (2000) is a flood: ERR_FLOOD, nothing queued', async (t) => {
  const seed = await startNode(t, { name: 'seed', ...huge, pieces: 'all' });
  const raw = await RawPeer.connect(t, seed.port, {
    infoHash: huge.meta.infoHash,
    pieceCount: huge.meta.pieceCount,
    fast: true,
    extensions: true,
  });
  raw.send(extendedHandshake(), INTERESTED_FRAME, toNode(seed, 'ss_range', encodeRange('request', 0, 8)));
  await whenPeerClosedWith(seed, 'ERR_FLOOD');
  t.is(seed.torrent.protocolErrors, 1);
  t.is(seed.torrent.uploaded, 0);
  // Seven pieces (1792 blocks) would have been fine: the bound is on blocks, not on pieces.
  const ok = await RawPeer.connect(t, seed.port, {
    infoHash: huge.meta.infoHash,
    pieceCount: huge.meta.pieceCount,
    fast: true,
    extensions: true,
  });
  ok.send(extendedHandshake(), toNode(seed, 'ss_range', encodeRange('request', 0, 7)));
  // Choked (never interested): every block not allowed-fast is rejected, each one answered.
  await ok.waitUntil(() => ok.events.filter((e) => e[0] === 'reject' || e[0] === 'piece').length === 7 * 256);
  t.is(seed.torrent.protocolErrors, 1);
});

test('ss_qos: require and upstream capacity travel in the handshake, changes as a message', async (t) => {
  const a = await startNode(t, {
    name: 'a',
    meta,
    content,
    pieces: [0],
    init: { require: { minBitrateBitsPerSec: 2_000_000, maxDelayMs: 800 }, upstreamBps: 500_000 },
  });
  const b = await startNode(t, { name: 'b', meta, content, pieces: [1] });
  const declared = waitForEvent<[RemotePeer]>(b.torrent, 'peer-qos');
  const changed = waitForEvent<[RemotePeer]>(b.torrent, 'peer-qos', (p) => p.qos.maxDelayMs === 300);
  // Changed as soon as a's handshake went out, before b's reached a: a sends the update when it does.
  a.torrent.once('peer', () => a.torrent.setRequirement({ maxDelayMs: 300 }));
  b.torrent.addPeer('127.0.0.1', a.port);
  const [peer] = await declared;
  t.deepEqual(peer.qos, { minBitrateBitsPerSec: 2_000_000, maxDelayMs: 800, upstreamBytesPerSec: 500_000 });
  await changed;
  t.deepEqual(peer.qos, { maxDelayMs: 300, upstreamBytesPerSec: 500_000 });
  t.deepEqual(a.torrent.localQos, peer.qos);
  const updateBytes = 6 + encodeQosMessage({ maxDelayMs: 300, upstreamBytesPerSec: 500_000 }).length;
  t.deepEqual(b.connections[0].stats.snapshot().in['ext:ss_qos'], { count: 1, bytes: updateBytes });
  // b declared nothing: its handshake had no ss_qos, so a holds no values for it.
  t.deepEqual(a.connections[0].qos, {});
});

test('a request that cannot meet the remote max response delay is rejected (BEP 6); others are served', async (t) => {
  // 16 KiB/s declared: a block takes a second to send; with 1.5 s allowed, one fits in the queue.
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    init: { upstreamBps: BLOCK_LENGTH },
  });
  const hurried = await connectRaw(t, seed);
  hurried.send(extendedHandshake({ ss_qos: { max_delay: 1_500 } }), INTERESTED_FRAME);
  await hurried.waitFor('unchoke');
  t.deepEqual(seed.connections[0].qos, { maxDelayMs: 1_500 });
  const four = [requestMessage(2, 0, BLOCK_LENGTH), requestMessage(2, BLOCK_LENGTH, BLOCK_LENGTH)];
  four.push(requestMessage(3, 0, BLOCK_LENGTH), requestMessage(3, BLOCK_LENGTH, BLOCK_LENGTH));
  hurried.send(Buffer.concat(four));
  const answers = (p: RawPeer): string[] =>
    p.events.filter((e) => e[0] === 'piece' || e[0] === 'reject').map((e) => `${e[0]} ${e[1]}/${e[2]}`);
  await hurried.waitUntil(() => answers(hurried).length === 4);
  // Rejects go out at once, the block once read: compare as sets.
  t.deepEqual(answers(hurried).sort(), ['piece 2/0', 'reject 2/16384', 'reject 3/0', 'reject 3/16384']);

  // The same four requests from a peer that declared no delay: all served.
  const patient = await connectRaw(t, seed);
  patient.send(extendedHandshake(), INTERESTED_FRAME);
  await patient.waitFor('unchoke');
  patient.send(Buffer.concat(four));
  await patient.waitUntil(() => answers(patient).length === 4);
  t.is(patient.events.filter((e) => e[0] === 'piece').length, 4);
  t.is(seed.torrent.protocolErrors, 0);
});
