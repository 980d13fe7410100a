import test, { type ExecutionContext } from 'ava';
import { AbortError } from '../../../../agent/peer/errors.js';
import type { Metainfo } from '../../../../agent/peer/metainfo/types.js';
import { Random } from '../../../../agent/peer/random.js';
import { StorageError, type StorageErrorCode } from '../../../../agent/peer/storage/errors.js';
import { pieceSize, type Storage } from '../../../../agent/peer/storage/storage.js';
import { verifyStorage } from '../../../../agent/peer/storage/verify.js';
import { type FakeMetaInit, makeMeta } from '../../../support/fake-meta.js';

/**
 * The compliance suite every Storage implementation passes: run `storageCase` for each subject
 * and each entry of `STORAGE_CASES` (see storage.test.ts).
 */
export interface StorageSubject {
  readonly name: string;
  /** A fresh, not yet opened storage for `meta`; the subject cleans up through `t.teardown`. */
  create(meta: Metainfo, t: ExecutionContext): Promise<Storage>;
}

/** Layouts that exercise a short last piece, a single piece and pieces spanning 2 and 3 files. */
export const LAYOUTS: Record<string, Omit<FakeMetaInit, 'seed'>> = {
  'single file': { pieceLength: 1024, files: [{ path: ['movie.bin'], length: 5 * 1024 + 300 }] },
  'multi file': {
    pieceLength: 1024,
    name: 'album',
    files: [
      { path: ['a.bin'], length: 700 },
      { path: ['sub', 'empty.bin'], length: 0 },
      { path: ['sub', 'b.bin'], length: 2500 },
      { path: ['c.bin'], length: 1 },
      { path: ['d', 'e', 'f.bin'], length: 1300 },
    ],
  },
  'one piece': { pieceLength: 16_384, files: [{ path: ['tiny.bin'], length: 1000 }] },
};

export function pieceOf(meta: Metainfo, content: Buffer, piece: number): Buffer {
  const start = piece * meta.pieceLength;
  return content.subarray(start, start + pieceSize(meta, piece));
}

export async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: StorageErrorCode,
  message?: string,
): Promise<StorageError> {
  const err = await t.throwsAsync(promise, { instanceOf: StorageError, code }, message);
  return err as StorageError;
}

async function openFor(t: ExecutionContext, subject: StorageSubject, layout: string, seed: number) {
  const { meta, content } = makeMeta({ ...LAYOUTS[layout], seed });
  const storage = await subject.create(meta, t);
  await storage.open();
  return { meta, content, storage };
}

interface StorageCase {
  readonly name: string;
  run(t: ExecutionContext, subject: StorageSubject): Promise<void>;
}

