import dgram from 'node:dgram';
import test, { type ExecutionContext } from 'ava';
import { HttpAnnouncer } from '../../../agent/peer/tracker/http-announcer.js';
import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import type { AnnounceRecord } from '../../../agent/tracker/index.js';
import { TrackerServer, UDP_PROTOCOL_ID, UdpTrackerServer } from '../../../agent/tracker/index.js';
import { testIf } from '../../support/components.js';
import { makeTorrentFixture } from '../../support/torrent-fixture.js';
import { hasIpv6Loopback, id20 } from './tracker-helpers.js';

const REPLY_TIMEOUT_MS = 2_000;
const HASH = id20(0x5151, 0x44);

/** An HTTP tracker and a UDP front end sharing its state. */
async function start(
  t: ExecutionContext,
  host = '127.0.0.1',
  now?: () => number,
): Promise<{ http: TrackerServer; udp: UdpTrackerServer; port: number }> {
  const http = new TrackerServer({ host, port: 0, intervalSec: 77 });
  t.teardown(() => http.stop());
  await http.start();
  const udp = new UdpTrackerServer(
    { host, port: 0, seed: 1 },
    { tracker: http.tracker, ...(now ? { now } : {}) },
  );
  t.teardown(() => udp.stop());
  const { port } = await udp.start();
  return { http, udp, port };
}

/** A UDP client socket that answers one request at a time, with a bounded wait. */
async function client(t: ExecutionContext, type: 'udp4' | 'udp6' = 'udp4') {
  const socket = dgram.createSocket(type);
  t.teardown(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  const send = (
    packet: Buffer,
    port: number,
    host = type === 'udp4' ? '127.0.0.1' : '::1',
  ): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        resolve(undefined);
      }, REPLY_TIMEOUT_MS);
      const onMessage = (msg: Buffer): void => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(msg);
      };
      socket.on('message', onMessage);
      socket.send(packet, port, host);
    });
  return { send, port: () => socket.address().port };
}

function connectPacket(tx: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(tx, 12);
  return b;
}

interface AnnounceFields {
  connectionId: Buffer;
  tx: number;
  peer: number;
  port: number;
  left?: bigint;
  event?: number;
  numwant?: number;
  ip?: number;
  urlData?: string;
}

