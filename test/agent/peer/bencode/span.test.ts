import test from 'ava';
import { BencodeError, decodePrefix, dictValueSpan, encode } from '../../../../agent/peer/bencode/index.js';

test('dictValueSpan finds the raw bytes of a key value', (t) => {
  const info = encode({ name: 'x', pieces: Buffer.alloc(20) });
  const torrent = Buffer.concat([Buffer.from('d8:announce3:url4:info'), info, Buffer.from('4:zzzzi1ee')]);
  const span = dictValueSpan(torrent, 'info');
  t.deepEqual(torrent.subarray(span?.start, span?.end), info);
  t.is(dictValueSpan(torrent, 'missing'), undefined);
});

test('dictValueSpan validates the dictionary and reports absolute offsets', (t) => {
  t.is(t.throws(() => dictValueSpan(Buffer.from('li1ee'), 'a'), { instanceOf: BencodeError })?.offset, 0);
  const err = t.throws(() => dictValueSpan(Buffer.from('d1:ai1e1:bi01ee'), 'a'), {
    instanceOf: BencodeError,
  });
  t.is(err?.code, 'ERR_BENCODE_LEADING_ZERO');
  t.is(err?.offset, 11);
});

test('decodePrefix start option: absolute end and error offsets', (t) => {
  const buf = Buffer.from('xxxi42e4:spam');
  t.deepEqual(decodePrefix(buf, { start: 3 }), { value: 42, end: 7 });
  t.deepEqual(decodePrefix(buf, { start: 7 }), { value: Buffer.from('spam'), end: 13 });
  const err = t.throws(() => decodePrefix(Buffer.from('xxxi-0e'), { start: 3 }), {
    instanceOf: BencodeError,
  });
  t.is(err?.offset, 3);
  t.throws(() => decodePrefix(buf, { start: 99 }), { instanceOf: RangeError });
});

test('dictValueSpan applies the strict checks to the outer dictionary itself', (t) => {
  const code = (s: string, opts?: Parameters<typeof dictValueSpan>[2]) =>
    t.throws(() => dictValueSpan(Buffer.from(s), 'a', opts), { instanceOf: BencodeError });
  t.is(code('d1:bi1e1:ai2ee')?.code, 'ERR_BENCODE_UNSORTED_KEYS');
  t.is(code('d1:ai1e1:ai2ee')?.code, 'ERR_BENCODE_DUPLICATE_KEY');
  t.is(code('d1:bi1e1:ai2e1:bi3ee', { allowUnsortedKeys: true })?.code, 'ERR_BENCODE_DUPLICATE_KEY');
  t.is(code('di1ei2ee')?.offset, 1);
  t.is(code('d1:ai1e')?.code, 'ERR_BENCODE_TRUNCATED');
  t.is(code('d1:alleee', { maxDepth: 2 })?.code, 'ERR_BENCODE_TOO_DEEP');
  t.deepEqual(dictValueSpan(Buffer.from('d1:bi1e1:ai2ee'), 'a', { allowUnsortedKeys: true }), {
    start: 10,
    end: 13,
  });
});
