import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { MediaServerInitError, MediaServerStoppedError } from '../../../../agent/peer/media-server/errors.js';
import { MediaServer, type MediaServerInit } from '../../../../agent/peer/media-server/media-server.js';
import type { Metainfo } from '../../../../agent/peer/metainfo/types.js';
import { MemoryStorage } from '../../../../agent/peer/storage/memory-storage.js';
import type { Storage } from '../../../../agent/peer/storage/storage.js';
import { TempDir } from '../../../../agent/third-party/temp-dir.js';
import { makeMeta } from '../../../support/fake-meta.js';

const PIECE = 32 * 1024;
/** Upper bound of every request in this file. */
const REQUEST_TIMEOUT_MS = 10_000;

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request on a fresh connection (`path` sent byte for byte, no normalisation). */
function request(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method,
        headers,
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error(`response to ${path} cut short`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function serve(
  t: ExecutionContext,
  meta: Metainfo,
  storage: Storage,
  init: Partial<MediaServerInit> = {},
): Promise<{ server: MediaServer; url: string }> {
  const server = new MediaServer({ meta, ...init }, { storage });
  t.teardown(() => server.stop());
  const { url } = await server.start();
  return { server, url };
}

function singleFile(length = 5 * PIECE + 1_234) {
  const fake = makeMeta({ pieceLength: PIECE, files: [{ path: ['movie.ts'], length }], seed: 'single' });
  return { ...fake, storage: MemoryStorage.fromContent(fake.meta, fake.content) };
}

function multiFile() {
  const fake = makeMeta({
    pieceLength: PIECE,
    name: 'show',
    files: [
      { path: ['season 1', 'ep1.ts'], length: 3 * PIECE + 100 },
      { path: ['empty.txt'], length: 0 },
      { path: ['ep2 (final).ts'], length: 2 * PIECE - 50 },
      { path: ['extras', 'a%b.txt'], length: 777 },
    ],
    seed: 'multi',
  });
  return { ...fake, storage: MemoryStorage.fromContent(fake.meta, fake.content) };
}

async function opened<T extends { storage: MemoryStorage }>(fixture: T): Promise<T> {
  await fixture.storage.open();
  return fixture;
}

test('whole file, first, middle (across pieces), last and suffix ranges are byte-exact', async (t) => {
  const { meta, content, storage } = await opened(singleFile());
  const { url } = await serve(t, meta, storage);
  const path = '/movie.ts';
  const len = content.length;

  const whole = await request(url, path);
  t.is(whole.status, 200);
  t.is(whole.headers['accept-ranges'], 'bytes');
  t.is(whole.headers['content-length'], String(len));
  t.true(whole.body.equals(content));

  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=0-99', 0, 99],
    [`bytes=${PIECE - 10}-${PIECE + 10}`, PIECE - 10, PIECE + 10],
    [`bytes=${PIECE}-${3 * PIECE - 1}`, PIECE, 3 * PIECE - 1],
    [`bytes=${len - 1}-${len - 1}`, len - 1, len - 1],
    [`bytes=${len - 500}-`, len - 500, len - 1],
    ['bytes=-300', len - 300, len - 1],
    [`bytes=${len - 5}-${len + 1000}`, len - 5, len - 1],
    [`bytes=-${len * 2}`, 0, len - 1],
  ];
  for (const [range, first, last] of cases) {
    const res = await request(url, path, { Range: range });
    t.is(res.status, 206, range);
    t.is(res.headers['content-range'], `bytes ${first}-${last}/${len}`, range);
    t.is(res.headers['content-length'], String(last - first + 1), range);
    t.true(res.body.equals(content.subarray(first, last + 1)), range);
  }
});

test('invalid and unsatisfiable ranges get 416 with bytes */length; unknown units the whole file', async (t) => {
  const { meta, content, storage } = await opened(singleFile());
  const { server, url } = await serve(t, meta, storage);
  const len = content.length;
  const bad = [
    'bytes=abc',
    `bytes=${len}-`,
    `bytes=${len + 10}-${len + 20}`,
    'bytes=20-10',
    'bytes=-0',
    'bytes=1e3-2000',
  ];
  for (const range of bad) {
    const res = await request(url, '/movie.ts', { Range: range });
    t.is(res.status, 416, range);
    t.is(res.headers['content-range'], `bytes */${len}`, range);
  }
  const unknownUnit = await request(url, '/movie.ts', { Range: 'items=0-5' });
  t.is(unknownUnit.status, 200);
  t.true(unknownUnit.body.equals(content));
  // If-Range can never match (we send no validators): the whole file, as RFC 9110 asks.
  const ifRange = await request(url, '/movie.ts', { Range: 'bytes=0-9', 'If-Range': '"x"' });
  t.is(ifRange.status, 200);
  t.is(ifRange.body.length, len);
  t.is(server.stats.errors, bad.length);
});

test('HEAD answers headers only; other methods 405', async (t) => {
  const { meta, content, storage } = await opened(singleFile());
  const { server, url } = await serve(t, meta, storage);
  const head = await request(url, '/movie.ts', { Range: 'bytes=10-19' }, 'HEAD');
  t.is(head.status, 206);
  t.is(head.headers['content-length'], '10');
  t.is(head.body.length, 0);
  const post = await request(url, '/movie.ts', {}, 'POST');
  t.is(post.status, 405);
  t.is(post.headers.allow, 'GET, HEAD');
  t.is(server.stats.bytesServed, 0);
  t.is(content.length, 5 * PIECE + 1_234);
});

test('multi-file torrents: name/path per file, percent-encoded, empty files included', async (t) => {
  const { meta, content, storage } = await opened(multiFile());
  const { server, url } = await serve(t, meta, storage);
  const paths = [
    '/show/season%201/ep1.ts',
    '/show/empty.txt',
    '/show/ep2%20(final).ts',
    '/show/extras/a%25b.txt',
  ];
  for (const [i, file] of meta.files.entries()) {
    t.is(server.fileUrl(i), url + paths[i].slice(1));
    const whole = await request(url, paths[i]);
    t.is(whole.status, 200, paths[i]);
    t.true(whole.body.equals(content.subarray(file.offset, file.offset + file.length)), paths[i]);
    if (file.length === 0) {
      t.is((await request(url, paths[i], { Range: 'bytes=0-0' })).status, 416);
      continue;
    }
    // A range in the middle of the file, which starts in the middle of a piece.
    const first = Math.floor(file.length / 3);
    const last = Math.min(file.length - 1, first + PIECE);
    const part = await request(url, paths[i], { Range: `bytes=${first}-${last}` });
    t.is(part.status, 206);
    t.true(part.body.equals(content.subarray(file.offset + first, file.offset + last + 1)), paths[i]);
  }
  // The torrent's directory and unencoded spellings of other files are not files.
  t.is((await request(url, '/show')).status, 404);
  t.is((await request(url, '/show/')).status, 404);
  t.is((await request(url, '/show/extras')).status, 404);
});

test('traversal and malformed paths are refused, unknown paths are 404, and the server keeps serving', async (t) => {
  const { meta, content, storage } = await opened(multiFile());
  const { server, url } = await serve(t, meta, storage);
  const refused: Array<[string, number]> = [
    ['/../etc/passwd', 400],
    ['/show/../show/empty.txt', 400],
    ['/show/%2e%2e/%2e%2e/etc/passwd', 400],
    ['/show/season%201%2F..%2F..%2Fetc', 400],
    ['/show/extras%5Ca%25b.txt', 400],
    ['/show/%00', 400],
    ['/show/%E0%A4%A', 400],
    ['/show/./empty.txt', 400],
    ['/etc/passwd', 404],
    ['/', 404],
    ['//show/empty.txt', 404],
    ['/show/empty.txt/', 404],
    [`/${'a'.repeat(9_000)}`, 400],
  ];
  for (const [path, status] of refused) {
    t.is((await request(url, path)).status, status, path.slice(0, 60));
  }
  const before = server.stats;
  t.is(before.errors, refused.length);
  const ok = await request(url, '/show/ep2%20(final).ts', { Range: 'bytes=0-9' });
  t.is(ok.status, 206);
  t.true(ok.body.equals(content.subarray(meta.files[2].offset, meta.files[2].offset + 10)));
});

test('garbage on the socket gets 400 and the server keeps serving', async (t) => {
  const { meta, storage } = await opened(singleFile());
  const { server, url } = await serve(t, meta, storage);
  const { port } = new URL(url);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write('\x00\x01 NOT HTTP AT ALL\r\n\r\n'));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error('no reply')));
  });
  t.regex(reply, /^HTTP\/1\.1 400/);
  t.is(server.stats.errors, 1);
  t.is((await request(url, '/movie.ts', { Range: 'bytes=0-0' })).status, 206);
});

