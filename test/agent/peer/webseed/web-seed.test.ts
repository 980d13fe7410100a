import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { MediaServer } from '../../../../agent/peer/media-server/media-server.js';
import type { Metainfo } from '../../../../agent/peer/metainfo/types.js';
import { BLOCK_FREE, BLOCK_REQUESTED } from '../../../../agent/peer/picker/piece-table.js';
import { Random } from '../../../../agent/peer/random.js';
import { MemoryStorage } from '../../../../agent/peer/storage/memory-storage.js';
import { AllPiecesPolicy } from '../../../../agent/peer/webseed/all-pieces-policy.js';
import { WebSeedError, WebSeedInitError } from '../../../../agent/peer/webseed/errors.js';
import {
  type WebSeedFailureEvent,
  type WebSeedInit,
  WebSeedSource,
} from '../../../../agent/peer/webseed/web-seed.js';
import { makeMeta } from '../../../support/fake-meta.js';
import {
  type PeerNode,
  startNode,
  storedContentEquals,
  WAIT_MS,
  waitForEvent,
  whenComplete,
} from '../../../support/peer-node.js';

const PIECE = 32 * 1024;

function singleFile(pieces = 12) {
  return makeMeta({
    pieceLength: PIECE,
    files: [{ path: ['film.ts'], length: pieces * PIECE - 777 }],
    seed: 'ws',
  });
}

function multiFile() {
  return makeMeta({
    pieceLength: PIECE,
    name: 'series',
    files: [
      { path: ['s1', 'e1.ts'], length: 3 * PIECE + 5_000 },
      { path: ['empty'], length: 0 },
      { path: ['tiny.txt'], length: 300 },
      { path: ['s1', 'e2 final.ts'], length: 4 * PIECE - 1 },
    ],
    seed: 'ws-multi',
  });
}

async function startMediaServer(t: ExecutionContext, meta: Metainfo, content: Buffer): Promise<MediaServer> {
  const storage = MemoryStorage.fromContent(meta, content);
  await storage.open();
  const server = new MediaServer({ meta }, { storage });
  t.teardown(() => server.stop());
  await server.start();
  return server;
}

function startWebSeed(
  t: ExecutionContext,
  node: PeerNode,
  url: string,
  init: Partial<WebSeedInit> = {},
  maxInFlight = 4,
): { source: WebSeedSource; failures: WebSeedFailureEvent[] } {
  const source = new WebSeedSource(
    { url, backoffMs: 5, maxBackoffMs: 50, ...init },
    { torrent: node.torrent, policy: new AllPiecesPolicy({ maxInFlight }) },
  );
  const failures: WebSeedFailureEvent[] = [];
  source.on('fetch-failed', (e) => failures.push(e));
  t.teardown(() => source.stop());
  source.start();
  return { source, failures };
}

/** Blocks of the table still requested by `id` (claims a source forgot to release). */
function claimsOf(node: PeerNode, id: string): number {
  let n = 0;
  for (const dl of node.torrent.table.downloads.values())
    for (let b = 0; b < dl.blockCount; b++)
      if (dl.state[b] === BLOCK_REQUESTED && dl.requestersOf(b).includes(id)) n++;
  return n;
}

for (const [title, fixture] of [
  ['single-file', singleFile()],
  ['multi-file', multiFile()],
] as const) {
  test(`policy all: a whole ${title} torrent from a MediaServer, byte-equal and accounted as media-server`, async (t) => {
    const { meta, content } = fixture;
    const server = await startMediaServer(t, meta, content);
    const node = await startNode(t, { name: 'leecher', meta, content });
    const pieces: number[] = [];
    const { source, failures } = startWebSeed(t, node, server.address!.url);
    source.on('piece', (e) => pieces.push(e.index));
    await whenComplete(node);
    t.true(await storedContentEquals(node, content));
    t.deepEqual(failures, []);
    t.is(node.torrent.bytesBySource['media-server'], meta.length);
    t.is(node.torrent.bytesBySource.peer + node.torrent.bytesBySource.seed, 0);
    t.is(server.stats.bytesServed, meta.length);
    t.is(source.stats.bytesFetched, meta.length);
    t.deepEqual(
      [...pieces].sort((a, b) => a - b),
      [...Array(meta.pieceCount).keys()],
    );
    t.is(claimsOf(node, source.sourceId), 0);
  });
}

type Behaviour = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  honest: { first: number; last: number; bytes: Buffer; fileLength: number },
) => void;