function announcePacket(f: AnnounceFields): Buffer {
  const b = Buffer.alloc(98);
  f.connectionId.copy(b, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(f.tx, 12);
  HASH.copy(b, 16);
  id20(f.peer).copy(b, 36);
  b.writeBigUInt64BE(0n, 56);
  b.writeBigUInt64BE(f.left ?? 1000n, 64);
  b.writeBigUInt64BE(0n, 72);
  b.writeUInt32BE(f.event ?? 0, 80);
  b.writeUInt32BE(f.ip ?? 0, 84);
  b.writeUInt32BE(0xdeadbeef, 88);
  b.writeInt32BE(f.numwant ?? -1, 92);
  b.writeUInt16BE(f.port, 96);
  if (f.urlData === undefined) return b;
  const options: Buffer[] = [b];
  const data = Buffer.from(f.urlData, 'latin1');
  for (let at = 0; at < data.length; at += 255) {
    const chunk = data.subarray(at, at + 255);
    options.push(Buffer.from([2, chunk.length]), chunk);
  }
  options.push(Buffer.from([1, 0]));
  return Buffer.concat(options);
}

async function connect(c: Awaited<ReturnType<typeof client>>, port: number, tx = 7): Promise<Buffer> {
  const reply = await c.send(connectPacket(tx), port);
  if (
    reply === undefined ||
    reply.length !== 16 ||
    reply.readUInt32BE(0) !== 0 ||
    reply.readUInt32BE(4) !== tx
  ) {
    throw new Error(`bad connect reply ${reply?.toString('hex')}`);
  }
  return reply.subarray(8, 16);
}

function errorText(reply: Buffer | undefined): string | undefined {
  return reply !== undefined && reply.readUInt32BE(0) === 3 ? reply.toString('utf8', 8) : undefined;
}

test('connect, announce and scrape (BEP 15), sharing swarms with the HTTP tracker', async (t) => {
  const { http, port } = await start(t);
  await new HttpAnnouncer({ url: http.announceUrl! }).announce({
    infoHash: HASH,
    peerId: id20(1),
    port: 6001,
    uploaded: 0,
    downloaded: 0,
    left: 0,
  });
  const c = await client(t);
  const connectionId = await connect(c, port);
  const reply = await c.send(announcePacket({ connectionId, tx: 99, peer: 2, port: 6002, event: 2 }), port);
  t.truthy(reply);
  if (reply === undefined) return;
  t.is(reply.readUInt32BE(0), 1);
  t.is(reply.readUInt32BE(4), 99);
  t.is(reply.readUInt32BE(8), 77);
  t.is(reply.readUInt32BE(12), 1, 'leechers');
  t.is(reply.readUInt32BE(16), 1, 'seeders');
  t.deepEqual(reply.subarray(20), Buffer.from([127, 0, 0, 1, 0x17, 0x71]));
  // The UDP peer is visible to HTTP clients.
  const viaHttp = await new HttpAnnouncer({ url: http.announceUrl! }).announce({
    infoHash: HASH,
    peerId: id20(3),
    port: 6003,
    uploaded: 0,
    downloaded: 0,
    left: 5,
  });
  t.deepEqual(viaHttp.peers.map((p) => p.port).sort(), [6001, 6002]);

  const scrape = Buffer.concat([connectionId, Buffer.from([0, 0, 0, 2, 0, 0, 0, 5]), HASH, id20(9, 0x99)]);
  const counts = await c.send(scrape, port);
  t.deepEqual(counts?.subarray(0, 8), Buffer.from([0, 0, 0, 2, 0, 0, 0, 5]));
  t.deepEqual(
    [0, 1, 2, 3, 4, 5].map((i) => counts?.readUInt32BE(8 + 4 * i)),
    [1, 0, 2, 0, 0, 0],
  );
});

test('the extension rides in BEP 41 URL data and reaches the announce log', async (t) => {
  const { http, port } = await start(t);
  const records: AnnounceRecord[] = [];
  http.announceLog.subscribe((r) => records.push(r));
  const c = await client(t);
  const connectionId = await connect(c, port);
  const delays = Array.from({ length: 20 }, (_, i) => `10.0.0.${i + 1}:6881:${i + 0.5}`).join(',');
  const reply = await c.send(
    announcePacket({
      connectionId,
      tx: 1,
      peer: 1,
      port: 6001,
      urlData: `/announce?ss_up=3000000&ss_delay=${delays}`,
    }),
    port,
  );
  t.is(reply?.readUInt32BE(0), 1);
  t.is(records.length, 1);
  t.is(records[0].upstreamBps, 3_000_000);
  t.is(records[0].delays?.length, 20);
  t.deepEqual(records[0].delays?.[19], { endpoint: '10.0.0.20:6881', delayMs: 19.5 });
  const bad = await c.send(
    announcePacket({ connectionId, tx: 2, peer: 1, port: 6001, urlData: '/announce?ss_up=x' }),
    port,
  );
  t.regex(errorText(bad) ?? '', /malformed parameter ss_up/);
});

test('bad packets get an error reply when they carry a transaction id, and never stop the server', async (t) => {
  let now = 1_000_000;
  const { udp, port } = await start(t, '127.0.0.1', () => now);
  const c = await client(t);
  const connectionId = await connect(c, port);
  const badProtocol = connectPacket(5);
  badProtocol.writeUInt32BE(1, 0);
  t.regex(errorText(await c.send(badProtocol, port)) ?? '', /protocol id/);
  const unknownAction = Buffer.concat([connectionId, Buffer.from([0, 0, 0, 9, 0, 0, 0, 1])]);
  t.regex(errorText(await c.send(unknownAction, port)) ?? '', /unknown action 9/);
  const short = announcePacket({ connectionId, tx: 3, peer: 1, port: 1 }).subarray(0, 60);
  t.regex(errorText(await c.send(short, port)) ?? '', /announce of 60 bytes/);
  t.is(await c.send(Buffer.from([1, 2, 3]), port), undefined, 'too short to answer');
  t.regex(
    errorText(await c.send(announcePacket({ connectionId, tx: 4, peer: 1, port: 0 }), port)) ?? '',
    /port 0/,
  );
  t.regex(
    errorText(await c.send(announcePacket({ connectionId, tx: 5, peer: 1, port: 1, event: 7 }), port)) ?? '',
    /unknown event 7/,
  );
  t.regex(
    errorText(
      await c.send(announcePacket({ connectionId, tx: 6, peer: 1, port: 1, numwant: 20_000 }), port),
    ) ?? '',
    /numwant 20000 is larger/,
  );
  const tooMany = Buffer.concat([connectionId, Buffer.from([0, 0, 0, 2, 0, 0, 0, 8]), Buffer.alloc(75 * 20)]);
  t.regex(errorText(await c.send(tooMany, port)) ?? '', /too many info_hash values: 75 > 74/);
  const forged = Buffer.alloc(8, 0x42);
  t.regex(
    errorText(await c.send(announcePacket({ connectionId: forged, tx: 8, peer: 1, port: 1 }), port)) ?? '',
    /connection id/,
  );
  // A connection id lasts at least one minute and less than two.
  now += 59_000;
  t.is((await c.send(announcePacket({ connectionId, tx: 9, peer: 1, port: 1 }), port))?.readUInt32BE(0), 1);
  now += 61_000;
  t.regex(
    errorText(await c.send(announcePacket({ connectionId, tx: 10, peer: 1, port: 1 }), port)) ?? '',
    /expired/,
  );
  t.is(udp.stats().failures, 10);
  t.is((await connect(c, port, 11)).length, 8);
});

(hasIpv6Loopback() ? test : test.skip)('over IPv6 the peers come back as 18-byte entries', async (t) => {
  const { port } = await start(t, '::1');
  const c = await client(t, 'udp6');
  const connectionId = await connect(c, port);
  await c.send(announcePacket({ connectionId, tx: 1, peer: 1, port: 6001 }), port);
  const reply = await c.send(announcePacket({ connectionId, tx: 2, peer: 2, port: 6002 }), port);
  t.is(reply?.length, 20 + 18);
  t.deepEqual(
    reply?.subarray(20),
    Buffer.concat([Buffer.from('00000000000000000000000000000001', 'hex'), Buffer.from([0x17, 0x71])]),
  );
});

testIf('libtorrent')('libtorrent finds libtorrent through our UDP tracker', async (t) => {
  const signal = AbortSignal.timeout(60_000);
  const { http, udp } = await start(t);
  const records: AnnounceRecord[] = [];
  http.announceLog.subscribe((r) => records.push(r));
  const fx = await makeTorrentFixture(t, {
    sizeBytes: 1024 * 1024,
    seed: 'ours-udp',
    pieceLength: 64 * 1024,
  });
  const trackers = [udp.announceUrl!];
  const seed = new LibtorrentPeer({
    torrentPath: fx.torrentPath,
    saveDir: fx.seedDir,
    mode: 'seed',
    trackers,
  });
  t.teardown(() => seed.stop());
  await seed.start(signal);
  await seed.waitFinished(signal);
  const dir = await fx.downloadDir('lt');
  const leech = new LibtorrentPeer({ torrentPath: fx.torrentPath, saveDir: dir, mode: 'download', trackers });
  t.teardown(() => leech.stop());
  await leech.start(signal);
  await leech.waitFinished(signal);
  t.true((await fx.readDownloaded(dir)).equals(fx.data));
  t.true(udp.stats().announces >= 2);
  t.true(records.some((r) => !r.seed && r.returned.includes(`127.0.0.1:${seed.port}`)));
});