test('counters: requests, bytes served and errors', async (t) => {
  const { meta, content, storage } = await opened(singleFile());
  const { server, url } = await serve(t, meta, storage);
  const ranges = ['bytes=0-999', `bytes=${PIECE}-${2 * PIECE - 1}`, 'bytes=-1'];
  let expected = 0;
  for (const range of ranges) expected += (await request(url, '/movie.ts', { Range: range })).body.length;
  expected += (await request(url, '/movie.ts')).body.length;
  await request(url, '/nope');
  await request(url, '/movie.ts', { Range: 'bytes=999999-' });
  t.is(expected, 1_000 + PIECE + 1 + content.length);
  const stats = server.stats;
  t.is(stats.requests, 6);
  t.is(stats.bytesServed, expected);
  t.is(stats.errors, 2);
  t.is(stats.active, 0);
});

test('content the storage lacks: 503 before the body, a cut connection in the middle of one', async (t) => {
  const { meta, content } = singleFile();
  const storage = new MemoryStorage(meta);
  await storage.open();
  for (const i of [0, 1]) await storage.write(i, Buffer.from(content.subarray(i * PIECE, (i + 1) * PIECE)));
  const { server, url } = await serve(t, meta, storage);
  t.is((await request(url, '/movie.ts', { Range: `bytes=${3 * PIECE}-${3 * PIECE + 9}` })).status, 503);
  // Pieces 0 and 1 are there, piece 2 is not: the status went out, then the body stops short.
  const cut = request(url, '/movie.ts', { Range: `bytes=0-${3 * PIECE - 1}` });
  const outcome = await cut.then(
    (a) => a.body.length,
    (err: Error) => err.message,
  );
  t.not(outcome, 3 * PIECE);
  t.is(server.stats.errors, 2);
  t.is((await request(url, '/movie.ts', { Range: 'bytes=0-9' })).status, 206);
});

