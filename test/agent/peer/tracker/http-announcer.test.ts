import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { encode } from '../../../../agent/peer/bencode/index.js';
import { hasCode } from '../../../../agent/peer/errors.js';
import type { AnnounceRequest } from '../../../../agent/peer/tracker/announcer.js';
import { TrackerError } from '../../../../agent/peer/tracker/errors.js';
import {
  buildAnnounceQuery,
  encodeDelays,
  HttpAnnouncer,
  MAX_DELAY_REPORTS,
  parseAnnounceReply,
  percentEncodeBytes,
  scrape,
  scrapeUrlOf,
} from '../../../../agent/peer/tracker/http-announcer.js';

const URL_TEXT = 'http://tracker.test/announce';
const REQ: AnnounceRequest = {
  infoHash: Buffer.from('00ff25262b20e9' + '11'.repeat(13), 'hex'),
  peerId: Buffer.from('-SS0001-abcdefghijkl'),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
};

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A canned tracker on loopback; returns its announce URL and the request targets it saw. */
async function fakeTracker(
  t: ExecutionContext,
  handler: Handler,
  path = '/announce',
): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, seen };
}

const reply =
  (body: Buffer | string, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(body);
  };

test('binary fields are percent-encoded, unreserved bytes kept', (t) => {
  t.is(
    percentEncodeBytes(Buffer.from([0x00, 0xff, 0x25, 0x26, 0x2b, 0x20, 0x41, 0x7e, 0x2d, 0x2e, 0x5f])),
    '%00%FF%25%26%2B%20A~-._',
  );
  const query = buildAnnounceQuery(URL_TEXT, {
    ...REQ,
    event: 'started',
    numwant: 30,
    key: 'k 1',
    trackerId: 'T',
  });
  t.is(
    query,
    'info_hash=%00%FF%25%26%2B%20%E9' +
      '%11'.repeat(13) +
      '&peer_id=-SS0001-abcdefghijkl&port=6881&uploaded=1&downloaded=2&left=3&compact=1' +
      '&event=started&numwant=30&key=k%201&trackerid=T',
  );
});

test('extension parameters: ss_up rounded, ss_delay with bracketed IPv6, no hostnames, bounded', (t) => {
  const query = buildAnnounceQuery(URL_TEXT, {
    ...REQ,
    upstreamBps: 1234.6,
    delays: [
      { host: '10.0.0.1', port: 6881, delayMs: 12.34567 },
      { host: '2001:db8::1', port: 51413, delayMs: 0.5 },
      { host: 'peer.example', port: 1, delayMs: 1 },
    ],
  });
  t.true(query.endsWith('&ss_up=1235&ss_delay=10.0.0.1:6881:12.346,%5B2001%3Adb8%3A%3A1%5D:51413:0.5'));
  const many = Array.from({ length: 250 }, (_, i) => ({
    host: `10.0.${i >> 8}.${i & 255}`,
    port: 1,
    delayMs: 250 - i,
  }));
  const encoded = encodeDelays(URL_TEXT, many).split(',');
  t.is(encoded.length, MAX_DELAY_REPORTS);
  t.true(encoded.includes('10.0.0.249:1:1'), 'the shortest delays are kept');
  t.false(encoded.includes('10.0.0.0:1:250'));
  t.is(encodeDelays(URL_TEXT, [{ host: '10.0.0.1', port: 1, delayMs: 10_000_000 }]), '10.0.0.1:1:600000');
});

test('invalid requests are refused before anything is sent', (t) => {
  const bad: [Partial<AnnounceRequest>, RegExp][] = [
    [{ infoHash: Buffer.alloc(19) }, /infoHash must be 20 bytes/],
    [{ peerId: Buffer.alloc(21) }, /peerId must be 20 bytes/],
    [{ port: 0 }, /port must be 1-65535/],
    [{ left: -1 }, /left must be a non-negative integer/],
    [{ uploaded: 1.5 }, /uploaded must be a non-negative integer/],
    [{ delays: [{ host: '10.0.0.1', port: 70_000, delayMs: 1 }] }, /bad port 70000/],
    [{ delays: [{ host: '10.0.0.1', port: 1, delayMs: Number.NaN }] }, /bad delay NaN/],
  ];
  for (const [change, message] of bad) {
    const err = t.throws(() => buildAnnounceQuery(URL_TEXT, { ...REQ, ...change }));
    t.true(hasCode(err, 'ERR_TRACKER_BAD_REQUEST'));
    t.regex(err?.message ?? '', message);
    t.is((err as TrackerError).url, URL_TEXT);
  }
});

