import { BencodeError } from './errors.js';

/**
 * A decoded bencode value. Byte strings stay `Buffer`s (views into the decoded input) because
 * most of them are binary (piece hashes, compact peers); read text with `asString`.
 */
export type BencodeValue = number | Buffer | BencodeValue[] | BencodeDict;

/**
 * A decoded dictionary. Keys are the raw key bytes read as latin1, which maps each byte to one
 * char: lossless for binary keys (infohashes in scrape replies) and ordered like the bytes.
 * Dictionaries have a null prototype so that a key such as `__proto__` is just a key.
 */
export interface BencodeDict {
  [key: string]: BencodeValue;
}

export interface DecodeOptions {
  /** Deepest nesting of lists/dicts accepted. Default 64. */
  maxDepth?: number;
  /** Longest byte string accepted. Default 64 MiB. */
  maxStringLength?: number;
  /**
   * Accept dictionaries whose keys are not in ascending byte order. BEP 3 requires sorted keys,
   * but some real torrents violate it; duplicates are rejected either way.
   */
  allowUnsortedKeys?: boolean;
  /**
   * Byte offset in `buf` where decoding starts (default 0). Returned `end` and error offsets stay
   * relative to `buf`, which avoids offset juggling when walking a larger message.
   */
  start?: number;
}

export const DEFAULT_MAX_DEPTH = 64;
export const DEFAULT_MAX_STRING_LENGTH_BYTES = 64 * 1024 * 1024;

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;

interface ListFrame {
  readonly list: BencodeValue[];
  readonly dict: undefined;
}

interface DictFrame {
  readonly list: undefined;
  readonly dict: BencodeDict;
  /** Key read but whose value has not been read yet. */
  key: string | undefined;
  /** Previous key, for the ordering check. */
  lastKey: string | undefined;
}

type Frame = ListFrame | DictFrame;

function toBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decodes a buffer holding exactly one bencoded value; trailing bytes are an error. */
export function decode(buf: Uint8Array, opts?: DecodeOptions): BencodeValue {
  const { value, end } = decodePrefix(buf, opts);
  if (end !== buf.length) {
    throw new BencodeError(
      'ERR_BENCODE_TRAILING_BYTES',
      `${buf.length - end} unexpected bytes after the value`,
      end,
    );
  }
  return value;
}

/**
 * Decodes the value at the start of `buf` (or at `opts.start`) and returns where it ended; bytes after it are left
 * alone (BEP 9 ut_metadata sends raw metadata right after a bencoded dict).
 *
 * Iterative rather than recursive, so hostile nesting meets `maxDepth` and never the JS stack.
 */
