import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SeedstreamError } from '../errors.js';

/**
 * SHA-1 of whole pieces. The inline hasher runs on the calling thread; the worker hasher moves
 * the work to worker threads so a leecher keeps reading the socket while pieces are verified.
 * One hasher may serve every torrent of a process.
 */
export interface PieceHasher {
  /**
   * Resolves with the SHA-1 of `data` and the data itself. The worker hasher reads buffers from
   * `allocPieceBuffer` (piece-buffer.ts) in place, so `data` must not change until the promise settles.
   */
  hash(data: Buffer): Promise<{ digest: Buffer; data: Buffer }>;
  close(): Promise<void>;
}

export class InlineHasher implements PieceHasher {
  hash(data: Buffer): Promise<{ digest: Buffer; data: Buffer }> {
    return Promise.resolve({ digest: createHash('sha1').update(data).digest(), data });
  }

  async close(): Promise<void> {}
}

export class HasherClosedError extends SeedstreamError {
  constructor() {
    super('ERR_HASHER_CLOSED', 'the piece hasher is closed');
  }
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, byteOffset, length }) => {
  const digest = createHash('sha1').update(new Uint8Array(buffer, byteOffset, length)).digest();
  parentPort.postMessage({ id, digest });
});
`;

interface Job {
  resolve(value: { digest: Buffer; data: Buffer }): void;
  reject(err: Error): void;
  data: Buffer;
}

/** Hashes on `threads` worker threads, round-robin, reading shared piece buffers in place. */
export class WorkerHasher implements PieceHasher {
  readonly #workers: Worker[] = [];
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #next = 0;
  #closed = false;

  constructor(init: { threads?: number } = {}) {
    const threads = Math.max(1, init.threads ?? 1);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on('message', (msg: { id: number; digest: Uint8Array }) => {
        const job = this.#jobs.get(msg.id);
        if (job === undefined) return;
        this.#jobs.delete(msg.id);
        job.resolve({
          digest: Buffer.from(msg.digest.buffer, msg.digest.byteOffset, msg.digest.length),
          data: job.data,
        });
      });
      worker.on('error', (err) => this.#failAll(err));
      this.#workers.push(worker);
    }
  }

  hash(data: Buffer): Promise<{ digest: Buffer; data: Buffer }> {
    if (this.#closed) return Promise.reject(new HasherClosedError());
    // Only shared memory reaches a worker without a copy; anything else is hashed here.
    if (!(data.buffer instanceof SharedArrayBuffer)) {
      return Promise.resolve({ digest: createHash('sha1').update(data).digest(), data });
    }
    const id = this.#nextId++;
    const worker = this.#workers[this.#next++ % this.#workers.length];
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject, data });
      worker.postMessage({ id, buffer: data.buffer, byteOffset: data.byteOffset, length: data.length });
    });
  }

  #failAll(err: Error): void {
    for (const job of this.#jobs.values()) job.reject(err);
    this.#jobs.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new HasherClosedError());
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
