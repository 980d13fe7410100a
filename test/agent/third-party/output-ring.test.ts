import test from 'ava';
import { OutputRing } from '../../../agent/third-party/output-ring.js';

test('keeps everything while under the limit', (t) => {
  const ring = new OutputRing(100);
  ring.push('hello ');
  ring.push(Buffer.from('world'));
  t.is(ring.text(), 'hello world');
});

test('keeps only the last limitBytes and says how much was dropped', (t) => {
  const ring = new OutputRing(10);
  ring.push('0123456789');
  ring.push('abcdef');
  t.is(ring.text(), '[... 6 earlier bytes dropped]\n6789abcdef');
  ring.push('x'.repeat(25));
  t.is(ring.text(), `[... 31 earlier bytes dropped]\n${'x'.repeat(10)}`);
});