export function decodePrefix(buf: Uint8Array, opts?: DecodeOptions): { value: BencodeValue; end: number } {
  const data = toBuffer(buf);
  const maxDepth = opts?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxStringLength = opts?.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH_BYTES;
  const allowUnsorted = opts?.allowUnsortedKeys ?? false;
  const len = data.length;
  const stack: Frame[] = [];
  let pos = opts?.start ?? 0;
  if (!Number.isSafeInteger(pos) || pos < 0 || pos > len) {
    throw new RangeError(`decode start ${pos} is outside the buffer of ${len} bytes`);
  }

  const truncated = (what: string): BencodeError =>
    new BencodeError('ERR_BENCODE_TRUNCATED', `input ends inside ${what}`, len);

  /** Reads a string's length prefix and body starting at `pos`; leaves `pos` after the body. */
  const readString = (): Buffer => {
    const start = pos;
    if (data[pos] === CH_0 && pos + 1 < len && data[pos + 1] !== CH_COLON) {
      throw new BencodeError('ERR_BENCODE_LEADING_ZERO', 'string length has a leading zero', start);
    }
    let n = 0;
    for (;;) {
      if (pos >= len) throw truncated('a string length');
      const c = data[pos];
      if (c === CH_COLON) break;
      if (c < CH_0 || c > CH_9) {
        throw new BencodeError(
          'ERR_BENCODE_UNEXPECTED_BYTE',
          `unexpected byte 0x${c.toString(16).padStart(2, '0')} in a string length`,
          pos,
        );
      }
      n = n * 10 + (c - CH_0);
      if (n > maxStringLength) {
        throw new BencodeError(
          'ERR_BENCODE_STRING_TOO_LONG',
          `string length exceeds the limit of ${maxStringLength} bytes`,
          start,
        );
      }
      pos++;
    }
    pos++; // the colon
    if (n > len - pos) {
      throw new BencodeError(
        'ERR_BENCODE_TRUNCATED',
        `string of ${n} bytes starting at offset ${start} runs past the end of the input`,
        len,
      );
    }
    const s = data.subarray(pos, pos + n);
    pos += n;
    return s;
  };

  const readInteger = (): number => {
    const start = pos;
    pos++; // 'i'
    let negative = false;
    if (pos < len && data[pos] === CH_MINUS) {
      negative = true;
      pos++;
    }
    const digitsStart = pos;
    let n = 0;
    for (;;) {
      if (pos >= len) throw truncated('an integer');
      const c = data[pos];
      if (c === CH_E) break;
      if (c < CH_0 || c > CH_9) {
        throw new BencodeError(
          'ERR_BENCODE_UNEXPECTED_BYTE',
          `unexpected byte 0x${c.toString(16).padStart(2, '0')} in an integer`,
          pos,
        );
      }
      if (c === CH_0 && pos === digitsStart && pos + 1 < len && data[pos + 1] !== CH_E) {
        throw new BencodeError('ERR_BENCODE_LEADING_ZERO', 'integer has a leading zero', pos);
      }
      n = n * 10 + (c - CH_0);
      if (n > Number.MAX_SAFE_INTEGER) {
        throw new BencodeError('ERR_BENCODE_INTEGER', 'integer is outside the safe integer range', start);
      }
      pos++;
    }
    if (pos === digitsStart) {
      throw new BencodeError('ERR_BENCODE_INTEGER', 'integer has no digits', start);
    }
    if (negative && n === 0) {
      throw new BencodeError('ERR_BENCODE_INTEGER', 'negative zero is not a valid integer', start);
    }
    pos++; // 'e'
    return negative ? -n : n;
  };

  const open = (frame: Frame): void => {
    if (stack.length >= maxDepth) {
      throw new BencodeError('ERR_BENCODE_TOO_DEEP', `nesting deeper than ${maxDepth} levels`, pos);
    }
    stack.push(frame);
    pos++;
  };

  for (;;) {
    if (pos >= len) throw truncated(stack.length === 0 ? 'the value' : 'a list or dictionary');
    const c = data[pos];
    const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
    let value: BencodeValue;

    if (top?.dict !== undefined && top.key === undefined) {
      // Expecting a key or the end of the dictionary.
      if (c === CH_E) {
        value = top.dict;
        stack.pop();
        pos++;
      } else if (c >= CH_0 && c <= CH_9) {
        const keyStart = pos;
        const key = readString().toString('latin1');
        if (top.lastKey !== undefined && !allowUnsorted) {
          // Latin1 strings compare char by char exactly as their bytes compare.
          if (key === top.lastKey) {
            throw new BencodeError('ERR_BENCODE_DUPLICATE_KEY', 'duplicate dictionary key', keyStart);
          }
          if (key < top.lastKey) {
            throw new BencodeError(
              'ERR_BENCODE_UNSORTED_KEYS',
              'dictionary keys are not in ascending byte order',
              keyStart,
            );
          }
        } else if (allowUnsorted && Object.hasOwn(top.dict, key)) {
          throw new BencodeError('ERR_BENCODE_DUPLICATE_KEY', 'duplicate dictionary key', keyStart);
        }
        top.key = key;
        top.lastKey = key;
        continue;
      } else {
        throw new BencodeError(
          'ERR_BENCODE_UNEXPECTED_BYTE',
          `dictionary key must be a byte string, found byte 0x${c.toString(16).padStart(2, '0')}`,
          pos,
        );
      }
    } else if (c === CH_I) {
      value = readInteger();
    } else if (c >= CH_0 && c <= CH_9) {
      value = readString();
    } else if (c === CH_L) {
      open({ list: [], dict: undefined });
      continue;
    } else if (c === CH_D) {
      open({ list: undefined, dict: Object.create(null) as BencodeDict, key: undefined, lastKey: undefined });
      continue;
    } else if (c === CH_E && top?.list !== undefined) {
      value = top.list;
      stack.pop();
      pos++;
    } else if (c === CH_MINUS && pos + 1 < len && data[pos + 1] >= CH_0 && data[pos + 1] <= CH_9) {
      throw new BencodeError('ERR_BENCODE_NEGATIVE_LENGTH', 'string length is negative', pos);
    } else {
      const where = top?.dict !== undefined ? `the value of key ${JSON.stringify(top.key)}` : 'a value';
      throw new BencodeError(
        'ERR_BENCODE_UNEXPECTED_BYTE',
        `unexpected byte 0x${c.toString(16).padStart(2, '0')} where ${where} should start`,
        pos,
      );
    }

    const parent = stack.length > 0 ? stack[stack.length - 1] : undefined;
    if (parent === undefined) return { value, end: pos };
    if (parent.list !== undefined) {
      parent.list.push(value);
    } else {
      parent.dict[parent.key as string] = value;
      parent.key = undefined;
    }
  }
}
