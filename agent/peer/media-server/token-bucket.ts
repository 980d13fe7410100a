import { AbortError, SeedstreamError } from '../errors.js';

export class TokenBucketInitError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_TOKEN_BUCKET_BAD_INIT', message);
  }
}

export interface TokenBucketInit {
  /** Long-run rate, bytes per second. */
  readonly rateBytesPerSecond: number;
  /** Bytes that may go out at once after an idle period. Default: a tenth of a second's worth. */
  readonly burstBytes?: number;
}

/**
 * A byte-rate limiter shared by every response of a server. Takers may run the bucket into debt
 * (a chunk larger than the burst still goes out whole) and then wait until the debt is paid, so
 * concurrent takers queue behind each other and the long-run rate holds exactly.
 */
export class TokenBucket {
  readonly rateBytesPerSecond: number;
  readonly burstBytes: number;
  #tokens: number;
  #updatedAt: number;

  constructor(init: TokenBucketInit) {
    const rate = init.rateBytesPerSecond;
    if (!(Number.isFinite(rate) && rate > 0)) {
      throw new TokenBucketInitError(`rateBytesPerSecond must be a positive number, got ${rate}`);
    }
    const burst = init.burstBytes ?? Math.max(1, Math.ceil(rate / 10));
    if (!(Number.isFinite(burst) && burst > 0)) {
      throw new TokenBucketInitError(`burstBytes must be a positive number, got ${burst}`);
    }
    this.rateBytesPerSecond = rate;
    this.burstBytes = burst;
    this.#tokens = burst;
    this.#updatedAt = performance.now();
  }

  /** Resolves once `bytes` may be sent; rejects with AbortError (and refunds) on abort. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError('rate limiter wait aborted'));
    this.#refill();
    this.#tokens -= bytes;
    if (this.#tokens >= 0) return Promise.resolve();
    const waitMs = (-this.#tokens / this.rateBytesPerSecond) * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, waitMs);
      const onAbort = (): void => {
        clearTimeout(timer);
        this.#tokens += bytes;
        reject(new AbortError('rate limiter wait aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(
      this.burstBytes,
      this.#tokens + ((now - this.#updatedAt) / 1000) * this.rateBytesPerSecond,
    );
    this.#updatedAt = now;
  }
}
