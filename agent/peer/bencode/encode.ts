import { BencodeEncodeError } from './errors.js';

/**
 * What `encode` accepts. Strings are encoded as UTF-8 byte strings; numbers must be safe integers.
 * Object keys whose value is `undefined` are skipped, which makes optional fields easy to write.
 */
export type Encodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Encodable[]
  | { readonly [key: string]: Encodable | undefined }
  | Map<string | Uint8Array, Encodable>;

const INITIAL_CAPACITY_BYTES = 256;
/** Guards the recursive writer against values nested deep enough to exhaust the JS stack. */
const MAX_ENCODE_DEPTH = 1000;
const CH_COLON = 0x3a;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;

/** A byte sink that doubles its backing buffer, so encoding is linear in the output size. */
class GrowingBuffer {
  #buf = Buffer.allocUnsafe(INITIAL_CAPACITY_BYTES);
  #length = 0;

  #reserve(extra: number): void {
    const need = this.#length + extra;
    if (need <= this.#buf.length) return;
    let capacity = this.#buf.length * 2;
    while (capacity < need) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    this.#buf.copy(next, 0, 0, this.#length);
    this.#buf = next;
  }

  byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#length++] = b;
  }

  ascii(s: string): void {
    this.#reserve(s.length);
    this.#length += this.#buf.write(s, this.#length, 'latin1');
  }

  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.#length);
    this.#length += b.length;
  }

  /** A right-sized copy, so callers never hold the oversized scratch buffer. */
  result(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#length));
  }
}

/**
 * The bytes of a dictionary key given as a JS string. Decoded dictionaries carry their keys as
 * latin1 strings (one char per byte), so a key made only of chars <= 0xFF with at least one
 * char >= 0x80 is taken to be such a key and written back as latin1: decode -> encode is then
 * lossless even for binary keys. Every other key (plain ASCII, or any char > 0xFF) is UTF-8.
 * Consequence: a hand-written key such as `'café'` becomes latin1 bytes; to force UTF-8 for such a
 * key, pass a Map with a `Buffer.from('café')` key.
 */
export function dictKeyBytes(key: string): Buffer {
  let high = false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0xff) return Buffer.from(key, 'utf8');
    if (c >= 0x80) high = true;
  }
  return Buffer.from(key, high ? 'latin1' : 'utf8');
}

function pathOf(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function writeString(out: GrowingBuffer, bytes: Uint8Array): void {
  out.ascii(String(bytes.length));
  out.byte(CH_COLON);
  out.bytes(bytes);
}

function writeDict(
  out: GrowingBuffer,
  entries: { key: Buffer; value: Encodable }[],
  path: string,
  ancestors: Set<object>,
): void {
  entries.sort((a, b) => Buffer.compare(a.key, b.key));
  out.byte(CH_D);
  for (let i = 0; i < entries.length; i++) {
    const { key, value } = entries[i];
    const name = key.toString('latin1');
    if (i > 0 && key.equals(entries[i - 1].key)) {
      throw new BencodeEncodeError(`duplicate dictionary key ${JSON.stringify(name)}`, path);
    }
    writeString(out, key);
    writeValue(out, value, pathOf(path, name), ancestors);
  }
  out.byte(CH_E);
}

function writeValue(out: GrowingBuffer, value: unknown, path: string, ancestors: Set<object>): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new BencodeEncodeError(`${value} is not a safe integer`, path);
    }
    out.byte(CH_I);
    out.ascii(String(value));
    out.byte(CH_E);
    return;
  }
  if (typeof value === 'bigint') {
    out.byte(CH_I);
    out.ascii(value.toString());
    out.byte(CH_E);
    return;
  }
  if (typeof value === 'string') {
    writeString(out, Buffer.from(value, 'utf8'));
    return;
  }
  if (value instanceof Uint8Array) {
    writeString(out, value);
    return;
  }
  if (typeof value !== 'object' || value === null) {
    throw new BencodeEncodeError(
      `cannot encode a value of type ${value === null ? 'null' : typeof value}`,
      path,
    );
  }
  if (ancestors.has(value)) throw new BencodeEncodeError('cyclic structure', path);
  if (ancestors.size >= MAX_ENCODE_DEPTH) {
    throw new BencodeEncodeError(`nesting deeper than ${MAX_ENCODE_DEPTH} levels`, path);
  }
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.byte(CH_L);
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) throw new BencodeEncodeError('undefined list item', pathOf(path, i));
      writeValue(out, value[i], pathOf(path, i), ancestors);
    }
    out.byte(CH_E);
  } else if (value instanceof Map) {
    const entries: { key: Buffer; value: Encodable }[] = [];
    for (const [k, v] of value as Map<unknown, Encodable>) {
      if (v === undefined) continue;
      if (typeof k === 'string') entries.push({ key: dictKeyBytes(k), value: v });
      else if (k instanceof Uint8Array) entries.push({ key: Buffer.from(k), value: v });
      else throw new BencodeEncodeError(`map key of type ${typeof k} is not a string or bytes`, path);
    }
    writeDict(out, entries, path, ancestors);
  } else {
    const entries: { key: Buffer; value: Encodable }[] = [];
    for (const k of Object.keys(value)) {
      const v = (value as Record<string, Encodable | undefined>)[k];
      if (v !== undefined) entries.push({ key: dictKeyBytes(k), value: v });
    }
    writeDict(out, entries, path, ancestors);
  }
  ancestors.delete(value);
}

/**
 * Bencodes a value. Dictionary keys are sorted bytewise (BEP 3) whatever order they were given
 * in; see `dictKeyBytes` for how string keys become bytes. Throws `BencodeEncodeError` for
 * non-integer or unsafe numbers, null, booleans, undefined list items, duplicate keys and cycles.
 */
export function encode(value: Encodable): Buffer {
  const out = new GrowingBuffer();
  writeValue(out, value, '', new Set());
  return out.result();
}
