import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FileStorage } from '../../../../agent/peer/storage/file-storage.js';
import { MemoryStorage } from '../../../../agent/peer/storage/memory-storage.js';
import { STORAGE_CASES, type StorageSubject, storageCase } from './compliance.js';

const SUBJECTS: readonly StorageSubject[] = [
  {
    name: 'MemoryStorage',
    async create(meta, t) {
      const storage = new MemoryStorage(meta);
      t.teardown(() => storage.close());
      return storage;
    },
  },
  {
    name: 'FileStorage',
    async create(meta, t) {
      const dir = await mkdtemp(path.join(tmpdir(), 'seedstream-storage-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const storage = new FileStorage(meta, { dir });
      t.teardown(() => storage.close());
      return storage;
    },
  },
  {
    name: 'FileStorage without cache',
    async create(meta, t) {
      const dir = await mkdtemp(path.join(tmpdir(), 'seedstream-storage-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const storage = new FileStorage(meta, { dir, cachePieces: 0 });
      t.teardown(() => storage.close());
      return storage;
    },
  },
];

for (const subject of SUBJECTS) {
  for (const c of STORAGE_CASES) test(storageCase, subject, c);
}