test('replies: compact IPv4 and IPv6 peers, dictionary peers, optional fields', (t) => {
  const v4 = Buffer.from([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 0, 127, 0, 0, 1, 0, 80]);
  const v6 = Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from([0, 81])]);
  const r = parseAnnounceReply(
    URL_TEXT,
    encode({
      interval: 900,
      'min interval': 60,
      complete: 4,
      incomplete: 5,
      'tracker id': 'xyz',
      'warning message': 'be nice',
      peers: v4,
      peers6: v6,
    }),
  );
  t.deepEqual(r, {
    interval: 900,
    minInterval: 60,
    complete: 4,
    incomplete: 5,
    trackerId: 'xyz',
    warning: 'be nice',
    // Port 0 cannot be dialled and is dropped.
    peers: [
      { host: '10.0.0.1', port: 6881 },
      { host: '127.0.0.1', port: 80 },
      { host: '2001:db8::1', port: 81 },
    ],
  });
  const dict = parseAnnounceReply(
    URL_TEXT,
    encode({
      interval: 1,
      peers: [
        { ip: 'peer.example', port: 7, 'peer id': Buffer.alloc(20, 1) },
        { ip: '::1', port: 8 },
      ],
    }),
  );
  t.deepEqual(dict.peers, [
    { host: 'peer.example', port: 7, peerId: Buffer.alloc(20, 1) },
    { host: '::1', port: 8 },
  ]);
  t.deepEqual(parseAnnounceReply(URL_TEXT, encode({ interval: 1 })).peers, []);
});

test('malformed replies are typed errors naming the URL and the field', (t) => {
  const cases: [Buffer, string, RegExp][] = [
    [Buffer.from('d8:intervali1e'), 'ERR_TRACKER_BAD_RESPONSE', /not valid bencode/],
    [Buffer.from('<html>'), 'ERR_TRACKER_BAD_RESPONSE', /not valid bencode/],
    [encode([1]), 'ERR_TRACKER_BAD_RESPONSE', /not a dictionary/],
    [encode({ peers: Buffer.alloc(6) }), 'ERR_TRACKER_BAD_RESPONSE', /interval: required key is missing/],
    [encode({ interval: -5 }), 'ERR_TRACKER_BAD_RESPONSE', /interval: -5 is negative/],
    [
      encode({ interval: 1, peers: Buffer.alloc(7) }),
      'ERR_TRACKER_BAD_RESPONSE',
      /peers: 7 bytes is not a multiple of 6/,
    ],
    [encode({ interval: 1, peers6: Buffer.alloc(19) }), 'ERR_TRACKER_BAD_RESPONSE', /peers6: 19 bytes/],
    [encode({ interval: 1, peers: [{ ip: 'x' }] }), 'ERR_TRACKER_BAD_RESPONSE', /peers\[0\]\.port/],
    [
      encode({ interval: 1, peers: [{ ip: 'x', port: 70_000 }] }),
      'ERR_TRACKER_BAD_RESPONSE',
      /peers\[0\]\.port: 70000 is out of range/,
    ],
    [encode({ interval: 'soon' }), 'ERR_TRACKER_BAD_RESPONSE', /interval/],
    [encode({ 'failure reason': 'go away' }), 'ERR_TRACKER_FAILURE', /tracker failure: go away/],
  ];
  for (const [body, code, message] of cases) {
    const err = t.throws(() => parseAnnounceReply(URL_TEXT, body));
    t.true(err instanceof TrackerError, body.toString('latin1'));
    t.true(hasCode(err, code), `${body.toString('latin1')}: ${err?.message}`);
    t.regex(err?.message ?? '', message);
    t.true(err?.message.startsWith(URL_TEXT));
  }
  const failure = t.throws(() => parseAnnounceReply(URL_TEXT, encode({ 'failure reason': 'closed' }), 403));
  t.true(hasCode(failure, 'ERR_TRACKER_FAILURE'));
  t.is((failure as unknown as { reason: string }).reason, 'closed');
  const status = t.throws(() => parseAnnounceReply(URL_TEXT, Buffer.from('Not Found'), 404));
  t.true(hasCode(status, 'ERR_TRACKER_HTTP_STATUS'));
  t.is((status as unknown as { status: number }).status, 404);
});

test('announce over HTTP keeps the URL query (passkey) and sends ours byte for byte', async (t) => {
  const { url, seen } = await fakeTracker(
    t,
    reply(encode({ interval: 5, peers: Buffer.from([1, 2, 3, 4, 0, 9]) })),
  );
  const announcer = new HttpAnnouncer({ url: `${url}?passkey=abc` });
  const r = await announcer.announce(REQ);
  t.deepEqual(r.peers, [{ host: '1.2.3.4', port: 9 }]);
  t.is(seen[0], `/announce?passkey=abc&${buildAnnounceQuery(url, REQ)}`);
});