test('upload limit: the server sends no faster than its token bucket allows', async (t) => {
  const { meta, content, storage } = await opened(singleFile(8 * PIECE));
  const rate = 400_000;
  const burst = 16_384;
  const { server, url } = await serve(t, meta, storage, {
    uploadBytesPerSecond: rate,
    uploadBurstBytes: burst,
  });
  const started = performance.now();
  const res = await request(url, '/movie.ts', { Range: `bytes=0-${6 * PIECE - 1}` });
  const elapsedMs = performance.now() - started;
  t.true(res.body.equals(content.subarray(0, 6 * PIECE)));
  const minimumMs = ((6 * PIECE - burst) / rate) * 1000;
  t.true(
    elapsedMs >= minimumMs * 0.95,
    `${elapsedMs.toFixed(0)} ms, at least ${minimumMs.toFixed(0)} expected`,
  );
  t.is(server.stats.bytesServed, 6 * PIECE);
});

/** Starts a GET of the whole file and resolves once its status line arrived (the body is still coming). */
async function inProgress(t: ExecutionContext, url: string, path: string): Promise<http.ClientRequest> {
  const { port } = new URL(url);
  const req = http.get({ host: '127.0.0.1', port, path, agent: false });
  req.on('error', () => {}); // cut on purpose below
  t.teardown(() => req.destroy());
  await new Promise<void>((resolve, reject) => {
    req.once('response', (res) => {
      res.on('error', () => {});
      resolve();
    });
    req.once('error', reject);
  });
  return req;
}