/** A single-file web seed that misbehaves as `behave` says (it is given the honest answer). */
async function faultyServer(
  t: ExecutionContext,
  content: Buffer,
  behave: Behaviour,
): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const first = m ? Number(m[1]) : 0;
    const last = m ? Number(m[2]) : content.length - 1;
    behave(req, res, { first, last, bytes: content.subarray(first, last + 1), fileLength: content.length });
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/film.ts`, requests: () => requests };
}

function partial(
  res: http.ServerResponse,
  honest: Parameters<Behaviour>[2],
  headers: Record<string, string> = {},
) {
  res.writeHead(206, {
    'Content-Range': `bytes ${honest.first}-${honest.last}/${honest.fileLength}`,
    'Content-Length': String(honest.bytes.length),
    ...headers,
  });
}

const FAULTS: Array<{ name: string; code: string; behave: Behaviour | 'refused' | 'stall' }> = [
  { name: 'HTTP 500', code: 'ERR_WEBSEED_HTTP_STATUS', behave: (_q, res) => res.writeHead(500).end('boom') },
  { name: 'HTTP 404', code: 'ERR_WEBSEED_HTTP_STATUS', behave: (_q, res) => res.writeHead(404).end() },
  {
    name: 'garbage of the right length',
    code: 'ERR_WEBSEED_HASH_MISMATCH',
    behave: (_q, res, honest) => {
      partial(res, honest);
      res.end(new Random(honest.first).fill(Buffer.alloc(honest.bytes.length)));
    },
  },
  {
    name: 'a body longer than the range (chunked)',
    code: 'ERR_WEBSEED_WRONG_LENGTH',
    behave: (_q, res, honest) => {
      res.writeHead(206, { 'Content-Range': `bytes ${honest.first}-${honest.last}/${honest.fileLength}` });
      res.write(honest.bytes);
      res.end(Buffer.alloc(100));
    },
  },
  {
    name: 'a Content-Length other than the range',
    code: 'ERR_WEBSEED_WRONG_LENGTH',
    behave: (_q, res, honest) => {
      partial(res, honest, { 'Content-Length': String(honest.bytes.length - 1) });
      res.end(honest.bytes.subarray(1));
    },
  },
  {
    name: 'a connection closed mid-body',
    code: 'ERR_WEBSEED_SHORT_BODY',
    behave: (_q, res, honest) => {
      partial(res, honest);
      res.write(honest.bytes.subarray(0, honest.bytes.length >> 1), () => res.destroy());
    },
  },
  {
    name: 'a server that ignores Range (200)',
    code: 'ERR_WEBSEED_BAD_RANGE',
    behave: (_q, res, honest) => {
      res.writeHead(200, { 'Content-Length': String(honest.fileLength) });
      res.end(Buffer.alloc(honest.fileLength));
    },
  },
  {
    name: 'another range than asked',
    code: 'ERR_WEBSEED_BAD_RANGE',
    behave: (_q, res, honest) => {
      res.writeHead(206, {
        'Content-Range': `bytes ${honest.first + 1}-${honest.last + 1}/${honest.fileLength}`,
        'Content-Length': String(honest.bytes.length),
      });
      res.end(honest.bytes);
    },
  },
  { name: 'connection refused', code: 'ERR_WEBSEED_CONNECTION', behave: 'refused' },
  { name: 'a server that never answers', code: 'ERR_WEBSEED_TIMEOUT', behave: 'stall' },
];

for (const fault of FAULTS) {
  test(`${fault.name}: a typed ${fault.code} naming the URL, pieces released, completion from an honest peer`, async (t) => {
    const { meta, content } = singleFile();
    let url: string;
    if (fault.behave === 'refused') {
      // A port that was free a moment ago and has no listener now.
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as AddressInfo;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      url = `http://127.0.0.1:${port}/film.ts`;
    } else if (fault.behave === 'stall') {
      url = (await faultyServer(t, content, () => {})).url;
    } else {
      url = (await faultyServer(t, content, fault.behave)).url;
    }
    const leecher = await startNode(t, { name: 'leecher', meta, content });
    const { source, failures } = startWebSeed(t, leecher, url, {
      timeoutMs: fault.behave === 'stall' ? 300 : 10_000,
    });
    const [first] = await waitForEvent<[WebSeedFailureEvent]>(source, 'fetch-failed');
    t.true(first.error instanceof WebSeedError);
    t.is(first.error.code, fault.code, first.error.message);
    t.is(first.error.url, url);
    t.true(first.error.message.includes(url));
    t.true(first.error.piece >= 0 && first.error.piece < meta.pieceCount);
    t.true(first.retryInMs > 0);

    const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
    leecher.torrent.addPeer('127.0.0.1', seed.port);
    await whenComplete(leecher);
    t.true(await storedContentEquals(leecher, content));
    t.true(leecher.torrent.bytesBySource.seed > 0);
    if (fault.code !== 'ERR_WEBSEED_HASH_MISMATCH') t.is(leecher.torrent.bytesBySource['media-server'], 0);
    for (const f of failures) t.is(f.error.code, fault.code);
    t.is(source.stats.failures, failures.length);
    t.is(claimsOf(leecher, source.sourceId), 0);
  });
}

