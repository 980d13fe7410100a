import {
  access,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AbortError } from '../../../../agent/peer/errors.js';
import type { Metainfo } from '../../../../agent/peer/metainfo/types.js';
import { Random } from '../../../../agent/peer/random.js';
import { FileStorage, type FileStorageInit } from '../../../../agent/peer/storage/file-storage.js';
import { pieceSize } from '../../../../agent/peer/storage/storage.js';
import { verifyStorage } from '../../../../agent/peer/storage/verify.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { LAYOUTS, pieceOf, rejectsWith } from './compliance.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedstream-file-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openStorage(t: ExecutionContext, meta: Metainfo, init: FileStorageInit): Promise<FileStorage> {
  const storage = new FileStorage(meta, init);
  t.teardown(() => storage.close());
  await storage.open();
  return storage;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Counts FileHandle reads process-wide; only for serial tests (ava runs them before concurrent ones). */
async function countDiskReads(t: ExecutionContext, dir: string): Promise<{ readonly count: number }> {
  const probe = await open(path.join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const original = proto.read;
  const counter = { count: 0 };
  proto.read = function (this: unknown, ...args: unknown[]) {
    counter.count++;
    return original.apply(this, args);
  };
  t.teardown(() => {
    proto.read = original;
  });
  return counter;
}

test.serial('consecutive block reads of one piece cost one disk read', async (t) => {
  const dir = await tempDir(t);
  const { meta, content } = makeMeta({
    pieceLength: 16_384,
    files: [{ path: ['v.bin'], length: 16_384 * 6 }],
    seed: 1,
  });
  const writer = await openStorage(t, meta, { dir });
  for (let piece = 0; piece < meta.pieceCount; piece++)
    await writer.write(piece, pieceOf(meta, content, piece));
  await writer.close();

  const storage = await openStorage(t, meta, { dir, cachePieces: 2 });
  const reads = await countDiskReads(t, dir);
  for (let offset = 0; offset < 16_384; offset += 1024) {
    t.true((await storage.read(0, offset, 1024)).equals(content.subarray(offset, offset + 1024)));
  }
  t.is(reads.count, 1, 'sequential block reads share one disk read');

  const blocks = await Promise.all([0, 4096, 8192, 12_288].map((offset) => storage.read(1, offset, 4096)));
  t.true(Buffer.concat(blocks).equals(pieceOf(meta, content, 1)));
  t.is(reads.count, 2, 'concurrent block reads share one disk read');

  await storage.read(2, 0, 10); // evicts piece 0 (cache holds 2)
  t.is(reads.count, 3);
  await storage.read(1, 0, 10);
  t.is(reads.count, 3, 'piece 1 is still cached');
  await storage.read(0, 0, 10);
  t.is(reads.count, 4, 'piece 0 was evicted, least recently used');

  await storage.write(5, pieceOf(meta, content, 5));
  t.true((await storage.read(5, 100, 50)).equals(pieceOf(meta, content, 5).subarray(100, 150)));
  t.is(reads.count, 5, 'a written piece is read back from disk (its buffer went back to the writer)');
});

test('resume: a new instance over the same directory verifies the same pieces', async (t) => {
  for (const layout of ['single file', 'multi file']) {
    const dir = await tempDir(t);
    const { meta, content } = makeMeta({ ...LAYOUTS[layout], seed: 2 });
    const first = await openStorage(t, meta, { dir });
    const random = new Random(`resume/${layout}`);
    const written = [...Array(meta.pieceCount).keys()].filter(() => random.chance(0.5));
    for (const piece of written) await first.write(piece, pieceOf(meta, content, piece));
    const before = await verifyStorage(first);
    await first.close();

    const second = await openStorage(t, meta, { dir });
    const after = await verifyStorage(second);
    t.deepEqual([...after.indices()], written, layout);
    t.deepEqual(after.bytes, before.bytes);
    for (const piece of written) {
      t.true((await second.read(piece, 0, pieceSize(meta, piece))).equals(pieceOf(meta, content, piece)));
    }
  }
});

test('content written in any order lands on disk byte for byte, file by file', async (t) => {
  const dir = await tempDir(t);
  const { meta, content } = makeMeta({ ...LAYOUTS['multi file'], seed: 3 });
  const storage = await openStorage(t, meta, { dir });
  for (const piece of new Random('order').shuffle([...Array(meta.pieceCount).keys()])) {
    await storage.write(piece, pieceOf(meta, content, piece));
  }
  await storage.close();
  for (const file of meta.files) {
    const onDisk = await readFile(path.join(dir, meta.name, ...file.path));
    t.true(onDisk.equals(content.subarray(file.offset, file.offset + file.length)), file.path.join('/'));
  }
  t.deepEqual((await readdir(dir)).sort(), ['album']);
});

test('files another client wrote are seeded as they are', async (t) => {
  const dir = await tempDir(t);
  const { meta, content } = makeMeta({ ...LAYOUTS['multi file'], seed: 4 });
  for (const file of meta.files) {
    const target = path.join(dir, meta.name, ...file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content.subarray(file.offset, file.offset + file.length));
  }
  const storage = await openStorage(t, meta, { dir });
  t.true((await verifyStorage(storage)).complete);
  t.true((await storage.read(3, 0, pieceSize(meta, 3))).equals(pieceOf(meta, content, 3)));
});

test('files are created lazily and sparse', async (t) => {
  const dir = await tempDir(t);
  const pieceLength = 256 * 1024;
  const length = 32 * pieceLength;
  const { meta, content } = makeMeta({ pieceLength, files: [{ path: ['big.bin'], length }], seed: 5 });
  const storage = await openStorage(t, meta, { dir });
  const file = path.join(dir, 'big.bin');
  t.false(await exists(file), 'open creates nothing');
  await storage.write(31, pieceOf(meta, content, 31));
  const info = await stat(file);
  t.is(info.size, length);
  t.true(info.blocks * 512 < length / 4, `only ${info.blocks * 512} bytes allocated for ${length}`);
  await rejectsWith(t, storage.read(0, 0, 16), 'ERR_PIECE_NOT_STORED', 'the hole is not a stored piece');
});

test('pieces missing or cut short on disk are not stored', async (t) => {
  const dir = await tempDir(t);
  const { meta, content } = makeMeta({ ...LAYOUTS['multi file'], seed: 6 });
  const writer = await openStorage(t, meta, { dir });
  for (let piece = 0; piece < meta.pieceCount; piece++)
    await writer.write(piece, pieceOf(meta, content, piece));
  await writer.close();
  // f.bin holds bytes 3201..4501 of the content: pieces 3 and 4 lose their tail.
  await truncate(path.join(dir, 'album', 'd', 'e', 'f.bin'), 500);
  await rm(path.join(dir, 'album', 'a.bin'));

  const storage = await openStorage(t, meta, { dir, cachePieces: 0 });
  t.deepEqual(
    [0, 1, 2, 3, 4].map((p) => storage.has(p)),
    [false, true, true, false, false],
  );
  await rejectsWith(t, storage.read(0, 0, 1), 'ERR_PIECE_NOT_STORED');
  await rejectsWith(t, storage.read(4, 0, 1), 'ERR_PIECE_NOT_STORED');
  t.deepEqual([...(await verifyStorage(storage)).indices()], [1, 2]);

  // Cut short after open: the read finds out, and the piece stops counting as stored.
  await truncate(path.join(dir, 'album', 'sub', 'b.bin'), 100);
  const err = await rejectsWith(t, storage.read(2, 0, 1024), 'ERR_PIECE_NOT_STORED');
  t.regex(err.message, /b\.bin/);
  t.false(storage.has(2));
});

test('unsafe paths are rejected before touching the disk', async (t) => {
  const dir = await tempDir(t);
  const inside = path.join(dir, 'inside');
  const cases: { name?: string; files: { path: string[]; length: number }[]; multiFile?: boolean }[] = [
    { name: 'ok', files: [{ path: ['..', 'escape.bin'], length: 10 }], multiFile: true },
    { name: 'ok', files: [{ path: ['a', '..', '..', 'escape.bin'], length: 10 }], multiFile: true },
    { name: 'ok', files: [{ path: ['/etc/passwd'], length: 10 }], multiFile: true },
    { name: 'ok', files: [{ path: ['a\\..\\..\\b'], length: 10 }], multiFile: true },
    { name: 'ok', files: [{ path: ['nul\0byte'], length: 10 }], multiFile: true },
    { name: 'ok', files: [{ path: [''], length: 10 }], multiFile: true },
    { name: 'ok', files: [{ path: ['.'], length: 10 }], multiFile: true },
    { name: '..', files: [{ path: ['x'], length: 10 }], multiFile: true },
    { files: [{ path: ['..'], length: 10 }] },
    { files: [{ path: ['../escape.bin'], length: 10 }] },
  ];
  for (const c of cases) {
    const { meta } = makeMeta({ pieceLength: 16, seed: 7, ...c });
    const err = t.throws(() => new FileStorage(meta, { dir: inside }), { code: 'ERR_STORAGE_UNSAFE_PATH' });
    t.truthy(err?.message, JSON.stringify(c.files[0].path));
  }
  t.deepEqual(await readdir(dir), []);
});

test('file system failures are typed and name the file', async (t) => {
  const dir = await tempDir(t);
  const { meta, content } = makeMeta({ ...LAYOUTS['multi file'], seed: 8 });
  // A regular file where the directory `album/d` must go.
  await mkdir(path.join(dir, 'album'));
  await writeFile(path.join(dir, 'album', 'd'), 'in the way');
  const storage = await openStorage(t, meta, { dir });
  const err = await rejectsWith(t, storage.write(4, pieceOf(meta, content, 4)), 'ERR_STORAGE_IO');
  t.is(err.piece, 4);
  t.is(err.path, path.join(dir, 'album', 'd', 'e', 'f.bin'));
  t.truthy(err.cause);
  t.false(storage.has(4));
  await storage.write(1, pieceOf(meta, content, 1));
  t.true((await storage.read(1, 0, 1024)).equals(pieceOf(meta, content, 1)));

  // A directory where the single file belongs: nothing is stored, and writing fails cleanly.
  const single = makeMeta({ ...LAYOUTS['single file'], seed: 8 });
  const otherDir = await tempDir(t);
  await mkdir(path.join(otherDir, 'movie.bin', 'sub'), { recursive: true });
  const blocked = await openStorage(t, single.meta, { dir: otherDir });
  t.is(blocked.storedCount, 0);
  await rejectsWith(t, blocked.read(0, 0, 1), 'ERR_PIECE_NOT_STORED');
  await rejectsWith(t, blocked.write(0, pieceOf(single.meta, single.content, 0)), 'ERR_STORAGE_IO');
});

test('bad configuration is rejected', (t) => {
  const { meta } = makeMeta({ ...LAYOUTS['single file'], seed: 9 });
  for (const cachePieces of [-1, 1.5, Number.NaN]) {
    t.throws(() => new FileStorage(meta, { dir: '/tmp/x', cachePieces }), { code: 'ERR_STORAGE_BAD_INIT' });
  }
  t.throws(() => new FileStorage(meta, { dir: '' }), { code: 'ERR_STORAGE_BAD_INIT' });
});

test('open honours its AbortSignal and can be retried', async (t) => {
  const dir = await tempDir(t);
  const { meta, content } = makeMeta({ ...LAYOUTS['single file'], seed: 10 });
  const storage = new FileStorage(meta, { dir });
  t.teardown(() => storage.close());
  await t.throwsAsync(storage.open(AbortSignal.abort()), { instanceOf: AbortError });
  await rejectsWith(t, storage.read(0, 0, 1), 'ERR_STORAGE_NOT_OPEN');
  await storage.open();
  await storage.write(0, pieceOf(meta, content, 0));
  t.true(storage.has(0));
});
