import { once } from 'node:events';
import { connect } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { kindOf } from '../../../../agent/peer/accounting/message-stats.js';
import { encode } from '../../../../agent/peer/bencode/index.js';
import { pieceSize } from '../../../../agent/peer/storage/storage.js';
import { MAX_QUEUED_REQUESTS, MAX_UNREQUESTED_BLOCKS } from '../../../../agent/peer/torrent/torrent.js';
import { BLOCK_LENGTH, MAX_REQUEST_LENGTH, MessageId } from '../../../../agent/peer/wire/constants.js';
import {
  encodeBitfield,
  encodeExtended,
  encodeHave,
  HAVE_ALL_FRAME,
  HAVE_NONE_FRAME,
  INTERESTED_FRAME,
  UNCHOKE_FRAME,
} from '../../../../agent/peer/wire/encoder.js';
import { makeMeta } from '../../../support/fake-meta.js';
import {
  type PeerNode,
  startNode,
  storedContentEquals,
  waitForEvent,
  whenComplete,
  whenPeerClosedWith,
} from '../../../support/peer-node.js';
import {
  fullBitfield,
  pieceMessage,
  RawPeer,
  rawListener,
  requestMessage,
} from '../../../support/raw-peer.js';

// A raw TCP client (or listener) speaking the wire protocol by hand against our Torrent. Every
// case checks that the offender is disconnected with the right error code, counted, and that an
// honest download running at the same time still completes.

/** 7 pieces of 2 blocks; the last piece is shorter. */
const { meta, content } = makeMeta({
  pieceLength: 2 * BLOCK_LENGTH,
  files: [{ path: ['hostile.bin'], length: 200_000 }],
  seed: 'hostile',
});
const LAST = meta.pieceCount - 1;

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/** A seed and an honest leecher downloading from it. */
async function honestSwarm(t: ExecutionContext): Promise<{ seed: PeerNode; leecher: PeerNode }> {
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leecher = await startNode(t, { name: 'honest', meta, content });
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  return { seed, leecher };
}

/** The honest leecher completes with the right bytes; nobody failed; no unhandled rejection. */
async function assertHealthy(t: ExecutionContext, leecher: PeerNode, ...others: PeerNode[]): Promise<void> {
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content), 'the honest leecher has the right content');
  for (const node of [leecher, ...others]) t.is(node.torrent.failure, undefined, `${node.name} failed`);
  t.deepEqual(unhandled, []);
}

function header(length: number, id: number): Buffer {
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(length, 0);
  frame[4] = id;
  return frame;
}

interface HostileCase {
  readonly title: string;
  /** Which torrent the raw peer connects to: `partial` holds pieces 0 and 1 and never downloads. */
  readonly target: 'seed' | 'leecher' | 'partial';
  readonly fast?: boolean;
  readonly extensions?: boolean;
  readonly frames: () => Buffer[];
  readonly code: string;
}

