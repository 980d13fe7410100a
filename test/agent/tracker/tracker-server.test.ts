import http from 'node:http';
import test from 'ava';
import { asBuffer, asInt, asList, decode, isDict } from '../../../agent/peer/bencode/index.js';
import { hasCode } from '../../../agent/peer/errors.js';
import type { AnnounceRequest } from '../../../agent/peer/tracker/announcer.js';
import { HttpAnnouncer, scrape } from '../../../agent/peer/tracker/http-announcer.js';
import { type AnnounceRecord, RandomSelector, TrackerServer } from '../../../agent/tracker/index.js';
import {
  announceQuery,
  bodyDict,
  failureOf,
  hasIpv6Loopback,
  id20,
  rawExchange,
  rawGet,
  startTracker,
} from './tracker-helpers.js';

const INFO_HASH = id20(0xabcdef, 0x11);
const OTHER_HASH = id20(0x123456, 0x22);

function request(n: number, extra: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return {
    infoHash: INFO_HASH,
    peerId: id20(n),
    port: 20_000 + n,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    ...extra,
  };
}

test('announce round trip: compact IPv4 peers, counts, intervals', async (t) => {
  const { url } = await startTracker(t, { intervalSec: 120, minIntervalSec: 30 });
  const announcer = new HttpAnnouncer({ url });
  const first = await announcer.announce(request(1, { event: 'started', left: 0 }));
  t.deepEqual(first.peers, []);
  t.is(first.interval, 120);
  t.is(first.minInterval, 30);
  t.is(first.complete, 1);
  t.is(first.incomplete, 0);
  await announcer.announce(request(2, { event: 'started' }));
  const third = await announcer.announce(request(3, { event: 'started' }));
  t.is(third.complete, 1);
  t.is(third.incomplete, 2);
  t.deepEqual(
    [...third.peers].sort((a, b) => a.port - b.port),
    [
      { host: '127.0.0.1', port: 20_001 },
      { host: '127.0.0.1', port: 20_002 },
    ],
  );
});

test('peers of one torrent never leak into another', async (t) => {
  const { url } = await startTracker(t);
  const announcer = new HttpAnnouncer({ url });
  await announcer.announce(request(1));
  const other = await announcer.announce(request(2, { infoHash: OTHER_HASH }));
  t.deepEqual(other.peers, []);
  t.is(other.incomplete, 1);
});

const ipv6 = hasIpv6Loopback();

(ipv6 ? test : test.skip)('IPv6 peers come back in peers6 (BEP 7)', async (t) => {
  const server = new TrackerServer({ host: '::1', port: 0 });
  t.teardown(() => server.stop());
  await server.start();
  t.is(server.announceUrl, `http://[::1]:${server.address!.port}/announce`);
  const announcer = new HttpAnnouncer({ url: server.announceUrl! });
  await announcer.announce(request(1));
  const reply = await rawGet(
    server.address!.port,
    `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(2), port: 7000 })}`,
    '::1',
  );
  const dict = bodyDict(reply);
  t.deepEqual(asBuffer(dict.peers, 'peers'), Buffer.alloc(0));
  const peers6 = asBuffer(dict.peers6, 'peers6');
  t.is(peers6.length, 18);
  t.deepEqual(peers6.subarray(0, 16), Buffer.from('00000000000000000000000000000001', 'hex'));
  t.is(peers6.readUInt16BE(16), 20_001);
  const parsed = await announcer.announce(request(3));
  t.deepEqual(
    parsed.peers.map((p) => p.host),
    ['::1', '::1'],
  );
});

(ipv6 ? test : test.skip)('a dual-stack tracker files IPv4 clients under peers, not peers6', async (t) => {
  const server = new TrackerServer({ host: '::', port: 0 });
  t.teardown(() => server.stop());
  const { port } = await server.start();
  await new HttpAnnouncer({ url: `http://127.0.0.1:${port}/announce` }).announce(request(1));
  const reply = await new HttpAnnouncer({ url: `http://[::1]:${port}/announce` }).announce(request(2));
  t.deepEqual(reply.peers, [{ host: '127.0.0.1', port: 20_001 }]);
  const back = await new HttpAnnouncer({ url: `http://127.0.0.1:${port}/announce` }).announce(request(1));
  t.deepEqual(back.peers, [{ host: '::1', port: 20_002 }]);
});

