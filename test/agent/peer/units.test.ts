import test from 'ava';
import {
  formatBitrate,
  formatBytes,
  formatDuration,
  parseBitrate,
  parseBytes,
  parseDuration,
  UnitError,
} from '../../../agent/peer/units.js';

test('parseBytes: plain, SI and binary units, exact decimals', (t) => {
  t.is(parseBytes('16384'), 16_384);
  t.is(parseBytes('256KiB'), 262_144);
  t.is(parseBytes('1MiB'), 1_048_576);
  t.is(parseBytes('40 MiB'), 40 * 1_048_576);
  t.is(parseBytes('1.5KiB'), 1536);
  t.is(parseBytes('2GiB'), 2 * 1024 ** 3);
  t.is(parseBytes('1TiB'), 1024 ** 4);
  t.is(parseBytes('10B'), 10);
  t.is(parseBytes('1kB'), 1000);
  t.is(parseBytes('1KB'), 1000);
  t.is(parseBytes('1.1MB'), 1_100_000);
  t.is(parseBytes(' 3 GB '), 3e9);
});

test('parseBitrate: bits and bytes per second', (t) => {
  t.is(parseBitrate('8Mbps'), 8_000_000);
  t.is(parseBitrate('1.1Mbps'), 1_100_000);
  t.is(parseBitrate('500kbps'), 500_000);
  t.is(parseBitrate('2 Gbit/s'), 2e9);
  t.is(parseBitrate('1MB/s'), 8_000_000);
  t.is(parseBitrate('1MBps'), 8_000_000);
  t.is(parseBitrate('1Kibps'), 1024);
  t.is(parseBitrate('12345'), 12_345);
  t.is(parseBitrate('100bps'), 100);
});

test('parseDuration: units, compounds, plain milliseconds', (t) => {
  t.is(parseDuration('1.5s'), 1500);
  t.is(parseDuration('200ms'), 200);
  t.is(parseDuration('10m'), 600_000);
  t.is(parseDuration('10min'), 600_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('2m 30.5s'), 150_500);
  t.is(parseDuration('1d'), 86_400_000);
  t.is(parseDuration('250'), 250);
});

const bad: [string, (s: string) => number, string][] = [
  ['bytes', parseBytes, ''],
  ['bytes', parseBytes, 'abc'],
  ['bytes', parseBytes, '-1KiB'],
  ['bytes', parseBytes, '8Mb'],
  ['bytes', parseBytes, '256K'],
  ['bytes', parseBytes, '1KIB'],
  ['bytes', parseBytes, '1.5B'],
  ['bytes', parseBytes, '1.0000001KiB'],
  ['bytes', parseBytes, '99999999999TiB'],
  ['bytes', parseBytes, '1 XB'],
  ['bitrate', parseBitrate, '8M'],
  ['bitrate', parseBitrate, '8 Mbpsx'],
  ['bitrate', parseBitrate, 'fast'],
  ['bitrate', parseBitrate, '0.5bps'],
  ['duration', parseDuration, '1.5'],
  ['duration', parseDuration, '5 parsecs'],
  ['duration', parseDuration, '1s-'],
  ['duration', parseDuration, 'constructor'],
  ['duration', parseDuration, '1constructor'],
  ['duration', parseDuration, '0.5ms'],
  ['duration', parseDuration, ''],
];

for (const [kind, parse, input] of bad) {
  test(`rejects ${kind} ${JSON.stringify(input)} with ERR_BAD_UNIT`, (t) => {
    const err = t.throws(() => parse(input), { instanceOf: UnitError });
    t.is(err?.code, 'ERR_BAD_UNIT');
  });
}

test('formatters produce readable values that parse back', (t) => {
  t.is(formatBytes(262_144), '256 KiB');
  t.is(formatBytes(1536), '1.5 KiB');
  t.is(formatBytes(100), '100 B');
  t.is(formatBytes(40 * 1_048_576), '40 MiB');
  for (const n of [0, 1, 1023, 1024, 262_144, 40 * 1_048_576, 3 * 1024 ** 3])
    t.is(parseBytes(formatBytes(n)), n);
  t.is(formatBitrate(8_000_000), '8 Mbps');
  t.is(formatBitrate(1_500), '1.5 kbps');
  t.is(parseBitrate(formatBitrate(8_000_000)), 8_000_000);
  t.is(formatDuration(200), '200ms');
  t.is(formatDuration(5_430_500), '1h30m30.5s');
  t.is(formatDuration(3_600_000), '1h');
  for (const ms of [0, 999, 1000, 61_500, 5_430_500]) t.is(parseDuration(formatDuration(ms)), ms);
});