const CASES: readonly HostileCase[] = [
  {
    title: 'a huge length prefix (piece)',
    target: 'seed',
    frames: () => [header(0xfffffff0, MessageId.piece)],
    code: 'ERR_MESSAGE_TOO_LARGE',
  },
  {
    title: 'a huge length prefix (unknown id)',
    target: 'leecher',
    frames: () => [header(0x10000000, 0x77)],
    code: 'ERR_MESSAGE_TOO_LARGE',
  },
  {
    title: 'a huge extended message',
    target: 'seed',
    extensions: true,
    frames: () => [header(64 * 1_048_576, MessageId.extended)],
    code: 'ERR_MESSAGE_TOO_LARGE',
  },
  // A later bitfield is accepted (aria2 sends one in place of many haves) but still checked.
  {
    title: 'a later bitfield of the wrong length',
    target: 'seed',
    frames: () => [INTERESTED_FRAME, encodeBitfield(Buffer.alloc(5))],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'a second bitfield with spare bits set',
    target: 'leecher',
    frames: () => [fullBitfield(meta.pieceCount), encodeBitfield(Buffer.from([0xff]))],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'a bitfield with spare bits set',
    target: 'leecher',
    frames: () => [encodeBitfield(Buffer.from([0xff]))],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'a bitfield of the wrong length',
    target: 'seed',
    frames: () => [encodeBitfield(Buffer.alloc(5))],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'have with a piece index out of range',
    target: 'seed',
    frames: () => [encodeHave(meta.pieceCount)],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'have with index 2^32-1 to a leecher',
    target: 'leecher',
    frames: () => [encodeHave(0xffffffff)],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'have all without the fast extension',
    target: 'seed',
    frames: () => [HAVE_ALL_FRAME],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'have none after a bitfield (fast)',
    target: 'leecher',
    fast: true,
    frames: () => [fullBitfield(meta.pieceCount), HAVE_NONE_FRAME],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'an extended message without BEP 10',
    target: 'seed',
    frames: () => [encodeExtended(0, encode({ m: {} }))],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'a malformed extended handshake',
    target: 'leecher',
    extensions: true,
    frames: () => [encodeExtended(0, Buffer.from('d1:mi1e'))],
    code: 'ERR_BAD_MESSAGE',
  },
  {
    title: 'a request for a piece it never had',
    target: 'partial',
    frames: () => [requestMessage(2, 0, BLOCK_LENGTH)],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'a request beyond the end of a piece',
    target: 'seed',
    frames: () => [requestMessage(0, 2 * BLOCK_LENGTH - 100, BLOCK_LENGTH)],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'a request beyond the end of the short last piece',
    target: 'seed',
    frames: () => [requestMessage(LAST, 0, pieceSize(meta, LAST) + 1)],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'an oversized request',
    target: 'seed',
    frames: () => [requestMessage(0, 0, MAX_REQUEST_LENGTH + 1)],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'a zero-length request',
    target: 'seed',
    frames: () => [requestMessage(1, 0, 0)],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'a request for a piece index out of range',
    target: 'seed',
    frames: () => [requestMessage(meta.pieceCount, 0, BLOCK_LENGTH)],
    code: 'ERR_BAD_REQUEST',
  },
  {
    title: 'a flood of unrequested blocks to a seed',
    target: 'seed',
    frames: () =>
      Array.from({ length: MAX_UNREQUESTED_BLOCKS + 5 }, (_, i) =>
        pieceMessage(i % meta.pieceCount, 0, Buffer.alloc(64)),
      ),
    code: 'ERR_FLOOD',
  },
  {
    title: 'a flood of unrequested blocks to a leecher',
    target: 'leecher',
    frames: () =>
      Array.from({ length: MAX_UNREQUESTED_BLOCKS + 5 }, (_, i) =>
        pieceMessage(i % meta.pieceCount, BLOCK_LENGTH, Buffer.alloc(BLOCK_LENGTH, 0x55)),
      ),
    code: 'ERR_FLOOD',
  },
];

for (const c of CASES) {
  test(`${c.title}: ${c.code}, and the torrent stays healthy`, async (t) => {
    const { seed, leecher } = await honestSwarm(t);
    const target =
      c.target === 'seed'
        ? seed
        : c.target === 'leecher'
          ? leecher
          : await startNode(t, { name: 'partial', meta, content, pieces: [0, 1] });
    const raw = await RawPeer.connect(t, target.port, {
      infoHash: meta.infoHash,
      pieceCount: meta.pieceCount,
      fast: c.fast,
      extensions: c.extensions,
    });
    const localPort = raw.socket.localPort!;
    const closed = whenPeerClosedWith(target, c.code);
    raw.send(...c.frames());
    const event = await closed;
    t.is((event.error as { code?: string }).code, c.code);
    t.is(event.port, localPort);
    await raw.whenClosed();
    t.true(target.torrent.protocolErrors >= 1);
    t.false(target.torrent.peers.some((p) => p.port === localPort));
    await assertHealthy(t, leecher, seed);
  });
}

test('an extended handshake before the have all (as libtorrent sends it) is accepted', async (t) => {
  const partial = await startNode(t, { name: 'partial', meta, content, pieces: [0, 1] });
  const raw = await RawPeer.connect(t, partial.port, {
    infoHash: meta.infoHash,
    pieceCount: meta.pieceCount,
    fast: true,
    extensions: true,
  });
  raw.send(encodeExtended(0, encode({ m: {}, v: 'raw 1.0' })), HAVE_ALL_FRAME);
  await raw.waitFor('interested');
  t.is(partial.torrent.peers[0]?.clientName, 'raw 1.0');
  t.is(partial.torrent.protocolErrors, 0);
});