test('compact=0 gives the dictionary form, with peer ids unless no_peer_id=1', async (t) => {
  const { port } = await startTracker(t);
  const announcer = new HttpAnnouncer({ url: `http://127.0.0.1:${port}/announce` });
  await announcer.announce(request(1));
  const reply = await rawGet(
    port,
    `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(2), port: 7000, compact: 0 })}`,
  );
  const peers = asList(bodyDict(reply).peers, 'peers');
  t.is(peers.length, 1);
  const entry = peers[0];
  t.true(isDict(entry));
  if (!isDict(entry)) return;
  t.deepEqual(asBuffer(entry['peer id'], 'peer id'), id20(1));
  t.is(asBuffer(entry.ip, 'ip').toString(), '127.0.0.1');
  t.is(asInt(entry.port, 'port'), 20_001);

  const noId = await rawGet(
    port,
    `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(3), port: 7001, compact: 0, no_peer_id: 1 })}`,
  );
  const noIdPeers = asList(bodyDict(noId).peers, 'peers');
  t.is(noIdPeers.length, 2);
  t.true(noIdPeers.every((p) => isDict(p) && p['peer id'] === undefined && p.ip !== undefined));
});

test('numwant is honoured, capped at maxNumwant, defaulted, and refused when absurd', async (t) => {
  const { url, port } = await startTracker(t, { maxNumwant: 20, defaultNumwant: 7 });
  const announcer = new HttpAnnouncer({ url });
  for (let n = 0; n < 30; n++) await announcer.announce(request(n));
  t.is((await announcer.announce(request(100, { numwant: 5 }))).peers.length, 5);
  t.is((await announcer.announce(request(100, { numwant: 0 }))).peers.length, 0);
  t.is((await announcer.announce(request(100, { numwant: 25 }))).peers.length, 20);
  t.is((await announcer.announce(request(100))).peers.length, 7);
  const minusOne = await rawGet(
    port,
    `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(101), port: 9, numwant: -1 })}`,
  );
  t.is(asBuffer(bodyDict(minusOne).peers, 'peers').length, 7 * 6);
  const err = await t.throwsAsync(announcer.announce(request(100, { numwant: 10_001 })));
  t.true(hasCode(err, 'ERR_TRACKER_FAILURE'));
  t.regex(err.message, /numwant 10001 is larger than 10000/);
});

test('a returned list never holds the asking peer or duplicates', async (t) => {
  const { url } = await startTracker(t);
  const announcer = new HttpAnnouncer({ url });
  for (let n = 0; n < 12; n++) await announcer.announce(request(n));
  for (let n = 0; n < 12; n++) {
    const { peers } = await announcer.announce(request(n, { numwant: 50 }));
    const ports = peers.map((p) => p.port);
    t.is(peers.length, 11);
    t.false(ports.includes(20_000 + n));
    t.is(new Set(ports).size, ports.length);
  }
});

test('event=stopped removes the peer; completed moves it from incomplete to complete once', async (t) => {
  const { url } = await startTracker(t);
  const announcer = new HttpAnnouncer({ url });
  await announcer.announce(request(1, { event: 'started' }));
  await announcer.announce(request(2, { event: 'started' }));
  const done = await announcer.announce(request(1, { event: 'completed', left: 0 }));
  t.is(done.complete, 1);
  t.is(done.incomplete, 1);
  await announcer.announce(request(1, { event: 'completed', left: 0 }));
  let counts = (await scrape(url, [INFO_HASH])).get(INFO_HASH.toString('hex'));
  t.deepEqual(counts, { complete: 1, incomplete: 1, downloaded: 1 });

  const stopped = await announcer.announce(request(1, { event: 'stopped', left: 0 }));
  t.deepEqual(stopped.peers, []);
  t.is(stopped.complete, 0);
  counts = (await scrape(url, [INFO_HASH])).get(INFO_HASH.toString('hex'));
  t.deepEqual(counts, { complete: 0, incomplete: 1, downloaded: 1 });
  const after = await announcer.announce(request(3));
  t.deepEqual(after.peers, [{ host: '127.0.0.1', port: 20_002 }]);
  // Stopping a peer the tracker never saw is harmless and creates nothing.
  const ghost = await announcer.announce(request(9, { infoHash: OTHER_HASH, event: 'stopped' }));
  t.deepEqual(ghost.peers, []);
  t.false((await scrape(url, [])).has(OTHER_HASH.toString('hex')));
});

