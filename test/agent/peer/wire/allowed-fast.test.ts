import test from 'ava';
import { ALLOWED_FAST_COUNT, allowedFastSet } from '../../../../agent/peer/wire/allowed-fast.js';

/** The reference example of BEP 6: peer 80.4.4.200, infohash 0xaa x 20, 1313 pieces. */
const BEP6_INFO_HASH = Buffer.alloc(20, 0xaa);
const BEP6_PIECES = 1313;

test('BEP 6 reference vector: k = 7', (t) => {
  t.deepEqual(
    allowedFastSet('80.4.4.200', BEP6_INFO_HASH, BEP6_PIECES, 7),
    [1059, 431, 808, 1217, 287, 376, 1188],
  );
});

test('BEP 6 reference vector: k = 9 extends the k = 7 set by 353, 508', (t) => {
  t.deepEqual(
    allowedFastSet('80.4.4.200', BEP6_INFO_HASH, BEP6_PIECES, 9),
    [1059, 431, 808, 1217, 287, 376, 1188, 353, 508],
  );
});

test('only the /24 of the address counts, and IPv4-mapped IPv6 is the same address', (t) => {
  const reference = allowedFastSet('80.4.4.200', BEP6_INFO_HASH, BEP6_PIECES, 9);
  t.deepEqual(allowedFastSet('80.4.4.1', BEP6_INFO_HASH, BEP6_PIECES, 9), reference);
  t.deepEqual(allowedFastSet('::ffff:80.4.4.200', BEP6_INFO_HASH, BEP6_PIECES, 9), reference);
  t.notDeepEqual(allowedFastSet('80.4.5.200', BEP6_INFO_HASH, BEP6_PIECES, 9), reference);
  t.notDeepEqual(allowedFastSet('80.4.4.200', Buffer.alloc(20, 0xab), BEP6_PIECES, 9), reference);
});

test('the default size is ALLOWED_FAST_COUNT distinct pieces in range', (t) => {
  const set = allowedFastSet('10.1.2.3', BEP6_INFO_HASH, 500);
  t.is(set.length, ALLOWED_FAST_COUNT);
  t.is(new Set(set).size, set.length);
  t.true(set.every((i) => Number.isInteger(i) && i >= 0 && i < 500));
});

test('small torrents: the set is capped at the piece count, with no repeats', (t) => {
  for (const pieces of [1, 2, 3, 9, 10, 11]) {
    const set = allowedFastSet('127.0.0.1', BEP6_INFO_HASH, pieces);
    t.is(set.length, Math.min(ALLOWED_FAST_COUNT, pieces), `${pieces} pieces`);
    t.is(new Set(set).size, set.length);
    t.true(set.every((i) => i >= 0 && i < pieces));
  }
  t.deepEqual(allowedFastSet('127.0.0.1', BEP6_INFO_HASH, 0), []);
});

test('IPv6 peers and non-addresses get no allowed-fast set', (t) => {
  t.deepEqual(allowedFastSet('::1', BEP6_INFO_HASH, BEP6_PIECES), []);
  t.deepEqual(allowedFastSet('2001:db8::1', BEP6_INFO_HASH, BEP6_PIECES), []);
  t.deepEqual(allowedFastSet('not-an-ip', BEP6_INFO_HASH, BEP6_PIECES), []);
});