test('a later bitfield or have all (aria2 sends them in place of many haves) only adds pieces', async (t) => {
  const partial = await startNode(t, { name: 'partial', meta, content, pieces: [0, 1] });
  const raw = await RawPeer.connect(t, partial.port, {
    infoHash: meta.infoHash,
    pieceCount: meta.pieceCount,
    fast: true,
  });
  const localPort = raw.socket.localPort!;
  const remote = () => partial.torrent.peers.find((p) => p.port === localPort);
  raw.send(HAVE_NONE_FRAME, encodeHave(1), encodeBitfield(Buffer.from([0b0011_0000])));
  await raw.waitFor('interested');
  t.deepEqual([...(remote()?.have.indices() ?? [])], [1, 2, 3]);
  raw.send(HAVE_ALL_FRAME, UNCHOKE_FRAME);
  // Pieces 4..6 are known only from the have all.
  await raw.waitFor('request', (e) => (e[1] as number) >= 4);
  t.is(remote()?.have.count, meta.pieceCount);
  t.is(partial.torrent.protocolErrors, 0);
  t.false(raw.destroyed);
});

test('a flood of requests beyond MAX_QUEUED_REQUESTS without the fast extension: ERR_FLOOD', async (t) => {
  const { seed, leecher } = await honestSwarm(t);
  const raw = await RawPeer.connect(t, seed.port, { infoHash: meta.infoHash, pieceCount: meta.pieceCount });
  raw.send(INTERESTED_FRAME);
  await raw.waitFor('unchoke');
  const closed = whenPeerClosedWith(seed, 'ERR_FLOOD');
  // Three times the limit in one write: whatever the socket's chunking, one chunk exceeds it.
  const flood = Array.from({ length: 3 * MAX_QUEUED_REQUESTS }, (_, i) =>
    requestMessage(i % meta.pieceCount, 0, 1),
  );
  raw.send(Buffer.concat(flood));
  await closed;
  await raw.whenClosed();
  t.true(seed.torrent.protocolErrors >= 1);
  await assertHealthy(t, leecher, seed);
});

test('the same flood with the fast extension is answered with rejects, not a disconnect', async (t) => {
  const { seed, leecher } = await honestSwarm(t);
  const raw = await RawPeer.connect(t, seed.port, {
    infoHash: meta.infoHash,
    pieceCount: meta.pieceCount,
    fast: true,
  });
  raw.send(HAVE_NONE_FRAME, INTERESTED_FRAME);
  await raw.waitFor('unchoke');
  const flood = Array.from({ length: 3 * MAX_QUEUED_REQUESTS }, (_, i) =>
    requestMessage(i % meta.pieceCount, 0, 1),
  );
  raw.send(Buffer.concat(flood));
  await raw.waitFor('reject');
  // Every request is answered: served or rejected.
  const answered = (): number => raw.events.filter((e) => e[0] === 'reject' || e[0] === 'piece').length;
  await raw.waitUntil(() => answered() === flood.length);
  t.false(raw.destroyed);
  t.is(seed.torrent.protocolErrors, 0);
  t.is(raw.decodeError, undefined);
  await assertHealthy(t, leecher, seed);
});

test('a handshake for another torrent: the Client drops it and counts the rejection', async (t) => {
  const { seed, leecher } = await honestSwarm(t);
  const before = seed.client.rejectedConnections;
  const raw = await RawPeer.connect(t, seed.port, {
    infoHash: Buffer.alloc(20, 0x42),
    pieceCount: meta.pieceCount,
    readHandshake: false,
  });
  await raw.whenClosed();
  t.is(seed.client.rejectedConnections, before + 1);
  t.is(raw.handshake, undefined);
  t.is(seed.connections.length, 1, 'only the honest leecher was ever attached');
  await assertHealthy(t, leecher, seed);
});

test('garbage instead of a handshake: the Client drops it and counts the rejection', async (t) => {
  const { seed, leecher } = await honestSwarm(t);
  const before = seed.client.rejectedConnections;
  const socket = connect(seed.port, '127.0.0.1');
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  const closed = once(socket, 'close');
  // The connection stays open on our side: only the Client can end it.
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await closed;
  t.is(seed.client.rejectedConnections, before + 1);
  await assertHealthy(t, leecher, seed);
});

/**
 * A fake seed: a listener that claims every piece, unchokes, and answers each request with a
 * block of the right size but wrong bytes.
 */
