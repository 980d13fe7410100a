import test from 'ava';
import { BencodeError, decode, decodePrefix } from '../../../../agent/peer/bencode/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('decodes integers, strings, lists and dicts', (t) => {
  t.is(decode(b('i0e')), 0);
  t.is(decode(b('i-42e')), -42);
  t.is(decode(b('i9007199254740991e')), Number.MAX_SAFE_INTEGER);
  t.is(decode(b('i-9007199254740991e')), -Number.MAX_SAFE_INTEGER);
  t.deepEqual(decode(b('4:spam')), b('spam'));
  t.deepEqual(decode(b('0:')), Buffer.alloc(0));
  t.deepEqual(decode(b('l4:spami7ee')), [b('spam'), 7]);
  const d = decode(b('d3:cow3:moo4:spaml1:a1:bee'));
  t.deepEqual({ ...(d as object) }, { cow: b('moo'), spam: [b('a'), b('b')] });
});

test('decoded strings are views into the input, not copies', (t) => {
  const input = b('l4:spame');
  const [s] = decode(input) as Buffer[];
  t.is(s.buffer, input.buffer);
  t.is(s.byteOffset, input.byteOffset + 3);
  input[3] = 'S'.charCodeAt(0);
  t.is(s.toString(), 'Spam');
});

test('accepts a plain Uint8Array (not a Buffer)', (t) => {
  const u8 = new Uint8Array(b('xxd1:ai1ee')).subarray(2);
  const d = decode(u8) as Record<string, unknown>;
  t.is(d.a, 1);
});

test('dict keys are latin1 strings, lossless for binary keys', (t) => {
  const key = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0xa9]);
  const input = Buffer.concat([b('d6:'), key, b('i1ee')]);
  const d = decode(input) as Record<string, unknown>;
  const keys = Object.keys(d);
  t.is(keys.length, 1);
  t.deepEqual(Buffer.from(keys[0], 'latin1'), key);
});

test('a __proto__ key is an ordinary key (no prototype pollution)', (t) => {
  const d = decode(b('d9:__proto__d1:xi1eee')) as Record<string, unknown>;
  t.true(Object.hasOwn(d, '__proto__'));
  t.is(({} as Record<string, unknown>).x, undefined);
  t.is(Object.getPrototypeOf(d), null);
});

test('decodePrefix returns where the value ended and ignores what follows', (t) => {
  const input = Buffer.concat([b('d8:msg_typei1e5:piecei0ee'), Buffer.from([1, 2, 3])]);
  const { value, end } = decodePrefix(input);
  t.is(end, input.length - 3);
  t.is((value as Record<string, unknown>).piece, 0);
});

interface Rejection {
  input: string;
  code: string;
  offset: number;
  opts?: Parameters<typeof decode>[1];
}

