/**
 * Counts and bytes of every message type, in and out. One `MessageStats` per connection, each
 * forwarding into its torrent's totals, so accounting is two typed-array increments per message.
 *
 * Bytes are wire bytes: the 4-byte length prefix, the id and the payload (handshake: 68 bytes).
 */
export type Direction = 'in' | 'out';

/** Kinds with fixed indices; extension messages get indices from `extensionKind(name)`. */
export const MESSAGE_KINDS = [
  'handshake',
  'keepalive',
  'choke',
  'unchoke',
  'interested',
  'not_interested',
  'have',
  'bitfield',
  'request',
  'piece',
  'cancel',
  'port',
  'suggest',
  'have_all',
  'have_none',
  'reject',
  'allowed_fast',
  'extended_handshake',
  'unknown',
] as const;
export type BuiltinKind = (typeof MESSAGE_KINDS)[number];

const MAX_KINDS = 64;
const kindNames: string[] = [...MESSAGE_KINDS];
const kindIndex = new Map<string, number>(kindNames.map((name, i) => [name, i]));

/** Index of a builtin message kind. */
export function kindOf(name: BuiltinKind): number {
  return kindIndex.get(name)!;
}

/** Index of an extension message kind (`ext:<name>`), registered on first use. */
export function extensionKind(name: string): number {
  const key = `ext:${name}`;
  let index = kindIndex.get(key);
  if (index === undefined) {
    // Extension names come from our own registry, not from remote peers, so this stays small.
    index = kindNames.length < MAX_KINDS ? kindNames.length : kindOf('unknown');
    if (index !== kindOf('unknown')) {
      kindNames.push(key);
      kindIndex.set(key, index);
    }
  }
  return index;
}

/** Index of a wire message id (BEP 3/5/6/10); unknown ids map to `unknown`. */
export const KIND_BY_MESSAGE_ID: readonly number[] = (() => {
  const table = new Array<number>(256).fill(kindOf('unknown'));
  const ids: Array<[number, BuiltinKind]> = [
    [0, 'choke'],
    [1, 'unchoke'],
    [2, 'interested'],
    [3, 'not_interested'],
    [4, 'have'],
    [5, 'bitfield'],
    [6, 'request'],
    [7, 'piece'],
    [8, 'cancel'],
    [9, 'port'],
    [0x0d, 'suggest'],
    [0x0e, 'have_all'],
    [0x0f, 'have_none'],
    [0x10, 'reject'],
    [0x11, 'allowed_fast'],
  ];
  for (const [id, name] of ids) table[id] = kindOf(name);
  return table;
})();

export interface KindTotals {
  readonly count: number;
  readonly bytes: number;
}

export interface MessageStatsSnapshot {
  readonly in: Record<string, KindTotals>;
  readonly out: Record<string, KindTotals>;
}

export class MessageStats {
  readonly countIn = new Float64Array(MAX_KINDS);
  readonly bytesIn = new Float64Array(MAX_KINDS);
  readonly countOut = new Float64Array(MAX_KINDS);
  readonly bytesOut = new Float64Array(MAX_KINDS);
  readonly #parent: MessageStats | undefined;

  constructor(parent?: MessageStats) {
    this.#parent = parent;
  }

  recordIn(kind: number, bytes: number, count = 1): void {
    this.countIn[kind] += count;
    this.bytesIn[kind] += bytes;
    this.#parent?.recordIn(kind, bytes, count);
  }

  recordOut(kind: number, bytes: number, count = 1): void {
    this.countOut[kind] += count;
    this.bytesOut[kind] += bytes;
    this.#parent?.recordOut(kind, bytes, count);
  }

  /** Totals by kind name, omitting kinds never seen. */
  snapshot(): MessageStatsSnapshot {
    const pick = (counts: Float64Array, bytes: Float64Array): Record<string, KindTotals> => {
      const out: Record<string, KindTotals> = {};
      for (let i = 0; i < kindNames.length; i++) {
        if (counts[i] > 0) out[kindNames[i]] = { count: counts[i], bytes: bytes[i] };
      }
      return out;
    };
    return { in: pick(this.countIn, this.bytesIn), out: pick(this.countOut, this.bytesOut) };
  }

  /** Sum of bytes over the named kinds in one direction (e.g. have+request overhead). */
  bytesOf(direction: Direction, names: readonly string[]): number {
    const arr = direction === 'in' ? this.bytesIn : this.bytesOut;
    let sum = 0;
    for (const name of names) {
      const i = kindIndex.get(name);
      if (i !== undefined) sum += arr[i];
    }
    return sum;
  }
}