test('bounded concurrency: beyond maxConcurrent responses, 503 with Retry-After', async (t) => {
  const { meta, storage } = await opened(singleFile(8 * PIECE));
  const { server, url } = await serve(t, meta, storage, {
    maxConcurrent: 1,
    uploadBytesPerSecond: 64 * 1024,
    uploadBurstBytes: PIECE,
  });
  const first = await inProgress(t, url, '/movie.ts');
  t.is(server.stats.active, 1);
  const second = await request(url, '/movie.ts', { Range: 'bytes=0-0' });
  t.is(second.status, 503);
  t.is(second.headers['retry-after'], '1');
  t.is(server.stats.rejected, 1);
  first.destroy();
});

test('stop() cuts responses in progress and resolves; a stopped server cannot restart', async (t) => {
  const { meta, storage } = await opened(singleFile(8 * PIECE));
  const { server, url } = await serve(t, meta, storage, {
    uploadBytesPerSecond: 32 * 1024,
    uploadBurstBytes: PIECE,
  });
  const slow = await inProgress(t, url, '/movie.ts');
  const closed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
  await server.stop();
  await closed;
  t.is(server.stats.bytesServed < 8 * PIECE, true);
  t.is(server.address, undefined);
  await t.throwsAsync(server.start(), { instanceOf: MediaServerStoppedError });
});

test('serves from a directory laid out as the torrent names it', async (t) => {
  const { meta, content } = multiFile();
  const tmp = await TempDir.create('media-server');
  t.teardown(() => tmp.remove());
  for (const file of meta.files) {
    const dir = join(tmp.path, meta.name, ...file.path.slice(0, -1));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, file.path.at(-1)!), content.subarray(file.offset, file.offset + file.length));
  }
  const server = new MediaServer({ meta, dir: tmp.path });
  t.teardown(() => server.stop());
  const { url } = await server.start();
  const res = await request(url, '/show/season%201/ep1.ts', { Range: `bytes=${PIECE - 1}-${2 * PIECE}` });
  t.is(res.status, 206);
  t.true(res.body.equals(content.subarray(PIECE - 1, 2 * PIECE + 1)));
});

test('bad configuration is ERR_MEDIA_SERVER_BAD_INIT', (t) => {
  const { meta, storage } = singleFile();
  const other = multiFile();
  for (const make of [
    () => new MediaServer({ meta }),
    () => new MediaServer({ meta, dir: '/tmp' }, { storage }),
    () => new MediaServer({ meta, maxConcurrent: 0 }, { storage }),
    () => new MediaServer({ meta, uploadBytesPerSecond: -5 }, { storage }),
    () => new MediaServer({ meta }, { storage: other.storage }),
  ]) {
    const err = t.throws(make, { instanceOf: MediaServerInitError });
    t.is(err?.code, 'ERR_MEDIA_SERVER_BAD_INIT');
  }
});

test('start() with an aborted signal rejects with ERR_ABORTED and leaves nothing listening', async (t) => {
  const { meta, storage } = await opened(singleFile());
  const server = new MediaServer({ meta }, { storage });
  t.teardown(() => server.stop());
  const err = await t.throwsAsync(server.start({}, AbortSignal.abort()));
  t.is((err as { code?: string }).code, 'ERR_ABORTED');
  t.is(server.address, undefined);
  // Not stopped: it can still start.
  const { url } = await server.start();
  t.is((await request(url, '/movie.ts', { Range: 'bytes=0-0' })).status, 206);
});

test('a port in use is ERR_MEDIA_SERVER_LISTEN naming the address', async (t) => {
  const { meta, storage } = await opened(singleFile());
  const { url } = await serve(t, meta, storage);
  const port = Number(new URL(url).port);
  const second = new MediaServer({ meta }, { storage });
  t.teardown(() => second.stop());
  const err = await t.throwsAsync(second.start({ port }));
  t.is((err as { code?: string }).code, 'ERR_MEDIA_SERVER_LISTEN');
  t.regex(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));
});