const rejections: Rejection[] = [
  { input: '', code: 'ERR_BENCODE_TRUNCATED', offset: 0 },
  { input: 'i03e', code: 'ERR_BENCODE_LEADING_ZERO', offset: 1 },
  { input: 'i-03e', code: 'ERR_BENCODE_LEADING_ZERO', offset: 2 },
  { input: 'i00e', code: 'ERR_BENCODE_LEADING_ZERO', offset: 1 },
  { input: '03:abc', code: 'ERR_BENCODE_LEADING_ZERO', offset: 0 },
  { input: 'l1:a03:abce', code: 'ERR_BENCODE_LEADING_ZERO', offset: 4 },
  { input: 'i-0e', code: 'ERR_BENCODE_INTEGER', offset: 0 },
  { input: 'ie', code: 'ERR_BENCODE_INTEGER', offset: 0 },
  { input: 'i-e', code: 'ERR_BENCODE_INTEGER', offset: 0 },
  { input: 'i9007199254740992e', code: 'ERR_BENCODE_INTEGER', offset: 0 },
  { input: 'li1ei-99999999999999999999ee', code: 'ERR_BENCODE_INTEGER', offset: 4 },
  { input: 'i1.5e', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 2 },
  { input: 'i+1e', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 1 },
  { input: '-3:abc', code: 'ERR_BENCODE_NEGATIVE_LENGTH', offset: 0 },
  { input: 'l-1:ae', code: 'ERR_BENCODE_NEGATIVE_LENGTH', offset: 1 },
  { input: 'i12', code: 'ERR_BENCODE_TRUNCATED', offset: 3 },
  { input: '5:abc', code: 'ERR_BENCODE_TRUNCATED', offset: 5 },
  { input: '12', code: 'ERR_BENCODE_TRUNCATED', offset: 2 },
  { input: 'l', code: 'ERR_BENCODE_TRUNCATED', offset: 1 },
  { input: 'li1e', code: 'ERR_BENCODE_TRUNCATED', offset: 4 },
  { input: 'd1:a', code: 'ERR_BENCODE_TRUNCATED', offset: 4 },
  { input: 'i1ei2e', code: 'ERR_BENCODE_TRAILING_BYTES', offset: 3 },
  { input: 'le ', code: 'ERR_BENCODE_TRAILING_BYTES', offset: 2 },
  { input: 'e', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 0 },
  { input: 'x', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 0 },
  { input: '3x', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 1 },
  { input: 'di1ei2ee', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 1 },
  { input: 'd1:ae', code: 'ERR_BENCODE_UNEXPECTED_BYTE', offset: 4 },
  { input: 'd1:bi1e1:ai2ee', code: 'ERR_BENCODE_UNSORTED_KEYS', offset: 7 },
  { input: 'd2:abi1e1:ai2ee', code: 'ERR_BENCODE_UNSORTED_KEYS', offset: 8 },
  { input: 'd1:ai1e1:ai2ee', code: 'ERR_BENCODE_DUPLICATE_KEY', offset: 7 },
  {
    input: 'd1:bi1e1:ai2e1:bi3ee',
    code: 'ERR_BENCODE_DUPLICATE_KEY',
    offset: 13,
    opts: { allowUnsortedKeys: true },
  },
  { input: '10:abc', code: 'ERR_BENCODE_STRING_TOO_LONG', offset: 0, opts: { maxStringLength: 9 } },
  { input: '99999999999999999999999:', code: 'ERR_BENCODE_STRING_TOO_LONG', offset: 0 },
  { input: 'lllleeee', code: 'ERR_BENCODE_TOO_DEEP', offset: 3, opts: { maxDepth: 3 } },
];

for (const r of rejections) {
  test(`rejects ${JSON.stringify(r.input)}${r.opts ? ` with ${JSON.stringify(r.opts)}` : ''} as ${r.code}`, (t) => {
    const err = t.throws(() => decode(b(r.input), r.opts), { instanceOf: BencodeError });
    t.is(err?.code, r.code);
    t.is(err?.offset, r.offset);
    t.regex(err?.message ?? '', new RegExp(`offset ${r.offset}\\b`));
  });
}

test('allowUnsortedKeys accepts unsorted dictionaries', (t) => {
  const d = decode(b('d1:bi1e1:ai2ee'), { allowUnsortedKeys: true }) as Record<string, unknown>;
  t.is(d.a, 2);
  t.is(d.b, 1);
});

test('key order is compared bytewise (0xff after ASCII)', (t) => {
  const ok = Buffer.concat([b('d1:ai1e1:'), Buffer.from([0xff]), b('i2ee')]);
  t.notThrows(() => decode(ok));
  const bad = Buffer.concat([b('d1:'), Buffer.from([0xff]), b('i2e1:ai1ee')]);
  t.is(t.throws(() => decode(bad), { instanceOf: BencodeError })?.code, 'ERR_BENCODE_UNSORTED_KEYS');
});

test('exactly maxDepth levels are accepted', (t) => {
  t.deepEqual(decode(b('llleee'), { maxDepth: 3 }), [[[]]]);
});

test('nesting 100000 deep throws the typed error, not RangeError', (t) => {
  const depth = 100_000;
  const input = b('l'.repeat(depth) + 'e'.repeat(depth));
  const err = t.throws(() => decode(input), { instanceOf: BencodeError });
  t.is(err?.code, 'ERR_BENCODE_TOO_DEEP');
  t.is(err?.offset, 64);
  const dicts = b('d1:a'.repeat(depth) + 'i1e' + 'e'.repeat(depth));
  t.is(t.throws(() => decode(dicts), { instanceOf: BencodeError })?.code, 'ERR_BENCODE_TOO_DEEP');
});

test('a raised maxDepth decodes deep input iteratively', (t) => {
  const depth = 100_000;
  let v = decode(b('l'.repeat(depth) + 'e'.repeat(depth)), { maxDepth: depth }) as unknown[];
  let levels = 1;
  while (v.length === 1) {
    v = v[0] as unknown[];
    levels++;
  }
  t.is(levels, depth);
});