test('HTTP errors, timeouts, aborts, refused connections and oversized replies are typed', async (t) => {
  const status = await fakeTracker(t, reply('oops', 500));
  t.true(
    hasCode(
      await t.throwsAsync(new HttpAnnouncer({ url: status.url }).announce(REQ)),
      'ERR_TRACKER_HTTP_STATUS',
    ),
  );

  const silent = await fakeTracker(t, () => {});
  const started = Date.now();
  const timeout = await t.throwsAsync(new HttpAnnouncer({ url: silent.url, timeoutMs: 200 }).announce(REQ));
  t.true(hasCode(timeout, 'ERR_TRACKER_TIMEOUT'));
  t.regex(timeout.message, new RegExp(`^${silent.url}: no answer within 200 ms`));
  t.true(Date.now() - started < 5_000);

  const controller = new AbortController();
  const pending = new HttpAnnouncer({ url: silent.url }).announce(REQ, controller.signal);
  controller.abort();
  t.true(hasCode(await t.throwsAsync(pending), 'ERR_ABORTED'));
  t.true(
    hasCode(
      await t.throwsAsync(new HttpAnnouncer({ url: silent.url }).announce(REQ, controller.signal)),
      'ERR_ABORTED',
    ),
  );

  // A port with nobody listening: bind one, note it, close it.
  const free = await new Promise<number>((resolve) => {
    const probe = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const refused = await t.throwsAsync(
    new HttpAnnouncer({ url: `http://127.0.0.1:${free}/announce` }).announce(REQ),
  );
  t.true(hasCode(refused, 'ERR_TRACKER_NETWORK'));
  t.regex(refused.message, new RegExp(`127.0.0.1:${free}/announce: connection failed`));

  const big = await fakeTracker(t, reply(Buffer.alloc(2_000, 0x61)));
  const tooBig = await t.throwsAsync(
    new HttpAnnouncer({ url: big.url, maxResponseBytes: 1_000 }).announce(REQ),
  );
  t.true(hasCode(tooBig, 'ERR_TRACKER_BAD_RESPONSE'));
  t.regex(tooBig.message, /exceeds 1000/);
});

test('bad tracker URLs are refused up front', (t) => {
  t.true(
    hasCode(
      t.throws(() => new HttpAnnouncer({ url: 'not a url' })),
      'ERR_TRACKER_BAD_URL',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => new HttpAnnouncer({ url: 'udp://tracker.test:80/announce' })),
      'ERR_TRACKER_BAD_URL',
    ),
  );
});

test('scrape URLs follow BEP 48', (t) => {
  t.is(scrapeUrlOf('http://t.test/announce'), 'http://t.test/scrape');
  t.is(scrapeUrlOf('http://t.test/x/announce.php?pk=1'), 'http://t.test/x/scrape.php?pk=1');
  t.is(scrapeUrlOf('http://t.test/announce?a=b'), 'http://t.test/scrape?a=b');
  t.true(
    hasCode(
      t.throws(() => scrapeUrlOf('http://t.test/a')),
      'ERR_TRACKER_BAD_URL',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => scrapeUrlOf('http://t.test/announce/x')),
      'ERR_TRACKER_BAD_URL',
    ),
  );
});

test('scrape sends every infohash and reads the files dictionary', async (t) => {
  const a = Buffer.alloc(20, 0xaa);
  const b = Buffer.alloc(20, 0x25);
  const { url, seen } = await fakeTracker(
    t,
    reply(
      encode({
        files: new Map([
          [a, { complete: 1, incomplete: 2, downloaded: 3 }],
          [b, { complete: 4 }],
        ]),
      }),
    ),
  );
  const result = await scrape(url, [a, b]);
  t.is(seen[0], `/scrape?info_hash=${'%AA'.repeat(20)}&info_hash=${'%25'.repeat(20)}`);
  t.deepEqual(result.get(a.toString('hex')), { complete: 1, incomplete: 2, downloaded: 3 });
  t.deepEqual(result.get(b.toString('hex')), { complete: 4, incomplete: 0, downloaded: 0 });
  const broken = await fakeTracker(t, reply(encode({ files: { x: 5 } })));
  t.true(hasCode(await t.throwsAsync(scrape(broken.url, [a])), 'ERR_TRACKER_BAD_RESPONSE'));
  t.true(hasCode(await t.throwsAsync(scrape(url, [Buffer.alloc(3)])), 'ERR_TRACKER_BAD_REQUEST'));
});
