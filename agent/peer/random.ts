/**
 * Seeded pseudo-random numbers. Every random choice in seedstream (pickers, chokers, content,
 * arrivals, churn) draws from a `Random` built from an explicit seed, so a run repeats exactly.
 *
 * The generator is sfc32 (small, fast, passes PractRand to 2^40+); seeds of any form are mixed
 * through a 32-bit FNV-1a/murmur finaliser into its 128-bit state.
 */
export type Seed = number | string | bigint;

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a seed and an optional label: used to derive independent child seeds. */
export function hashSeed(seed: Seed, label = ''): number {
  const text = `${typeof seed}:${String(seed)}/${label}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

export class Random {
  readonly seed: Seed;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: Seed) {
    this.seed = seed;
    this.#a = hashSeed(seed, 'a');
    this.#b = hashSeed(seed, 'b');
    this.#c = hashSeed(seed, 'c');
    this.#d = hashSeed(seed, 'd') | 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** An independent generator for a named sub-component: `fork('choker')` repeats for a seed. */
  fork(label: string): Random {
    return new Random(`${String(this.seed)}/${label}`);
  }

  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element; undefined for an empty array. */
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }

  /** Shuffles in place (Fisher-Yates) and returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Fills a buffer with pseudo-random bytes (content generation). */
  fill(buf: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) {
      const v = this.uint32();
      buf[i] = v & 0xff;
      buf[i + 1] = (v >>> 8) & 0xff;
      buf[i + 2] = (v >>> 16) & 0xff;
      buf[i + 3] = v >>> 24;
    }
    if (i < buf.length) {
      const v = this.uint32();
      for (let k = 0; i < buf.length; i++, k++) buf[i] = (v >>> (8 * k)) & 0xff;
    }
    return buf;
  }
}
