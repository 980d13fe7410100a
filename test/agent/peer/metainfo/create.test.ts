import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { asDict, decode, encode } from '../../../../agent/peer/bencode/index.js';
import { AbortError } from '../../../../agent/peer/errors.js';
import {
  createMetainfo,
  defaultPieceLength,
  MetainfoError,
  parseMetainfo,
} from '../../../../agent/peer/metainfo/index.js';
import { Random } from '../../../../agent/peer/random.js';
import { pieceHash, pieceSize } from '../../../../agent/peer/storage/storage.js';

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seedstream-create-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Infohash computed independently: SHA-1 of the raw bytes between `4:info` and the next key. */
function rawInfoHash(torrent: Buffer): Buffer {
  const info = encode(asDict(asDict(decode(torrent), '').info, 'info'));
  const at = torrent.indexOf(Buffer.concat([Buffer.from('4:info'), info]));
  if (at < 0) throw new Error('info dict not found verbatim in the torrent');
  return sha1(torrent.subarray(at + 6, at + 6 + info.length));
}

function expectedPieceHashes(content: Buffer, pieceLength: number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < content.length; at += pieceLength)
    out.push(sha1(content.subarray(at, at + pieceLength)));
  return Buffer.concat(out);
}

test('in-memory content -> single-file torrent that parses back identically', async (t) => {
  const data = new Random('create-mem').fill(new Uint8Array(100_000));
  const { torrent, meta } = await createMetainfo({
    content: { name: 'clip.mp4', data },
    pieceLength: 16_384,
    announce: 'http://127.0.0.1:6969/announce',
    urlList: ['http://127.0.0.1:8080/clip.mp4'],
    comment: 'test clip',
    creationDate: 1_700_000_000,
    private: true,
  });
  t.deepEqual(meta.infoHash, rawInfoHash(torrent));
  t.deepEqual(parseMetainfo(torrent), meta);
  t.is(meta.name, 'clip.mp4');
  t.false(meta.multiFile);
  t.is(meta.length, 100_000);
  t.is(meta.pieceCount, 7);
  t.is(pieceSize(meta, 6), 100_000 - 6 * 16_384);
  t.deepEqual(meta.pieceHashes, expectedPieceHashes(Buffer.from(data), 16_384));
  t.deepEqual(pieceHash(meta, 3), sha1(data.subarray(3 * 16_384, 4 * 16_384)));
  t.is(meta.announce, 'http://127.0.0.1:6969/announce');
  t.deepEqual(meta.announceList, [['http://127.0.0.1:6969/announce']]);
  t.deepEqual(meta.urlList, ['http://127.0.0.1:8080/clip.mp4']);
  t.is(meta.comment, 'test clip');
  t.is(meta.creationDate, 1_700_000_000);
  t.true(meta.private);
});

test('createdBy defaults to seedstream/<package.json version>; creationDate defaults to now', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const before = Math.floor(Date.now() / 1000);
  const { meta } = await createMetainfo({ content: { name: 'x', data: new Uint8Array(10) } });
  t.is(meta.createdBy, `seedstream/${pkg.version}`);
  t.true(meta.creationDate !== undefined && meta.creationDate >= before && meta.creationDate <= before + 5);
});

test('creationDate null gives reproducible bytes', async (t) => {
  const init = { content: { name: 'x', data: new Uint8Array(50_000).fill(3) }, creationDate: null };
  const a = await createMetainfo(init);
  const b = await createMetainfo(init);
  t.deepEqual(a.torrent, b.torrent);
  t.is(a.meta.creationDate, undefined);
});

test('a directory becomes a multi-file torrent with files sorted by path, hashed across file boundaries', async (t) => {
  const root = join(await tempDir(t), 'album');
  const rng = new Random('create-dir');
  const contents: Record<string, Buffer> = {
    'b.bin': Buffer.from(rng.fill(new Uint8Array(30_001))),
    'a/z.bin': Buffer.from(rng.fill(new Uint8Array(5))),
    'a/b/c.bin': Buffer.from(rng.fill(new Uint8Array(70_000))),
    'A.bin': Buffer.from(rng.fill(new Uint8Array(16_384))),
    'empty.bin': Buffer.alloc(0),
  };
  // Written in an order unlike the sorted one, so sorting is really exercised.
  for (const [rel, data] of Object.entries(contents)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), data);
  }
  const { torrent, meta } = await createMetainfo({ path: root, pieceLength: 16_384, creationDate: null });
  const order = ['A.bin', 'a/b/c.bin', 'a/z.bin', 'b.bin', 'empty.bin'];
  t.true(meta.multiFile);
  t.is(meta.name, 'album');
  t.deepEqual(
    meta.files.map((f) => f.path.join('/')),
    order,
  );
  const all = Buffer.concat(order.map((p) => contents[p]));
  t.is(meta.length, all.length);
  t.deepEqual(
    meta.files.map((f) => f.offset),
    order.map((_, i) => order.slice(0, i).reduce((s, p) => s + contents[p].length, 0)),
  );
  t.deepEqual(meta.pieceHashes, expectedPieceHashes(all, 16_384));
  t.deepEqual(meta.infoHash, rawInfoHash(torrent));
});

