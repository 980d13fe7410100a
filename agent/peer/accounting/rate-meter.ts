/** Width of one bucket of a rate meter. */
export const RATE_BUCKET_MS = 1_000;
/** Default averaging window (mainline uses 20 s for choking decisions). */
export const RATE_WINDOW_MS = 20_000;

/**
 * Bytes per second over a rolling window, in fixed buckets: `add` is O(1) and allocation-free,
 * so it can sit on the per-block path.
 */
export class RateMeter {
  readonly #buckets: Float64Array;
  readonly #windowMs: number;
  readonly #startedAt: number;
  #head = 0;
  #headTime = 0;
  total = 0;

  constructor(now: number, windowMs = RATE_WINDOW_MS) {
    this.#windowMs = windowMs;
    this.#buckets = new Float64Array(Math.ceil(windowMs / RATE_BUCKET_MS));
    this.#headTime = Math.floor(now / RATE_BUCKET_MS);
    this.#startedAt = now;
  }

  add(bytes: number, now: number): void {
    this.#advance(now);
    this.#buckets[this.#head] += bytes;
    this.total += bytes;
  }

  /** Bytes/s over the window (or over the meter's lifetime when younger than the window). */
  rate(now: number): number {
    this.#advance(now);
    let sum = 0;
    for (let i = 0; i < this.#buckets.length; i++) sum += this.#buckets[i];
    const spanMs = Math.min(this.#windowMs, Math.max(RATE_BUCKET_MS, now - this.#startedAt));
    return (sum * 1000) / spanMs;
  }

  #advance(now: number): void {
    const t = Math.floor(now / RATE_BUCKET_MS);
    let steps = t - this.#headTime;
    if (steps <= 0) return;
    if (steps > this.#buckets.length) steps = this.#buckets.length;
    for (let i = 0; i < steps; i++) {
      this.#head = (this.#head + 1) % this.#buckets.length;
      this.#buckets[this.#head] = 0;
    }
    this.#headTime = t;
  }
}
