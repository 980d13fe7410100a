import test from 'ava';
import { compactEndpoint, formatEndpoint, formatIp, parseIp } from '../../../agent/tracker/address.js';

test('parses IPv4 and IPv6 literals to bytes and formats them canonically', (t) => {
  const cases: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8:0:0:1::1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::1.2.3.4', '::102:304'],
    ['fe80::a:0:0:0:b', 'fe80:0:0:a::b'],
  ];
  for (const [text, canonical] of cases) {
    const bytes = parseIp(text);
    t.truthy(bytes, text);
    if (bytes === undefined) continue;
    t.is(bytes.length, text.includes(':') ? 16 : 4, text);
    t.is(formatIp(bytes), canonical, text);
    t.deepEqual(parseIp(formatIp(bytes)), bytes, text);
  }
});

test('IPv4-mapped IPv6 addresses become the IPv4 address', (t) => {
  t.deepEqual(parseIp('::ffff:10.0.0.1'), Buffer.from([10, 0, 0, 1]));
  t.deepEqual(parseIp('::ffff:a00:1'), Buffer.from([10, 0, 0, 1]));
});

test('anything that is not an IP literal is refused', (t) => {
  for (const bad of [
    '',
    'abc',
    'localhost',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    ' 1.2.3.4',
    ':1',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'fe80::1%eth0',
    '[::1]',
    '::1.2.3.256',
  ]) {
    t.is(parseIp(bad), undefined, bad);
  }
});

test('endpoints: text with brackets for IPv6, compact bytes with a big-endian port', (t) => {
  t.is(formatEndpoint(parseIp('10.0.0.1')!, 6881), '10.0.0.1:6881');
  t.is(formatEndpoint(parseIp('::1')!, 6881), '[::1]:6881');
  t.deepEqual(compactEndpoint(parseIp('10.0.0.1')!, 0x1ae1), Buffer.from([10, 0, 0, 1, 0x1a, 0xe1]));
  t.is(compactEndpoint(parseIp('::1')!, 1).length, 18);
});