test('peers expire after peerTtlSec without announcing (injected clock)', async (t) => {
  let nowMs = 1_000_000;
  const { url } = await startTracker(t, { peerTtlSec: 100 }, { now: () => nowMs });
  const announcer = new HttpAnnouncer({ url });
  await announcer.announce(request(1));
  nowMs += 60_000;
  await announcer.announce(request(2));
  nowMs += 39_000;
  t.is((await announcer.announce(request(3))).peers.length, 2);
  nowMs += 2_000; // peer 1 is now 101 s old, peer 2 41 s
  const { peers } = await announcer.announce(request(3));
  t.deepEqual(peers, [{ host: '127.0.0.1', port: 20_002 }]);
  t.deepEqual((await scrape(url, [INFO_HASH])).get(INFO_HASH.toString('hex')), {
    complete: 0,
    incomplete: 2,
    downloaded: 0,
  });
  nowMs += 1_000_000;
  t.deepEqual((await scrape(url, [INFO_HASH])).get(INFO_HASH.toString('hex')), {
    complete: 0,
    incomplete: 0,
    downloaded: 0,
  });
});

test('scrape reports several torrents, zeros for unknown ones, everything when none is named', async (t) => {
  const { url } = await startTracker(t);
  const announcer = new HttpAnnouncer({ url });
  await announcer.announce(request(1, { left: 0 }));
  await announcer.announce(request(2));
  await announcer.announce(request(3, { infoHash: OTHER_HASH }));
  const unknown = id20(77, 0x33);
  const named = await scrape(url, [INFO_HASH, OTHER_HASH, unknown]);
  t.deepEqual(named.get(INFO_HASH.toString('hex')), { complete: 1, incomplete: 1, downloaded: 0 });
  t.deepEqual(named.get(OTHER_HASH.toString('hex')), { complete: 0, incomplete: 1, downloaded: 0 });
  t.deepEqual(named.get(unknown.toString('hex')), { complete: 0, incomplete: 0, downloaded: 0 });
  const all = await scrape(url, []);
  t.deepEqual([...all.keys()].sort(), [INFO_HASH.toString('hex'), OTHER_HASH.toString('hex')].sort());
});

test('a closed tracker serves listed torrents and refuses the rest, in announces and scrapes', async (t) => {
  const { url, server } = await startTracker(t, {
    open: false,
    allowedInfoHashes: [INFO_HASH.toString('hex')],
  });
  const announcer = new HttpAnnouncer({ url });
  await announcer.announce(request(1));
  const err = await t.throwsAsync(announcer.announce(request(2, { infoHash: OTHER_HASH })));
  t.true(hasCode(err, 'ERR_TRACKER_FAILURE'));
  t.regex(err.message, new RegExp(`unknown torrent ${OTHER_HASH.toString('hex')}`));
  t.true(hasCode(await t.throwsAsync(scrape(url, [OTHER_HASH])), 'ERR_TRACKER_FAILURE'));
  server.allow(OTHER_HASH);
  t.deepEqual((await announcer.announce(request(2, { infoHash: OTHER_HASH }))).peers, []);
});

