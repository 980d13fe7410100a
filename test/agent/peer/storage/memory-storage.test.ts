import test from 'ava';
import { MemoryStorage } from '../../../../agent/peer/storage/memory-storage.js';
import { pieceSize } from '../../../../agent/peer/storage/storage.js';
import { verifyStorage } from '../../../../agent/peer/storage/verify.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { LAYOUTS, pieceOf, rejectsWith } from './compliance.js';

function sameMemory(view: Buffer, of: Buffer, at: number): boolean {
  return view.buffer === of.buffer && view.byteOffset === of.byteOffset + at;
}

test('write keeps the caller’s buffer and read returns views into it', async (t) => {
  const { meta, content } = makeMeta({ ...LAYOUTS['single file'], seed: 1 });
  const storage = new MemoryStorage(meta);
  await storage.open();
  const data = Buffer.from(pieceOf(meta, content, 2));
  await storage.write(2, data);
  const block = await storage.read(2, 100, 200);
  t.true(sameMemory(block, data, 100));
  t.true(block.equals(content.subarray(2 * meta.pieceLength + 100, 2 * meta.pieceLength + 300)));
});

test('fromContent holds every piece as a view into the content', async (t) => {
  const { meta, content } = makeMeta({ ...LAYOUTS['multi file'], seed: 2 });
  const storage = MemoryStorage.fromContent(meta, content);
  await storage.open();
  t.is(storage.storedCount, meta.pieceCount);
  t.true((await verifyStorage(storage)).complete);
  const last = meta.pieceCount - 1;
  const tail = await storage.read(last, 0, pieceSize(meta, last));
  t.true(sameMemory(tail, content, last * meta.pieceLength));
  t.is(tail.length, pieceSize(meta, last));
  await rejectsWith(
    t,
    Promise.resolve().then(() => MemoryStorage.fromContent(meta, content.subarray(1))),
    'ERR_STORAGE_BAD_LENGTH',
  );
});

test('maxPieces bounds what is held; delete makes room', async (t) => {
  const { meta, content } = makeMeta({ ...LAYOUTS['single file'], seed: 3 });
  const storage = new MemoryStorage(meta, { maxPieces: 2 });
  await storage.open();
  await storage.write(0, pieceOf(meta, content, 0));
  await storage.write(1, pieceOf(meta, content, 1));
  await storage.write(1, pieceOf(meta, content, 1));
  const err = await rejectsWith(t, storage.write(2, pieceOf(meta, content, 2)), 'ERR_STORAGE_FULL');
  t.is(err.piece, 2);
  t.false(storage.has(2));
  await storage.delete(0);
  await storage.write(2, pieceOf(meta, content, 2));
  t.deepEqual([...(await verifyStorage(storage)).indices()], [1, 2]);
  t.throws(() => MemoryStorage.fromContent(meta, content, { maxPieces: 2 }), { code: 'ERR_STORAGE_FULL' });
});

test('bad maxPieces is rejected', (t) => {
  const { meta } = makeMeta({ ...LAYOUTS['single file'], seed: 4 });
  for (const maxPieces of [0, -1, 2.5, Number.NaN]) {
    t.throws(
      () => new MemoryStorage(meta, { maxPieces }),
      { code: 'ERR_STORAGE_BAD_INIT' },
      String(maxPieces),
    );
  }
});
