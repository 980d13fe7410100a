import { SeedstreamError } from './errors.js';

export class BitfieldError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_BAD_BITFIELD', message);
  }
}

/**
 * A fixed-length bit set in BitTorrent order (bit 0 is the high bit of byte 0), with a cached
 * population count so `count`/`complete` are O(1).
 */
export class Bitfield {
  readonly length: number;
  readonly bytes: Uint8Array;
  #count = 0;

  constructor(length: number, bytes?: Uint8Array) {
    this.length = length;
    const size = Math.ceil(length / 8);
    if (bytes === undefined) {
      this.bytes = new Uint8Array(size);
      return;
    }
    if (bytes.length !== size) {
      throw new BitfieldError(`bitfield has ${bytes.length} bytes, expected ${size} for ${length} pieces`);
    }
    const spare = size * 8 - length;
    if (spare > 0 && (bytes[size - 1] & ((1 << spare) - 1)) !== 0) {
      throw new BitfieldError('bitfield has spare bits set past the last piece');
    }
    this.bytes = Uint8Array.from(bytes);
    for (let i = 0; i < size; i++) this.#count += POPCOUNT[this.bytes[i]];
  }

  static full(length: number): Bitfield {
    const b = new Bitfield(length);
    b.setAll();
    return b;
  }

  get count(): number {
    return this.#count;
  }

  get complete(): boolean {
    return this.#count === this.length;
  }

  get empty(): boolean {
    return this.#count === 0;
  }

  has(index: number): boolean {
    return index >= 0 && index < this.length && (this.bytes[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets a bit; returns true when it changed. */
  set(index: number): boolean {
    const mask = 0x80 >> (index & 7);
    const i = index >> 3;
    if ((this.bytes[i] & mask) !== 0) return false;
    this.bytes[i] |= mask;
    this.#count++;
    return true;
  }

  /** Clears a bit; returns true when it changed. */
  clear(index: number): boolean {
    const mask = 0x80 >> (index & 7);
    const i = index >> 3;
    if ((this.bytes[i] & mask) === 0) return false;
    this.bytes[i] &= ~mask;
    this.#count--;
    return true;
  }

  setAll(): void {
    this.bytes.fill(0xff);
    const spare = this.bytes.length * 8 - this.length;
    if (spare > 0) this.bytes[this.bytes.length - 1] &= 0xff << spare;
    this.#count = this.length;
  }

  clearAll(): void {
    this.bytes.fill(0);
    this.#count = 0;
  }

  /** Indices of set bits, in order. */
  *indices(): IterableIterator<number> {
    for (let i = 0; i < this.bytes.length; i++) {
      const byte = this.bytes[i];
      if (byte === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) yield i * 8 + bit;
    }
  }

  /** True when `other` has some bit this one lacks (i.e. we would be interested in it). */
  lacksAnyOf(other: Bitfield): boolean {
    for (let i = 0; i < this.bytes.length; i++) if ((other.bytes[i] & ~this.bytes[i]) !== 0) return true;
    return false;
  }

  clone(): Bitfield {
    return new Bitfield(this.length, this.bytes);
  }
}

const POPCOUNT = new Uint8Array(256);
for (let i = 0; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];