test('failures back off exponentially and a recovering server completes the torrent alone', async (t) => {
  const { meta, content } = singleFile(6);
  let failuresLeft = 3;
  const { url, requests } = await faultyServer(t, content, (_q, res, honest) => {
    if (failuresLeft > 0) {
      failuresLeft--;
      res.writeHead(503).end();
      return;
    }
    partial(res, honest);
    res.end(honest.bytes);
  });
  const leecher = await startNode(t, { name: 'leecher', meta, content });
  // One fetch at a time, so the three failures are consecutive.
  const { source, failures } = startWebSeed(t, leecher, url, { backoffMs: 10, maxBackoffMs: 1_000 }, 1);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content));
  t.deepEqual(
    failures.map((f) => f.retryInMs),
    [10, 20, 40],
  );
  t.deepEqual(
    failures.map((f) => f.attempt),
    [1, 2, 3],
  );
  t.is(leecher.torrent.bytesBySource['media-server'], meta.length);
  t.is(requests(), meta.pieceCount + 3);
  t.is(source.stats.piecesFetched, meta.pieceCount);
});

test('bounded retries: after maxAttempts failures a piece is given up to the peers', async (t) => {
  const { meta, content } = singleFile(3);
  const { url, requests } = await faultyServer(t, content, (_q, res) => res.writeHead(500).end());
  const leecher = await startNode(t, { name: 'leecher', meta, content });
  const { source, failures } = startWebSeed(t, leecher, url, {
    maxAttempts: 2,
    backoffMs: 1,
    maxBackoffMs: 4,
  });
  // Bounded: each piece fails at most maxAttempts times, then the source has nothing left to try.
  await waitForEvent(source, 'fetch-failed', () => source.abandoned.size === meta.pieceCount);
  t.is(failures.length, meta.pieceCount * 2);
  t.is(failures.filter((f) => f.gaveUp).length, meta.pieceCount);
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.is(requests(), meta.pieceCount * 2, 'no request after giving up');
  t.is(source.stats.inFlight, 0);
});

test('stop() aborts fetches in flight, releases their pieces and resolves', async (t) => {
  const { meta, content } = singleFile();
  const { url } = await faultyServer(t, content, () => {});
  const leecher = await startNode(t, { name: 'leecher', meta, content });
  const source = new WebSeedSource(
    { url, timeoutMs: WAIT_MS },
    { torrent: leecher.torrent, policy: new AllPiecesPolicy({ maxInFlight: 3 }) },
  );
  const fetching: number[] = [];
  source.on('fetch', (i) => fetching.push(i));
  source.start();
  t.is(fetching.length, 3);
  t.is(claimsOf(leecher, source.sourceId), 3 * (PIECE / 16_384));
  await source.stop();
  t.is(claimsOf(leecher, source.sourceId), 0);
  for (const i of fetching) {
    const dl = leecher.torrent.table.downloads.get(i);
    t.true(dl === undefined || dl.state.every((s) => s === BLOCK_FREE));
  }
  t.is(source.stats.inFlight, 0);
});

test('bad configuration is ERR_WEBSEED_BAD_INIT', async (t) => {
  const { meta, content } = singleFile(2);
  const node = await startNode(t, { name: 'n', meta, content });
  const policy = new AllPiecesPolicy();
  for (const init of [
    { url: 'gopher://h/x' },
    { url: 'http://h/x', timeoutMs: 0 },
    { url: 'http://h/x', maxAttempts: 1.5 },
    { url: 'http://h/x', backoffMs: -1 },
  ]) {
    const err = t.throws(() => new WebSeedSource(init, { torrent: node.torrent, policy }), {
      instanceOf: WebSeedInitError,
    });
    t.is(err?.code, 'ERR_WEBSEED_BAD_INIT');
  }
  t.throws(() => new AllPiecesPolicy({ maxInFlight: 0 }), { instanceOf: WebSeedInitError });
});
