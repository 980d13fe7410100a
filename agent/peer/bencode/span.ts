import { type DecodeOptions, decodePrefix } from './decode.js';
import { BencodeError } from './errors.js';

/** A byte range `[start, end)` of a buffer. */
export interface ByteSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * Where the value of `key` lies in the raw bytes of the dictionary that starts at `opts.start`
 * (default 0), or undefined when the dictionary has no such key. Used to hash a torrent's info
 * dictionary exactly as it appears in the file: re-encoding would change the infohash of torrents
 * whose encoding is not canonical. The dictionary is fully validated on the way.
 */
export function dictValueSpan(buf: Uint8Array, key: string, opts?: DecodeOptions): ByteSpan | undefined {
  const first = opts?.start ?? 0;
  if (buf[first] !== 0x64) {
    throw new BencodeError('ERR_BENCODE_UNEXPECTED_BYTE', 'expected a dictionary', first);
  }
  // Decoding the whole dictionary first gives all the strict checks (and their offsets) for free.
  decodePrefix(buf, opts);
  let pos = first + 1;
  while (buf[pos] !== 0x65) {
    const k = decodePrefix(buf, { ...opts, start: pos });
    const v = decodePrefix(buf, { ...opts, start: k.end });
    if (Buffer.isBuffer(k.value) && k.value.toString('latin1') === key) return { start: k.end, end: v.end };
    pos = v.end;
  }
  return undefined;
}
