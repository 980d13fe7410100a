import test from 'ava';
import { hasCode } from '../../../agent/peer/errors.js';
import { buildAnnounceQuery } from '../../../agent/peer/tracker/http-announcer.js';
import {
  MAX_DELAY_REPORTS,
  parseAnnounceQuery,
  parseScrapeQuery,
  percentDecode,
  splitQuery,
} from '../../../agent/tracker/announce-params.js';
import { TrackerRequestError } from '../../../agent/tracker/errors.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const HASH = ALL_BYTES.subarray(236, 256);
const PEER = ALL_BYTES.subarray(0x20, 0x34);
const base = (extra = ''): string =>
  `info_hash=${[...HASH].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}&peer_id=${PEER.toString(
    'latin1',
  ).replace(/[%&+#= ]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}&port=6881${extra}`;

test('binary info_hash and peer_id are percent-decoded byte for byte', (t) => {
  const p = parseAnnounceQuery(base());
  t.deepEqual(p.infoHash, HASH);
  t.deepEqual(p.peerId, PEER);
  t.is(p.port, 6881);
  t.true(p.compact);
  t.false(p.noPeerId);
  t.is(p.event, undefined);
  t.is(p.numwant, undefined);
  t.is(p.delays, undefined);
  t.is(p.upstreamBps, undefined);
});

test('every byte value survives the announcer encoding and the tracker decoding', (t) => {
  for (let start = 0; start < 256; start += 20) {
    const chunk = Buffer.alloc(20);
    for (let i = 0; i < 20; i++) chunk[i] = (start + i) & 0xff;
    const query = buildAnnounceQuery('http://t/announce', {
      infoHash: chunk,
      peerId: Buffer.from(chunk).reverse(),
      port: 1,
      uploaded: 1,
      downloaded: 2,
      left: 3,
      key: 'k&y=1',
      event: 'started',
      numwant: 9,
    });
    const p = parseAnnounceQuery(query);
    t.deepEqual(p.infoHash, chunk);
    t.deepEqual(p.peerId, Buffer.from(chunk).reverse());
    t.is(p.key, 'k&y=1');
    t.deepEqual([p.uploaded, p.downloaded, p.left, p.numwant, p.event], [1, 2, 3, 9, 'started']);
  }
});

test('plus is a literal byte, not a space', (t) => {
  t.deepEqual(percentDecode('a+b%2B', 'x'), Buffer.from('a+b+'));
  t.deepEqual(parseAnnounceQuery(`${base()}&key=a+b`).key, 'a+b');
});

test('splitQuery keeps empty values, skips empty pairs and decodes escaped keys', (t) => {
  t.deepEqual(splitQuery('a=1&&b=&c&%6Bey=v&x=%zz'), [
    ['a', '1'],
    ['b', ''],
    ['c', ''],
    ['key', 'v'],
    ['x', '%zz'],
  ]);
});

test('events, flags, counts and optional addresses', (t) => {
  const p = parseAnnounceQuery(
    `${base()}&event=completed&compact=0&no_peer_id=1&uploaded=10&downloaded=20&left=0&numwant=30&ip=10.0.0.2` +
      '&ipv6=%5B2001%3Adb8%3A%3A1%5D%3A7000&ipv4=10.0.0.9&trackerid=abc&supportcrypto=1',
  );
  t.is(p.event, 'completed');
  t.false(p.compact);
  t.true(p.noPeerId);
  t.deepEqual([p.uploaded, p.downloaded, p.left, p.numwant], [10, 20, 0, 30]);
  t.deepEqual(p.ip, Buffer.from([10, 0, 0, 2]));
  t.deepEqual(p.ipv4, { address: Buffer.from([10, 0, 0, 9]) });
  t.is(p.ipv6?.port, 7000);
  t.is(p.ipv6?.address.length, 16);
  t.is(p.trackerId, 'abc');
  for (const empty of ['', 'empty', 'paused'])
    t.is(parseAnnounceQuery(`${base()}&event=${empty}`).event, undefined);
  t.is(parseAnnounceQuery(`${base()}&numwant=-1`).numwant, undefined);
});

