import test from 'ava';
import { interpretRange } from '../../../../agent/peer/media-server/byte-range.js';

const LENGTH = 1_000;

test('single ranges: first, middle, last bytes, open-ended and suffix', (t) => {
  const partial = (header: string) => {
    const out = interpretRange(header, LENGTH);
    return out.kind === 'partial' ? out.range : out.kind;
  };
  t.deepEqual(partial('bytes=0-0'), { first: 0, last: 0 });
  t.deepEqual(partial('bytes=0-99'), { first: 0, last: 99 });
  t.deepEqual(partial('bytes=400-599'), { first: 400, last: 599 });
  t.deepEqual(partial('bytes=999-999'), { first: 999, last: 999 });
  t.deepEqual(partial('bytes=990-'), { first: 990, last: 999 });
  t.deepEqual(partial('bytes=-10'), { first: 990, last: 999 });
  // A last byte past the end is clamped; a suffix longer than the file is the whole file.
  t.deepEqual(partial('bytes=500-5000'), { first: 500, last: 999 });
  t.deepEqual(partial('bytes=-5000'), { first: 0, last: 999 });
  // Unit names are case-insensitive and whitespace around numbers is tolerated.
  t.deepEqual(partial('Bytes= 3 - 4 '), { first: 3, last: 4 });
});

test('no header, an unknown unit, or several ranges: the whole representation', (t) => {
  t.is(interpretRange(undefined, LENGTH).kind, 'full');
  t.is(interpretRange('items=0-5', LENGTH).kind, 'full');
  t.is(interpretRange('bytes=0-5,10-20', LENGTH).kind, 'full');
});

test('malformed or unsatisfiable byte ranges are 416 with a reason', (t) => {
  for (const header of [
    'bytes',
    'bytes=',
    'bytes=-',
    'bytes=abc',
    'bytes=5',
    'bytes=10-5',
    'bytes=1000-',
    'bytes=1000-2000',
    'bytes=-0',
    'bytes=1e2-300',
    'bytes=0x10-20',
    'bytes=-1-5',
    'bytes=+5-10',
    'bytes=5--10',
    'bytes=99999999999999999999-',
    'garbage',
  ]) {
    const out = interpretRange(header, LENGTH);
    t.is(out.kind, 'unsatisfiable', header);
    if (out.kind === 'unsatisfiable') t.true(out.reason.length > 0);
  }
  // An empty file has no satisfiable range at all.
  t.is(interpretRange('bytes=0-0', 0).kind, 'unsatisfiable');
  t.is(interpretRange('bytes=-5', 0).kind, 'unsatisfiable');
  t.is(interpretRange(undefined, 0).kind, 'full');
});

test('reasons quote at most a short prefix of a hostile header', (t) => {
  const out = interpretRange(`bytes=${'x'.repeat(10_000)}`, LENGTH);
  t.is(out.kind, 'unsatisfiable');
  if (out.kind === 'unsatisfiable') t.true(out.reason.length < 200);
});