test('a peer serving corrupted blocks: hash failure, disconnected, and the download completes from an honest seed', async (t) => {
  const honestSeed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leecher = await startNode(t, { name: 'victim', meta, content });
  const fake = await rawListener(t, { infoHash: meta.infoHash, pieceCount: meta.pieceCount }, (peer) => {
    peer.send(fullBitfield(meta.pieceCount), UNCHOKE_FRAME);
    peer.recorder.onRequest = (index, begin, length) => {
      peer.send(pieceMessage(index, begin, Buffer.alloc(length, 0xbd)));
    };
  });
  const failure = waitForEvent<[{ piece: number; contributors: string[] }]>(leecher.torrent, 'hash-failure');
  leecher.torrent.addPeer('127.0.0.1', fake.port);
  const [{ contributors }] = await failure;
  t.is(contributors.length, 1);
  t.regex(contributors[0], new RegExp(`:${fake.port}#`));
  const event = await whenPeerClosedWith(leecher, 'ERR_HASH_FAILURE');
  t.is(event.port, fake.port);
  // Nothing from the fake seed was kept.
  t.true(leecher.torrent.hashFailures >= 1);
  t.is(leecher.torrent.stored.count, 0);
  fake.server.close();
  leecher.torrent.addPeer('127.0.0.1', honestSeed.port);
  await assertHealthy(t, leecher, honestSeed);
  t.is(leecher.torrent.stats.countIn[kindOf('piece')] > 0, true);
});

test('a peer still sending an end-game block cannot write into the piece after another peer delivered it', async (t) => {
  // Two one-block pieces, two raw peers. `slow` has piece 0 only: it sends the first half of its
  // block and stalls. `fast` has both and answers the end-game duplicate of piece 0 before piece 1.
  // Once piece 1 is stored, `slow` sends the second half of its block: garbage. That garbage must
  // not reach a stored piece: either it fails the hash check and `slow` is blamed, or it is dropped.
  const small = makeMeta({
    pieceLength: BLOCK_LENGTH,
    files: [{ path: ['race.bin'], length: 2 * BLOCK_LENGTH }],
    seed: 'race',
  });
  const leecher = await startNode(t, { name: 'victim', meta: small.meta, content: small.content });
  const block = (i: number): Buffer => small.content.subarray(i * BLOCK_LENGTH, (i + 1) * BLOCK_LENGTH);
  const handshake = { infoHash: small.meta.infoHash, pieceCount: 2 };

  let slow: RawPeer | undefined;
  const slowStarted = new Promise<void>((resolve) => {
    void rawListener(t, handshake, (peer) => {
      slow = peer;
      peer.send(encodeBitfield(Buffer.from([0x80])), UNCHOKE_FRAME);
      peer.recorder.onRequest = (index, begin) => {
        const frame = pieceMessage(index, begin, block(index));
        peer.send(frame.subarray(0, frame.length - BLOCK_LENGTH / 2));
        resolve();
      };
    }).then(({ port }) => leecher.torrent.addPeer('127.0.0.1', port));
  });
  await slowStarted;

  const fast = await rawListener(t, handshake, (peer) => {
    peer.send(fullBitfield(2), UNCHOKE_FRAME);
    const pending: number[] = [];
    let batched = false;
    peer.recorder.onRequest = (index, begin) => {
      if (batched) {
        peer.send(pieceMessage(index, begin, block(index)));
        return;
      }
      pending.push(index);
      if (pending.includes(0) && pending.includes(1)) {
        batched = true;
        peer.send(pieceMessage(0, 0, block(0)), pieceMessage(1, 0, block(1)));
      }
    };
  });
  const piece1 = waitForEvent<[number]>(leecher.torrent, 'piece', (i) => i === 1);
  leecher.torrent.addPeer('127.0.0.1', fast.port);
  await piece1;

  const slowPort = leecher.torrent.peers.find((p) => p.have.count === 1)?.port;
  t.not(slowPort, undefined);
  const failure = waitForEvent<[{ piece: number; contributors: string[] }]>(leecher.torrent, 'hash-failure');
  slow!.send(Buffer.alloc(BLOCK_LENGTH / 2, 0x66));
  const [{ piece, contributors }] = await failure;
  t.is(piece, 0);
  t.is(contributors.length, 1, 'only the peer that wrote the block is blamed');
  // peer-closed events are recorded as they happen, so this finds it even if it came first.
  t.is((await whenPeerClosedWith(leecher, 'ERR_HASH_FAILURE')).port, slowPort!);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, small.content));
  t.is(leecher.torrent.failure, undefined);
  t.deepEqual(unhandled, []);
});
