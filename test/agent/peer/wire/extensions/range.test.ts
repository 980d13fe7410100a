import test from 'ava';
import { encodeExtended, encodeHave } from '../../../../../agent/peer/wire/encoder.js';
import {
  decodeRange,
  encodeRange,
  HAVE_FRAME_LENGTH,
  InvalidRangeError,
  MalformedRangeError,
  pieceRuns,
  RANGE_FRAME_LENGTH,
  RangeExtension,
  type RangeKind,
  SS_RANGE,
} from '../../../../../agent/peer/wire/extensions/range.js';
import type { ExtensionPeer } from '../../../../../agent/peer/wire/extensions/wire-extension.js';

const PEER: ExtensionPeer = {
  id: 'p',
  host: '127.0.0.1',
  send: () => false,
  supports: () => false,
  fail: () => {},
};

test('wire layout: <len=11><20><remote id><sub-type><first u32 BE><count u32 BE>', (t) => {
  const frame = encodeExtended(3, encodeRange('request', 4765, 100));
  t.is(frame.length, RANGE_FRAME_LENGTH);
  t.deepEqual([...frame], [0, 0, 0, 11, 20, 3, 2, 0, 0, 0x12, 0x9d, 0, 0, 0, 100]);
  t.deepEqual([...encodeRange('have', 1, 2)], [0, 0, 0, 0, 1, 0, 0, 0, 2]);
  t.deepEqual([...encodeRange('nohave', 1, 2)], [1, 0, 0, 0, 1, 0, 0, 0, 2]);
  // A lone have is cheaper as a BEP 3 have; a run of two is cheaper as a range.
  t.is(encodeHave(5).length, HAVE_FRAME_LENGTH);
  t.true(HAVE_FRAME_LENGTH < RANGE_FRAME_LENGTH && 2 * HAVE_FRAME_LENGTH > RANGE_FRAME_LENGTH);
  t.is(SS_RANGE, 'ss_range');
});

test('round trip of every kind, including the last piece and a range of the whole torrent', (t) => {
  for (const kind of ['have', 'nohave', 'request'] as RangeKind[]) {
    for (const [first, count] of [
      [0, 1],
      [0, 1000],
      [999, 1],
      [500, 500],
    ]) {
      t.deepEqual(decodeRange(encodeRange(kind, first, count), 1000), { kind, first, count });
    }
  }
});

test('an unknown sub-type is ignored (undefined), whatever its length', (t) => {
  t.is(decodeRange(Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 1]), 10), undefined);
  t.is(decodeRange(Buffer.from([0xff]), 10), undefined);
  const ext = new RangeExtension(10, {
    onRangeHave: () => t.fail(),
    onRangeNoHave: () => t.fail(),
    onRangeRequest: () => t.fail(),
  });
  t.notThrows(() => ext.onMessage(PEER, Buffer.from([7, 1, 2])));
});

const raw = (subtype: number, first: number, count: number): Buffer => {
  const b = Buffer.alloc(9);
  b[0] = subtype;
  b.writeUInt32BE(first, 1);
  b.writeUInt32BE(count, 5);
  return b;
};

const MALFORMED: ReadonlyArray<[string, Buffer]> = [
  ['an empty payload', Buffer.alloc(0)],
  ['a truncated range have', raw(0, 1, 1).subarray(0, 8)],
  ['a range request with a trailing byte', Buffer.concat([raw(2, 1, 1), Buffer.from([0])])],
  ['a count of zero', raw(0, 3, 0)],
  ['first + count past the last piece', raw(2, 5, 6)],
  ['first equal to the piece count', raw(1, 10, 1)],
  ['first + count overflowing 32 bits', raw(0, 5, 0xffff_ffff)],
  ['first 2^32-1', raw(2, 0xffff_ffff, 1)],
];

for (const [title, payload] of MALFORMED) {
  test(`malformed: ${title} is ERR_BAD_RANGE, a protocol error`, (t) => {
    const err = t.throws(() => decodeRange(payload, 10), { instanceOf: MalformedRangeError });
    t.is(err?.code, 'ERR_BAD_RANGE');
    const ext = new RangeExtension(10, {
      onRangeHave: () => t.fail(),
      onRangeNoHave: () => t.fail(),
      onRangeRequest: () => t.fail(),
    });
    t.throws(() => ext.onMessage(PEER, payload), { instanceOf: MalformedRangeError });
  });
}

test('we never encode a range no receiver could accept', (t) => {
  for (const [first, count] of [
    [0, 0],
    [-1, 2],
    [1.5, 2],
    [0xffff_ffff, 2],
  ]) {
    const err = t.throws(() => encodeRange('have', first, count), { instanceOf: InvalidRangeError });
    t.is(err?.code, 'ERR_RANGE_INVALID');
  }
});

test('the extension dispatches each kind to the torrent', (t) => {
  const seen: string[] = [];
  const ext = new RangeExtension(100, {
    onRangeHave: (_p, f, c) => seen.push(`have ${f}+${c}`),
    onRangeNoHave: (_p, f, c) => seen.push(`nohave ${f}+${c}`),
    onRangeRequest: (_p, f, c) => seen.push(`request ${f}+${c}`),
  });
  ext.onMessage(PEER, encodeRange('have', 1, 2));
  ext.onMessage(PEER, encodeRange('nohave', 3, 4));
  ext.onMessage(PEER, encodeRange('request', 5, 95));
  t.deepEqual(seen, ['have 1+2', 'nohave 3+4', 'request 5+95']);
});

test('pieceRuns: consecutive pieces make one run; a bridge joins runs over pieces it accepts', (t) => {
  t.deepEqual(pieceRuns([]), []);
  t.deepEqual(pieceRuns([4]), [{ first: 4, count: 1 }]);
  t.deepEqual(pieceRuns([1, 2, 3, 7, 8, 10]), [
    { first: 1, count: 3 },
    { first: 7, count: 2 },
    { first: 10, count: 1 },
  ]);
  // 4..6 bridged (held), 9 not: 1..8 is one run, 10 another.
  const held = new Set([4, 5, 6]);
  t.deepEqual(
    pieceRuns([1, 2, 3, 7, 8, 10], (p) => held.has(p)),
    [
      { first: 1, count: 8 },
      { first: 10, count: 1 },
    ],
  );
});