test('every bad request gets a bencoded failure reason naming the fault', async (t) => {
  const { port } = await startTracker(t);
  const ok = { infoHash: INFO_HASH, peerId: id20(1), port: 6881 };
  const cases: [string, string, RegExp][] = [
    ['missing info_hash', announceQuery({ ...ok, infoHash: undefined }), /missing parameter info_hash/],
    [
      'short info_hash',
      announceQuery({ ...ok, infoHash: INFO_HASH.subarray(0, 19) }),
      /info_hash: expected 20 bytes, got 19/,
    ],
    [
      'bad escape',
      `${announceQuery({ ...ok, infoHash: undefined })}&info_hash=%G1${'a'.repeat(19)}`,
      /info_hash: invalid percent-encoding/,
    ],
    [
      'truncated escape',
      `${announceQuery({ ...ok, infoHash: undefined })}&info_hash=${'a'.repeat(19)}%4`,
      /info_hash: invalid percent-encoding/,
    ],
    ['missing peer_id', announceQuery({ ...ok, peerId: undefined }), /missing parameter peer_id/],
    [
      'long peer_id',
      announceQuery({ ...ok, peerId: Buffer.alloc(21) }),
      /peer_id: expected 20 bytes, got 21/,
    ],
    ['missing port', announceQuery({ ...ok, port: undefined }), /missing parameter port/],
    ['port 0', announceQuery({ ...ok, port: 0 }), /port 0 is out of range/],
    ['port 65536', announceQuery({ ...ok, port: 65_536 }), /port 65536 is out of range/],
    ['port text', announceQuery({ ...ok, port: 'http' }), /parameter port: expected a port number/],
    ['negative left', announceQuery({ ...ok, left: -5 }), /parameter left: expected a non-negative integer/],
    ['numwant text', announceQuery({ ...ok, numwant: 'many' }), /parameter numwant/],
    [
      'numwant huge',
      announceQuery({ ...ok, numwant: '99999999999999999999' }),
      /numwant 9999.* is larger than 10000/,
    ],
    ['unknown event', announceQuery({ ...ok, event: 'exploded' }), /unknown event "exploded"/],
    ['compact 2', announceQuery({ ...ok, compact: 2 }), /parameter compact: expected 0 or 1/],
    [
      'ip hostname',
      announceQuery({ ...ok, ip: 'tracker.example' }),
      /parameter ip: .* is not an IPv4 or IPv6 literal/,
    ],
    ['port twice', `${announceQuery(ok)}&port=6882`, /parameter port: given more than once/],
    ['ss_up text', announceQuery({ ...ok, ss_up: 'fast' }), /parameter ss_up/],
    [
      'ss_delay no ms',
      announceQuery({ ...ok, ss_delay: '10.0.0.1:6881' }),
      /parameter ss_delay: entry "10.0.0.1:6881"/,
    ],
    [
      'ss_delay host',
      announceQuery({ ...ok, ss_delay: 'peer.example:6881:5' }),
      /ss_delay: entry .* is not an IP literal/,
    ],
    ['ss_delay v6 bare', announceQuery({ ...ok, ss_delay: '::1:6881:5' }), /parameter ss_delay/],
    [
      'ss_delay port',
      announceQuery({ ...ok, ss_delay: '10.0.0.1:0:5' }),
      /ss_delay: entry "10.0.0.1:0:5": port 0 is out of range/,
    ],
    [
      'ss_delay ms',
      announceQuery({ ...ok, ss_delay: '10.0.0.1:1:-5' }),
      /ss_delay: entry .* is not milliseconds/,
    ],
    [
      'ss_delay far',
      announceQuery({ ...ok, ss_delay: '10.0.0.1:1:999999' }),
      /ss_delay: entry .* above 600000/,
    ],
    [
      'ss_delay count',
      announceQuery({
        ...ok,
        ss_delay: Array.from({ length: 201 }, (_, i) => `10.0.${i >> 8}.${i & 255}:1:1`).join(','),
      }),
      /too many ss_delay values: 201 > 200/,
    ],
  ];
  for (const [name, query, expected] of cases) {
    const reply = await rawGet(port, `/announce?${query}`);
    t.is(reply.status, 200, name);
    t.is(reply.headers['content-type'], 'text/plain', name);
    t.regex(failureOf(reply) ?? '(no failure reason)', expected, name);
  }
  t.is(
    failureOf(await rawGet(port, `/scrape?info_hash=${'a'.repeat(21)}`)),
    'malformed parameter info_hash: expected 20 bytes, got 21',
  );
  const tooMany = Array.from(
    { length: 101 },
    (_, i) => `info_hash=${'%00'.repeat(19)}%${(i % 200).toString(16).padStart(2, '0')}`,
  );
  t.regex(failureOf(await rawGet(port, `/scrape?${tooMany.join('&')}`)) ?? '', /too many info_hash values/);
  // And the server is still healthy.
  const after = await rawGet(port, `/announce?${announceQuery(ok)}`);
  t.is(failureOf(after), undefined);
});