test('ss_up and ss_delay: IPv4 and bracketed IPv6 endpoints, repeated params, last entry wins', (t) => {
  const p = parseAnnounceQuery(
    `${base()}&ss_up=1250000&ss_delay=10.0.0.1:6881:12.5,%5B::1%5D:6882:0.125&ss_delay=10.0.0.1:6881:7,10.0.0.3:1:600000`,
  );
  t.is(p.upstreamBps, 1_250_000);
  t.deepEqual(
    p.delays?.map((d) => [d.endpoint, d.delayMs, d.port]),
    [
      ['[::1]:6882', 0.125, 6882],
      ['10.0.0.1:6881', 7, 6881],
      ['10.0.0.3:1', 600_000, 1],
    ],
  );
  t.deepEqual(parseAnnounceQuery(`${base()}&ss_delay=`).delays, []);
  const full = Array.from({ length: MAX_DELAY_REPORTS }, (_, i) => `10.1.${i >> 8}.${i & 255}:9:1`).join(',');
  t.is(parseAnnounceQuery(`${base()}&ss_delay=${full}`).delays?.length, MAX_DELAY_REPORTS);
});

test('each malformed parameter is a TrackerRequestError with a stable code naming it', (t) => {
  const cases: [string, string, string][] = [
    ['port=6881', 'ERR_TRACKER_MISSING_PARAM', 'info_hash'],
    [`${base()}&numwant=10001`, 'ERR_TRACKER_NUMWANT_TOO_LARGE', 'numwant'],
    [`${base()}&event=started&event=stopped`, 'ERR_TRACKER_MALFORMED_PARAM', 'event'],
    [`${base()}&ipv4=%5B::1%5D:1`, 'ERR_TRACKER_MALFORMED_PARAM', 'ipv4'],
    [`${base()}&ipv6=10.0.0.1`, 'ERR_TRACKER_MALFORMED_PARAM', 'ipv6'],
    [`${base()}&key=${'k'.repeat(65)}`, 'ERR_TRACKER_MALFORMED_PARAM', 'key'],
    [`${base()}&ss_up=1000000000001`, 'ERR_TRACKER_MALFORMED_PARAM', 'ss_up'],
    [`${base()}&ss_delay=%5B::1:6881:4`, 'ERR_TRACKER_MALFORMED_PARAM', 'ss_delay'],
    [`${base()}&ss_delay=10.0.0.1:6881:1.2345`, 'ERR_TRACKER_MALFORMED_PARAM', 'ss_delay'],
    [`${base()}&uploaded=99999999999999999`, 'ERR_TRACKER_MALFORMED_PARAM', 'uploaded'],
  ];
  for (const [query, code, param] of cases) {
    const err = t.throws(() => parseAnnounceQuery(query), undefined, query);
    t.true(err instanceof TrackerRequestError, query);
    t.true(hasCode(err, code), `${query}: ${err?.message}`);
    t.is((err as TrackerRequestError).param, param, query);
  }
});

test('scrape queries: any number of info_hash up to the bound, other keys ignored', (t) => {
  t.deepEqual(parseScrapeQuery(''), []);
  const h = `info_hash=${'%01'.repeat(20)}`;
  t.deepEqual(parseScrapeQuery(`${h}&x=1&${h}`), [Buffer.alloc(20, 1), Buffer.alloc(20, 1)]);
  t.true(
    hasCode(
      t.throws(() => parseScrapeQuery(`info_hash=${'%01'.repeat(19)}`)),
      'ERR_TRACKER_MALFORMED_PARAM',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => parseScrapeQuery(Array(101).fill(h).join('&'))),
      'ERR_TRACKER_TOO_MANY_VALUES',
    ),
  );
});