export const STORAGE_CASES: readonly StorageCase[] = [
  {
    name: 'round trip of every piece, whole and in blocks',
    async run(t, subject) {
      for (const layout of Object.keys(LAYOUTS)) {
        const { meta, content, storage } = await openFor(t, subject, layout, 1);
        const order = new Random(`order/${layout}`).shuffle([...Array(meta.pieceCount).keys()]);
        for (const piece of order) await storage.write(piece, Buffer.from(pieceOf(meta, content, piece)));
        for (let piece = 0; piece < meta.pieceCount; piece++) {
          const size = pieceSize(meta, piece);
          t.true(
            (await storage.read(piece, 0, size)).equals(pieceOf(meta, content, piece)),
            `${layout} ${piece}`,
          );
          const blocks: Promise<Buffer>[] = [];
          const expected: Buffer[] = [];
          for (let offset = 0; offset < size; offset += 300) {
            const length = Math.min(300, size - offset);
            blocks.push(storage.read(piece, offset, length));
            expected.push(pieceOf(meta, content, piece).subarray(offset, offset + length));
          }
          const got = await Promise.all(blocks);
          t.true(
            got.every((b, i) => b.equals(expected[i])),
            `${layout} piece ${piece} blocks`,
          );
          t.is((await storage.read(piece, size, 0)).length, 0);
        }
        const last = meta.pieceCount - 1;
        t.is(
          (await storage.read(last, 0, pieceSize(meta, last))).length,
          meta.length - last * meta.pieceLength,
        );
        await storage.close();
      }
    },
  },
  {
    name: 'bad ranges are rejected with typed errors',
    async run(t, subject) {
      const { meta, content, storage } = await openFor(t, subject, 'multi file', 2);
      for (let piece = 0; piece < meta.pieceCount; piece++)
        await storage.write(piece, pieceOf(meta, content, piece));
      const last = meta.pieceCount - 1;
      const lastSize = pieceSize(meta, last);
      const bad: [number, number, number][] = [
        [-1, 0, 1],
        [meta.pieceCount, 0, 1],
        [0.5, 0, 1],
        [Number.NaN, 0, 1],
        [0, -1, 1],
        [0, 0, -1],
        [0, 1.5, 1],
        [0, meta.pieceLength, 1],
        [0, 0, meta.pieceLength + 1],
        [last, 0, lastSize + 1],
        [last, lastSize, 1],
      ];
      for (const [piece, offset, length] of bad) {
        await rejectsWith(
          t,
          storage.read(piece, offset, length),
          'ERR_STORAGE_BAD_RANGE',
          `${piece}/${offset}/${length}`,
        );
      }
      await rejectsWith(
        t,
        storage.write(meta.pieceCount, Buffer.alloc(meta.pieceLength)),
        'ERR_STORAGE_BAD_RANGE',
      );
      await rejectsWith(t, storage.write(-1, Buffer.alloc(meta.pieceLength)), 'ERR_STORAGE_BAD_RANGE');
      await rejectsWith(t, storage.delete(meta.pieceCount), 'ERR_STORAGE_BAD_RANGE');
      const short = await rejectsWith(
        t,
        storage.write(0, Buffer.alloc(meta.pieceLength - 1)),
        'ERR_STORAGE_BAD_LENGTH',
      );
      t.is(short.piece, 0);
      await rejectsWith(t, storage.write(last, Buffer.alloc(meta.pieceLength)), 'ERR_STORAGE_BAD_LENGTH');
      // A rejected write must not have damaged what is stored.
      t.true((await storage.read(0, 0, meta.pieceLength)).equals(pieceOf(meta, content, 0)));
      t.true((await storage.read(last, 0, lastSize)).equals(pieceOf(meta, content, last)));
    },
  },
  {
    name: 'an unwritten piece is not stored, even next to written ones',
    async run(t, subject) {
      for (const layout of Object.keys(LAYOUTS)) {
        const { meta, content, storage } = await openFor(t, subject, layout, 3);
        const err = await rejectsWith(t, storage.read(0, 0, 1), 'ERR_PIECE_NOT_STORED');
        t.is(err.piece, 0);
        for (let piece = 0; piece < meta.pieceCount; piece += 2)
          await storage.write(piece, pieceOf(meta, content, piece));
        for (let piece = 0; piece < meta.pieceCount; piece++) {
          if (piece % 2 === 0)
            t.true((await storage.read(piece, 0, 1)).equals(pieceOf(meta, content, piece).subarray(0, 1)));
          else
            await rejectsWith(
              t,
              storage.read(piece, 0, 1),
              'ERR_PIECE_NOT_STORED',
              `${layout} piece ${piece}`,
            );
        }
      }
    },
  },
  {
    name: 'delete drops a piece and nothing else',
    async run(t, subject) {
      const { meta, content, storage } = await openFor(t, subject, 'multi file', 4);
      for (let piece = 0; piece < meta.pieceCount; piece++)
        await storage.write(piece, pieceOf(meta, content, piece));
      await storage.read(3, 0, 10);
      await storage.delete(3);
      await rejectsWith(t, storage.read(3, 0, 10), 'ERR_PIECE_NOT_STORED');
      for (const piece of [0, 1, 2, 4]) {
        t.true((await storage.read(piece, 0, pieceSize(meta, piece))).equals(pieceOf(meta, content, piece)));
      }
      await storage.delete(3);
      await storage.write(3, pieceOf(meta, content, 3));
      t.true((await storage.read(3, 0, pieceSize(meta, 3))).equals(pieceOf(meta, content, 3)));
    },
  },
  {
    name: 'open and close are idempotent; use before open or after close is rejected',
    async run(t, subject) {
      const { meta, content } = makeMeta({ ...LAYOUTS['single file'], seed: 5 });
      const storage = await subject.create(meta, t);
      await rejectsWith(t, storage.read(0, 0, 1), 'ERR_STORAGE_NOT_OPEN');
      await rejectsWith(t, storage.write(0, pieceOf(meta, content, 0)), 'ERR_STORAGE_NOT_OPEN');
      await Promise.all([storage.open(), storage.open()]);
      await storage.open();
      await storage.write(0, pieceOf(meta, content, 0));
      await Promise.all([storage.close(), storage.close()]);
      await storage.close();
      await rejectsWith(t, storage.read(0, 0, 1), 'ERR_STORAGE_CLOSED');
      await rejectsWith(t, storage.write(1, pieceOf(meta, content, 1)), 'ERR_STORAGE_CLOSED');
      await rejectsWith(t, storage.delete(0), 'ERR_STORAGE_CLOSED');
      await rejectsWith(t, storage.open(), 'ERR_STORAGE_CLOSED');
    },
  },
  {
    name: 'close waits for operations in flight',
    async run(t, subject) {
      const { meta, content, storage } = await openFor(t, subject, 'multi file', 6);
      const writes = [0, 1, 2, 3, 4].map((piece) => storage.write(piece, pieceOf(meta, content, piece)));
      await storage.close();
      const results = await Promise.allSettled(writes);
      t.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
      );
    },
  },
  {
    name: 'verifyStorage finds exactly the written pieces',
    async run(t, subject) {
      for (const layout of Object.keys(LAYOUTS)) {
        const { meta, content, storage } = await openFor(t, subject, layout, 7);
        t.true((await verifyStorage(storage)).empty);
        const random = new Random(`subset/${layout}`);
        const written: number[] = [];
        for (let piece = 0; piece < meta.pieceCount; piece++) {
          if (random.chance(0.5)) {
            written.push(piece);
            await storage.write(piece, pieceOf(meta, content, piece));
          }
        }
        const found = await verifyStorage(storage);
        t.is(found.length, meta.pieceCount);
        t.deepEqual([...found.indices()], written, layout);
      }
    },
  },
  {
    name: 'verifyStorage rejects a corrupted piece',
    async run(t, subject) {
      const { meta, content, storage } = await openFor(t, subject, 'multi file', 8);
      for (let piece = 0; piece < meta.pieceCount; piece++) {
        const data = Buffer.from(pieceOf(meta, content, piece));
        if (piece === 3) data[data.length - 1] ^= 0x01;
        await storage.write(piece, data);
      }
      t.deepEqual([...(await verifyStorage(storage)).indices()], [0, 1, 2, 4]);
    },
  },
  {
    name: 'verifyStorage reports progress and honours its AbortSignal',
    async run(t, subject) {
      const { meta, content, storage } = await openFor(t, subject, 'single file', 9);
      for (let piece = 0; piece < meta.pieceCount; piece++)
        await storage.write(piece, pieceOf(meta, content, piece));
      const seen: number[] = [];
      const found = await verifyStorage(storage, undefined, ({ done, total, valid }) => {
        t.is(total, meta.pieceCount);
        t.is(valid, done);
        seen.push(done);
      });
      t.true(found.complete);
      t.deepEqual(
        seen,
        [...Array(meta.pieceCount).keys()].map((i) => i + 1),
      );
      const controller = new AbortController();
      let checked = 0;
      const aborted = verifyStorage(storage, controller.signal, () => {
        if (++checked === 2) controller.abort();
      });
      await t.throwsAsync(aborted, { instanceOf: AbortError, code: 'ERR_ABORTED' });
      t.is(checked, 2);
    },
  },
];

export const storageCase = test.macro<[StorageSubject, StorageCase]>({
  exec: (t, subject, c) => c.run(t, subject),
  title: (_provided, subject, c) => `${subject.name}: ${c.name}`,
});