test('wrong paths, methods, bodies, oversized and garbled requests get failure reasons too', async (t) => {
  const { port, server } = await startTracker(t);
  const notFound = await rawGet(port, '/favicon.ico');
  t.is(notFound.status, 404);
  t.regex(failureOf(notFound) ?? '', /no such path "\/favicon.ico"/);
  const post = await rawGet(
    port,
    `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(1), port: 1 })}`,
    '127.0.0.1',
    'POST',
  );
  t.is(post.status, 405);
  t.regex(failureOf(post) ?? '', /method POST not supported/);

  const withBody = await rawExchange(
    port,
    'GET /announce HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
  );
  t.regex(withBody.toString('latin1'), /^HTTP\/1\.1 413 /);
  t.regex(withBody.toString('latin1'), /failure reason.*must not have a body/);

  const huge = await rawExchange(port, `GET /announce?x=${'a'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const hugeText = huge.toString('latin1');
  t.regex(hugeText, /^HTTP\/1\.1 431 /);
  const hugeBody = hugeText.slice(hugeText.indexOf('\r\n\r\n') + 4);
  t.regex(
    String((decode(Buffer.from(hugeBody, 'latin1')) as Record<string, Buffer>)['failure reason']),
    /larger than 32768 bytes/,
  );

  const garbled = await rawExchange(port, 'NONSENSE\r\n\r\n');
  t.regex(garbled.toString('latin1'), /^HTTP\/1\.1 400 .*[\s\S]*malformed HTTP request/);
  t.true(server.stats().failures >= 5);
  t.is(
    failureOf(
      await rawGet(port, `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(1), port: 1 })}`),
    ),
    undefined,
  );
});

test('extension parameters are stored and show in the announce log', async (t) => {
  const { url, server } = await startTracker(t);
  const records: AnnounceRecord[] = [];
  const unsubscribe = server.announceLog.subscribe((r) => records.push(r));
  const announcer = new HttpAnnouncer({ url });
  await announcer.announce(request(2));
  await announcer.announce(
    request(1, {
      upstreamBps: 2_500_000,
      delays: [
        { host: '127.0.0.1', port: 20_002, delayMs: 12.5 },
        { host: '::1', port: 6881, delayMs: 40 },
        { host: '2001:db8::7', port: 51413, delayMs: 0.25 },
      ],
    }),
  );
  unsubscribe();
  await announcer.announce(request(3));
  t.is(records.length, 2);
  const [plain, extended] = records;
  t.is(plain.upstreamBps, undefined);
  t.is(plain.delays, undefined);
  t.is(extended.upstreamBps, 2_500_000);
  t.deepEqual(extended.delays, [
    { endpoint: '127.0.0.1:20002', delayMs: 12.5 },
    { endpoint: '[::1]:6881', delayMs: 40 },
    { endpoint: '[2001:db8::7]:51413', delayMs: 0.25 },
  ]);
  t.deepEqual(extended.endpoints, ['127.0.0.1:20001']);
  t.deepEqual(extended.returned, ['127.0.0.1:20002']);
  t.is(extended.infoHash, INFO_HASH.toString('hex'));
  t.is(extended.peerId, id20(1).toString('hex'));
  t.is(extended.policy, 'random');
  t.is(server.announceLog.recent().length, 3);
  t.deepEqual(server.announceLog.recent(1)[0].endpoints, ['127.0.0.1:20003']);

  const peer = server.registry.swarm(INFO_HASH)?.peerAt('127.0.0.1:20001');
  t.is(peer?.upstreamBps, 2_500_000);
  t.is(peer?.delays?.get('127.0.0.1:20002'), 12.5);
  // A later announce without the parameters keeps what was reported...
  await announcer.announce(request(1));
  t.is(server.registry.swarm(INFO_HASH)?.peerAt('127.0.0.1:20001')?.delays?.size, 3);
  // ...and an empty ss_delay clears it.
  await announcer.announce(request(1, { delays: [] }));
  t.is(server.registry.swarm(INFO_HASH)?.peerAt('127.0.0.1:20001')?.delays, undefined);
});

test('ordinary clients are served exactly as without the extension', async (t) => {
  // Two trackers with the same seed see the same announces, one with extension parameters:
  // with the random policy every reply must be byte-identical.
  const plain = await startTracker(t, { seed: 7 });
  const extended = await startTracker(t, { seed: 7 });
  for (let n = 0; n < 40; n++) {
    const query = announceQuery({
      infoHash: INFO_HASH,
      peerId: id20(n),
      port: 30_000 + n,
      numwant: 10,
      left: n % 5 === 0 ? 0 : 10,
    });
    const ext = `${query}&ss_up=${1000 * n}&ss_delay=127.0.0.1:${30_000 + ((n + 1) % 40)}:${n}`;
    const a = await rawGet(plain.port, `/announce?${query}`);
    const b = await rawGet(extended.port, `/announce?${ext}`);
    t.deepEqual(a.body, b.body);
    t.deepEqual(Object.keys(bodyDict(a)).sort(), [
      'complete',
      'downloaded',
      'incomplete',
      'interval',
      'min interval',
      'peers',
    ]);
  }
});

test('the ip parameter is honoured unless turned off', async (t) => {
  const trusting = await startTracker(t);
  const strict = await startTracker(t, { acceptIpParam: false });
  for (const { port } of [trusting, strict]) {
    await rawGet(
      port,
      `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(1), port: 7000, ip: '10.1.2.3' })}`,
    );
    await rawGet(
      port,
      `/announce?${announceQuery({ infoHash: INFO_HASH, peerId: id20(3), port: 7002, ipv4: '10.9.9.9:7777' })}`,
    );
  }
  const ask = announceQuery({ infoHash: INFO_HASH, peerId: id20(2), port: 7001, compact: 0 });
  const hosts = async (port: number): Promise<string[]> =>
    asList(bodyDict(await rawGet(port, `/announce?${ask}`)).peers, 'peers')
      .map((p) => (isDict(p) ? `${String(p.ip)}:${String(p.port)}` : '?'))
      .sort();
  t.deepEqual(await hosts(trusting.port), ['10.1.2.3:7000', '10.9.9.9:7777']);
  t.deepEqual(await hosts(strict.port), ['127.0.0.1:7000', '127.0.0.1:7002']);
});

test('10,000 distinct peers in one swarm announce without an error', async (t) => {
  const PEERS = 10_000;
  const CONCURRENCY = 16;
  const { port, server } = await startTracker(
    t,
    { maxNumwant: 50 },
    { selector: new RandomSelector({ seed: 1 }) },
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.teardown(() => agent.destroy());
  const announcer = new HttpAnnouncer({ url: `http://127.0.0.1:${port}/announce` }, { agent });
  let next = 0;
  let failures = 0;
  let maxPeers = 0;
  const worker = async (): Promise<void> => {
    while (next < PEERS) {
      const n = next++;
      try {
        const reply = await announcer.announce({
          ...request(n),
          port: 1024 + n,
          numwant: 50,
          event: 'started',
        });
        maxPeers = Math.max(maxPeers, reply.peers.length);
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  t.is(failures, 0);
  t.is(maxPeers, 50);
  t.is(server.registry.swarm(INFO_HASH)?.size, PEERS);
  const counts = (await scrape(`http://127.0.0.1:${port}/announce`, [INFO_HASH])).get(
    INFO_HASH.toString('hex'),
  );
  t.deepEqual(counts, { complete: 0, incomplete: PEERS, downloaded: 0 });
  t.is(server.stats().failures, 0);
});

test('start honours an aborted signal and stop is idempotent', async (t) => {
  const server = new TrackerServer({ host: '127.0.0.1', port: 0 });
  const controller = new AbortController();
  controller.abort();
  t.true(hasCode(await t.throwsAsync(server.start(controller.signal)), 'ERR_ABORTED'));
  const live = new AbortController();
  const { port } = await server.start(live.signal);
  t.true(port > 0);
  live.abort();
  await server.stop();
  await server.stop();
  t.is(server.address, undefined);
  await t.throwsAsync(rawGet(port, '/announce'));
});

test('binding a taken port is a typed error', async (t) => {
  const { port } = await startTracker(t);
  const clash = new TrackerServer({ host: '127.0.0.1', port });
  const err = await t.throwsAsync(clash.start());
  t.true(hasCode(err, 'ERR_TRACKER_LISTEN'));
  t.regex(err.message, new RegExp(`127.0.0.1:${port}`));
});

test('bad init values are refused', (t) => {
  t.true(
    hasCode(
      t.throws(() => new TrackerServer({ host: '127.0.0.1', port: 70_000 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => new TrackerServer({ host: '127.0.0.1', port: 0, allowedInfoHashes: ['xyz'] })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => new TrackerServer({ host: '127.0.0.1', port: 0, intervalSec: -1 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
});