test('a single file on disk becomes a single-file torrent named after it', async (t) => {
  const dir = await tempDir(t);
  const data = Buffer.from(new Random('create-file').fill(new Uint8Array(3 * 1024 * 1024 + 7)));
  await writeFile(join(dir, 'video.ts'), data);
  const { torrent, meta } = await createMetainfo({ path: join(dir, 'video.ts'), pieceLength: 32_768 });
  t.false(meta.multiFile);
  t.is(meta.name, 'video.ts');
  t.deepEqual(meta.files, [{ path: ['video.ts'], length: data.length, offset: 0 }]);
  t.deepEqual(meta.pieceHashes, expectedPieceHashes(data, 32_768));
  t.deepEqual(meta.infoHash, rawInfoHash(torrent));
});

test('symlinked files are followed, symlink cycles do not recurse forever', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(dir, 'outside.bin'), Buffer.alloc(100, 1));
  await symlink(join(dir, 'outside.bin'), join(root, 'link.bin'));
  await symlink(root, join(root, 'sub', 'loop'));
  const { meta } = await createMetainfo({ path: root });
  t.deepEqual(
    meta.files.map((f) => f.path.join('/')),
    ['link.bin'],
  );
});

test('streaming section round-trips through create and parse', async (t) => {
  const data = new Uint8Array(4 * 16_384);
  const streaming = { bitrateBps: 8_000_000, durationMs: 250, pieceTimestampsMs: [0, 60, 60, 200] };
  const { torrent, meta } = await createMetainfo({
    content: { name: 'v', data },
    pieceLength: 16_384,
    streaming,
  });
  t.deepEqual(meta.streaming, streaming);
  t.deepEqual(parseMetainfo(torrent).streaming, streaming);
  const info = asDict(asDict(decode(torrent), '').info, 'info');
  t.deepEqual(Object.keys(asDict(info.streaming, 'streaming')), ['bitrate', 'duration', 'timestamps']);
  const cbr = await createMetainfo({
    content: { name: 'v', data },
    streaming: { bitrateBps: 1, durationMs: 2 },
  });
  t.deepEqual(cbr.meta.streaming, { bitrateBps: 1, durationMs: 2 });
});

test('defaultPieceLength: a power of two in 16 KiB..16 MiB aiming at ~1500 pieces', (t) => {
  t.is(defaultPieceLength(1), 16 * 1024);
  t.is(defaultPieceLength(1024 ** 4), 16 * 1024 * 1024);
  for (const size of [50e6, 700e6, 1024 ** 3, 4.3e9]) {
    const p = defaultPieceLength(size);
    t.is(p & (p - 1), 0, `${p} is a power of two`);
    const pieces = size / p;
    t.true(pieces > 1500 / Math.SQRT2 - 1 && pieces < 1500 * Math.SQRT2 + 1, `${size}: ${pieces} pieces`);
  }
});

test('the default piece length is applied', async (t) => {
  const { meta } = await createMetainfo({ content: { name: 'x', data: new Uint8Array(100_000_000) } });
  t.is(meta.pieceLength, defaultPieceLength(100_000_000));
  t.is(meta.pieceLength, 65_536);
});

test('typed errors for bad input', async (t) => {
  const dir = await tempDir(t);
  const code = async (init: Parameters<typeof createMetainfo>[0]): Promise<string | undefined> =>
    (await t.throwsAsync(createMetainfo(init), { instanceOf: MetainfoError }))?.code;
  const data = new Uint8Array(10);
  t.is(await code({ path: join(dir, 'nope') }), 'ERR_METAINFO_NOT_FOUND');
  await mkdir(join(dir, 'empty'));
  t.is(await code({ path: join(dir, 'empty') }), 'ERR_METAINFO_EMPTY');
  t.is(await code({ content: { name: 'x', data: new Uint8Array(0) } }), 'ERR_METAINFO_EMPTY');
  t.is(await code({}), 'ERR_METAINFO_BAD_OPTION');
  t.is(await code({ path: dir, content: { name: 'x', data } }), 'ERR_METAINFO_BAD_OPTION');
  t.is(await code({ content: { name: 'x', data }, announce: 'not a url' }), 'ERR_METAINFO_BAD_OPTION');
  t.is(await code({ content: { name: 'x', data }, urlList: ['::'] }), 'ERR_METAINFO_BAD_OPTION');
  t.is(await code({ content: { name: '../x', data } }), 'ERR_METAINFO_UNSAFE_PATH');
  t.is(await code({ content: { name: 'x', data }, pieceLength: 0 }), 'ERR_METAINFO_BAD_FIELD');
  t.is(
    await code({
      content: { name: 'x', data },
      streaming: { bitrateBps: 1, durationMs: 1, pieceTimestampsMs: [0, 1] },
    }),
    'ERR_METAINFO_BAD_FIELD',
  );
  const err = await t.throwsAsync(createMetainfo({ path: join(dir, 'nope') }), { instanceOf: MetainfoError });
  t.true(err?.message.includes(join(dir, 'nope')));
});

test('an aborted signal stops creation with AbortError', async (t) => {
  const controller = new AbortController();
  controller.abort();
  await t.throwsAsync(
    createMetainfo({ content: { name: 'x', data: new Uint8Array(1) } }, controller.signal),
    {
      instanceOf: AbortError,
    },
  );
  const dir = await tempDir(t);
  await writeFile(join(dir, 'big'), Buffer.alloc(4 * 1024 * 1024));
  const late = new AbortController();
  const pending = createMetainfo({ path: join(dir, 'big'), pieceLength: 16_384 }, late.signal);
  late.abort();
  await t.throwsAsync(pending, { instanceOf: AbortError });
});
