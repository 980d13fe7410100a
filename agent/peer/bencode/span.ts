import { type BencodeDict, DEFAULT_MAX_DEPTH, type DecodeOptions, decodePrefix } from './decode.js';
import { BencodeError } from './errors.js';

/** A byte range `[start, end)` of a buffer. */
export interface ByteSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * Decodes the dictionary that starts at `opts.start` (default 0) and also reports where each of
 * its values lies in the raw bytes. Used to hash a torrent's info dictionary exactly as it appears
 * in the file: re-encoding would change the infohash of torrents whose encoding is not canonical.
 * Validation and error offsets are exactly those of `decodePrefix`.
 */
export function decodeDictWithSpans(
  buf: Uint8Array,
  opts?: DecodeOptions,
): { value: BencodeDict; spans: Map<string, ByteSpan>; end: number } {
  const first = opts?.start ?? 0;
  if (first >= buf.length)
    throw new BencodeError('ERR_BENCODE_TRUNCATED', 'input ends before the value', buf.length);
  if (buf[first] !== 0x64) {
    throw new BencodeError('ERR_BENCODE_UNEXPECTED_BYTE', 'expected a dictionary', first);
  }
  const nested: DecodeOptions = { ...opts, maxDepth: (opts?.maxDepth ?? DEFAULT_MAX_DEPTH) - 1 };
  if (nested.maxDepth !== undefined && nested.maxDepth < 0) {
    throw new BencodeError('ERR_BENCODE_TOO_DEEP', `nesting deeper than ${opts?.maxDepth} levels`, first);
  }
  const value = Object.create(null) as BencodeDict;
  const spans = new Map<string, ByteSpan>();
  let previous: string | undefined;
  let pos = first + 1;
  while (buf[pos] !== 0x65) {
    if (pos < buf.length && (buf[pos] < 0x30 || buf[pos] > 0x39)) {
      throw new BencodeError('ERR_BENCODE_UNEXPECTED_BYTE', 'dictionary key must be a byte string', pos);
    }
    const k = decodePrefix(buf, { ...nested, start: pos });
    const name = (k.value as Buffer).toString('latin1');
    if (spans.has(name)) throw new BencodeError('ERR_BENCODE_DUPLICATE_KEY', 'duplicate dictionary key', pos);
    if (!opts?.allowUnsortedKeys && previous !== undefined && name < previous) {
      throw new BencodeError(
        'ERR_BENCODE_UNSORTED_KEYS',
        'dictionary keys are not in ascending byte order',
        pos,
      );
    }
    previous = name;
    const v = decodePrefix(buf, { ...nested, start: k.end });
    value[name] = v.value;
    spans.set(name, { start: k.end, end: v.end });
    pos = v.end;
  }
  return { value, spans, end: pos + 1 };
}

/** Where the value of `key` lies in the raw bytes of a dictionary; see `decodeDictWithSpans`. */
export function dictValueSpan(buf: Uint8Array, key: string, opts?: DecodeOptions): ByteSpan | undefined {
  return decodeDictWithSpans(buf, opts).spans.get(key);
}
