import test from 'ava';
import {
  asBuffer,
  asDict,
  asInt,
  asList,
  asString,
  BencodeMissingKeyError,
  BencodeTypeError,
  BencodeUtf8Error,
  decode,
  dictGet,
  dictRequire,
  keyPath,
} from '../../../../agent/peer/bencode/index.js';

const v = decode(Buffer.from('d1:ai1e1:bl1:xe1:cd1:di2ee1:e2:\xc3\xa91:f1:\xffe', 'latin1'));

test('typed accessors return the value when the type matches', (t) => {
  const d = asDict(v, '');
  t.is(asInt(d.a, 'a'), 1);
  t.is(asList(d.b, 'b').length, 1);
  t.is(asInt(asDict(d.c, 'c').d, 'c.d'), 2);
  t.is(asString(d.e, 'e'), 'é');
  t.deepEqual(asBuffer(d.f, 'f'), Buffer.from([0xff]));
});

test('type mismatches name the key path', (t) => {
  const d = asDict(v, '');
  const err = t.throws(() => asInt(d.b, 'info.files[3].length'), { instanceOf: BencodeTypeError });
  t.is(err?.code, 'ERR_BENCODE_WRONG_TYPE');
  t.is(err?.path, 'info.files[3].length');
  t.regex(err?.message ?? '', /info\.files\[3\]\.length.*integer.*list/);
  t.throws(() => asDict(d.a, 'a'), { instanceOf: BencodeTypeError });
  t.throws(() => asList(d.c, 'c'), { instanceOf: BencodeTypeError });
  t.throws(() => asBuffer(undefined, 'x'), { instanceOf: BencodeTypeError, message: /nothing/ });
});

test('asString rejects invalid UTF-8 instead of substituting', (t) => {
  const d = asDict(v, '');
  const err = t.throws(() => asString(d.f, 'f'), { instanceOf: BencodeUtf8Error });
  t.is(err?.code, 'ERR_BENCODE_BAD_UTF8');
});

test('dictGet ignores inherited properties; dictRequire names the missing key', (t) => {
  const d = asDict(v, '');
  t.is(dictGet(d, 'toString'), undefined);
  t.is(dictGet(d, 'a'), 1);
  const err = t.throws(() => dictRequire(d, 'zz', 'info'), { instanceOf: BencodeMissingKeyError });
  t.is(err?.code, 'ERR_BENCODE_MISSING_KEY');
  t.is(err?.path, 'info.zz');
  t.is(keyPath('', 'a'), 'a');
  t.is(keyPath('a', 3), 'a[3]');
});
