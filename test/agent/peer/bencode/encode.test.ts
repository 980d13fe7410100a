import test from 'ava';
import {
  BencodeEncodeError,
  decode,
  dictKeyBytes,
  type Encodable,
  encode,
} from '../../../../agent/peer/bencode/index.js';

const s = (buf: Buffer): string => buf.toString('latin1');

test('encodes scalars', (t) => {
  t.is(s(encode(0)), 'i0e');
  t.is(s(encode(-42)), 'i-42e');
  t.is(s(encode(123456789012345678901234567890n)), 'i123456789012345678901234567890e');
  t.is(s(encode('spam')), '4:spam');
  t.is(s(encode('')), '0:');
  t.is(s(encode('é')), '2:\xc3\xa9');
  t.is(s(encode(new Uint8Array([0, 255]))), '2:\x00\xff');
});

test('sorts dictionary keys bytewise and skips undefined values', (t) => {
  t.is(s(encode({ zeta: 1, alpha: 'x', mid: undefined, Beta: [] })), 'd4:Betale5:alpha1:x4:zetai1ee');
  const m = new Map<string | Uint8Array, Encodable>([
    [Buffer.from([0xff]), 1],
    ['a', 2],
    [Buffer.from([0x00]), 3],
  ]);
  t.is(s(encode(m)), 'd1:\x00i3e1:ai2e1:\xffi1ee');
});

test('object keys: ASCII and chars > 0xFF are UTF-8; latin1-range high chars are latin1', (t) => {
  t.deepEqual(dictKeyBytes('abc'), Buffer.from('abc'));
  t.deepEqual(dictKeyBytes('ключ'), Buffer.from('ключ', 'utf8'));
  t.deepEqual(dictKeyBytes('\xc3\xa9'), Buffer.from([0xc3, 0xa9]));
  t.deepEqual(dictKeyBytes('\x00\xff'), Buffer.from([0x00, 0xff]));
});

test('decode -> encode round-trips byte for byte, including binary keys', (t) => {
  const inputs = [
    Buffer.from('d3:cow3:moo4:spaml1:a1:bee', 'latin1'),
    Buffer.concat([
      Buffer.from('d5:filesd20:', 'latin1'),
      Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex'),
      Buffer.from('d8:completei5eeee', 'latin1'),
    ]),
    Buffer.from('li-1ei0e0:ledee', 'latin1'),
  ];
  for (const input of inputs) t.deepEqual(encode(decode(input) as Encodable), input);
});

test('encode -> decode round-trips values', (t) => {
  const value = { list: [1, -2, 'three', [new Uint8Array([4])]], nested: { a: { b: { c: 0 } } } };
  const back = decode(encode(value));
  t.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(decode(encode(value)))));
  const d = back as Record<string, Record<string, unknown> & unknown[]>;
  t.deepEqual(d.list[2], Buffer.from('three'));
  t.is(d.list[1], -2);
});

test('large values encode in linear time', (t) => {
  const pieces = Buffer.alloc(20 * 100_000, 7);
  const files = Array.from({ length: 20_000 }, (_, i) => ({ length: i, path: [`dir${i % 10}`, `f${i}`] }));
  const started = performance.now();
  const out = encode({ info: { files, pieces } });
  const elapsed = performance.now() - started;
  t.true(out.length > pieces.length);
  t.true(elapsed < 2000, `took ${elapsed} ms`);
});

const bad: [string, unknown, string][] = [
  ['fraction', { a: 1.5 }, 'a'],
  ['NaN', [Number.NaN], '[0]'],
  ['unsafe integer', { x: [2 ** 60] }, 'x[0]'],
  ['null', { a: { b: null } }, 'a.b'],
  ['boolean', true, ''],
  ['undefined list item', [1, undefined], '[1]'],
];

for (const [name, value, path] of bad) {
  test(`rejects ${name}`, (t) => {
    const err = t.throws(() => encode(value as Encodable), { instanceOf: BencodeEncodeError });
    t.is(err?.code, 'ERR_BENCODE_UNENCODABLE');
    t.is(err?.path, path);
  });
}

test('rejects keys that collide once encoded', (t) => {
  const m = new Map<string | Uint8Array, Encodable>([
    ['a', 1],
    [Buffer.from('a'), 2],
  ]);
  t.is(t.throws(() => encode(m), { instanceOf: BencodeEncodeError })?.code, 'ERR_BENCODE_UNENCODABLE');
});

test('rejects cycles and absurd nesting without a stack overflow', (t) => {
  const cyclic: Encodable[] = [];
  (cyclic as unknown[]).push(cyclic);
  t.throws(() => encode(cyclic), { instanceOf: BencodeEncodeError, message: /cyclic/ });
  let deep: Encodable = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.throws(() => encode(deep), { instanceOf: BencodeEncodeError, message: /deeper/ });
});

test('a shared (non-cyclic) sub-value is fine', (t) => {
  const shared = { x: 1 };
  t.is(s(encode([shared, shared])), 'ld1:xi1eed1:xi1eee');
});
