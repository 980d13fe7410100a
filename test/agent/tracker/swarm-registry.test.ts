import test from 'ava';
import { hasCode } from '../../../agent/peer/errors.js';
import { Random } from '../../../agent/peer/random.js';
import { SwarmRegistry } from '../../../agent/tracker/swarm-registry.js';

const HASH = Buffer.alloc(20, 7);
const LOOPBACK = Buffer.from([127, 0, 0, 1]);

function id(n: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(n);
  return b;
}

function fill(registry: SwarmRegistry, count: number, left = 100): void {
  for (let n = 0; n < count; n++) {
    registry.announce(HASH, { peerId: id(n), v4: { address: LOOPBACK, port: 1000 + n }, left });
  }
}

test('counts follow left, completed and stopped', (t) => {
  const registry = new SwarmRegistry({ peerTtlSec: 60 });
  const v4 = { address: LOOPBACK, port: 1 };
  const { swarm } = registry.announce(HASH, { peerId: id(1), v4, left: 10, event: 'started' });
  registry.announce(HASH, { peerId: id(2), v4: { address: LOOPBACK, port: 2 }, left: 0 });
  t.deepEqual([swarm.complete, swarm.incomplete, swarm.downloaded], [1, 1, 0]);
  registry.announce(HASH, { peerId: id(1), v4, event: 'completed' });
  t.deepEqual([swarm.complete, swarm.incomplete, swarm.downloaded], [2, 0, 1]);
  // A seed that starts downloading again (a new file selected) counts as a leecher once more.
  registry.announce(HASH, { peerId: id(1), v4, left: 5 });
  t.deepEqual([swarm.complete, swarm.incomplete, swarm.downloaded], [1, 1, 1]);
  t.is(registry.announce(HASH, { peerId: id(1), v4, event: 'stopped' }).peer, undefined);
  t.deepEqual([swarm.complete, swarm.incomplete, swarm.size], [1, 0, 1]);
  t.is(swarm.peerAt('127.0.0.1:1'), undefined);
  t.is(swarm.peerAt('127.0.0.1:2')?.seed, true);
});

test('a peer that changes endpoint is found at the new one only', (t) => {
  const registry = new SwarmRegistry({ peerTtlSec: 60 });
  registry.announce(HASH, { peerId: id(1), v4: { address: LOOPBACK, port: 1 } });
  const { swarm } = registry.announce(HASH, { peerId: id(1), v4: { address: LOOPBACK, port: 2 } });
  t.is(swarm.peerAt('127.0.0.1:1'), undefined);
  t.deepEqual(swarm.peerAt('127.0.0.1:2')?.peerId, id(1));
  t.deepEqual(Buffer.from(swarm.compactPeers(swarm.peers(), 'v4')), Buffer.from([127, 0, 0, 1, 0, 2]));
});

test('expiry drops exactly the peers silent for the TTL, with an injected clock', (t) => {
  let now = 0;
  const registry = new SwarmRegistry({ peerTtlSec: 10 }, { now: () => now });
  fill(registry, 3);
  now = 5_000;
  registry.announce(HASH, { peerId: id(1), v4: { address: LOOPBACK, port: 1001 }, left: 100 });
  now = 10_000;
  t.is(registry.swarm(HASH)?.size, 1);
  t.deepEqual(
    registry
      .swarm(HASH)
      ?.peers()
      .map((p) => p.peerId.readUInt32BE(0)),
    [1],
  );
  now = 15_000;
  t.is(registry.sweep(), 1);
  t.is(registry.swarmCount, 0);
  t.is(registry.swarm(HASH), undefined);
});

test('sample: distinct peers, never the excluded one, at most the swarm', (t) => {
  const registry = new SwarmRegistry({ peerTtlSec: 60 });
  fill(registry, 50);
  const swarm = registry.swarm(HASH)!;
  const random = new Random('sample');
  const asker = swarm.peerAt('127.0.0.1:1000')!;
  for (let round = 0; round < 100; round++) {
    const picked = swarm.sample(10, random, asker);
    t.is(picked.length, 10);
    t.is(new Set(picked).size, 10);
    t.false(picked.includes(asker));
  }
  t.is(swarm.sample(500, random, asker).length, 49);
  t.is(swarm.sample(500, random).length, 50);
  t.deepEqual(swarm.sample(0, random), []);
  const evens = swarm.sample(500, random, undefined, (p) => p.v4!.port % 2 === 1);
  t.is(evens.length, 25);
});

test('sample is uniform enough: every peer is drawn about equally often', (t) => {
  const registry = new SwarmRegistry({ peerTtlSec: 60 });
  fill(registry, 100);
  const swarm = registry.swarm(HASH)!;
  const random = new Random(42);
  const hits = new Map<number, number>();
  const ROUNDS = 2_000;
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of swarm.sample(10, random)) hits.set(p.v4!.port, (hits.get(p.v4!.port) ?? 0) + 1);
  }
  // Expected 200 draws each; binomial sd ~13.4, so 130..270 is beyond 5 sd.
  t.is(hits.size, 100);
  for (const count of hits.values()) t.true(count > 130 && count < 270, String(count));
});

test('samples repeat for a seed', (t) => {
  const runs = [1, 2].map(() => {
    const registry = new SwarmRegistry({ peerTtlSec: 60 });
    fill(registry, 200);
    const random = new Random(9);
    return registry
      .swarm(HASH)!
      .sample(20, random)
      .map((p) => p.v4!.port);
  });
  t.deepEqual(runs[0], runs[1]);
});

test('10,000 peers: removals keep the dense index consistent', (t) => {
  let now = 0;
  const registry = new SwarmRegistry({ peerTtlSec: 100 }, { now: () => now });
  fill(registry, 10_000);
  for (let n = 0; n < 10_000; n += 3) {
    registry.announce(HASH, { peerId: id(n), v4: { address: LOOPBACK, port: 1000 + n }, event: 'stopped' });
  }
  const swarm = registry.swarm(HASH)!;
  t.is(swarm.size, 10_000 - 3334);
  t.is(swarm.incomplete, swarm.size);
  const seen = new Set(swarm.sample(20_000, new Random(1)).map((p) => p.peerId.readUInt32BE(0)));
  t.is(seen.size, swarm.size);
  t.false([...seen].some((n) => n % 3 === 0));
  const remaining = swarm.size;
  now = 101_000;
  t.is(registry.sweep(), remaining);
  t.is(swarm.size, 0);
});

test('delay reports are indexed both ways and released with the reporter', (t) => {
  const registry = new SwarmRegistry({ peerTtlSec: 60 });
  fill(registry, 3);
  const { swarm } = registry.announce(HASH, {
    peerId: id(0),
    v4: { address: LOOPBACK, port: 1000 },
    delays: [
      { endpoint: '127.0.0.1:1001', delayMs: 5 },
      { endpoint: '10.9.9.9:1', delayMs: 9 },
    ],
  });
  registry.announce(HASH, {
    peerId: id(2),
    v4: { address: LOOPBACK, port: 1002 },
    delays: [{ endpoint: '127.0.0.1:1001', delayMs: 3 }],
  });
  const target = swarm.peerAt('127.0.0.1:1001')!;
  t.is(swarm.reportCount(target), 2);
  t.is(swarm.reportersAbout('10.9.9.9:1')?.size, 1);
  registry.announce(HASH, { peerId: id(0), v4: { address: LOOPBACK, port: 1000 }, event: 'stopped' });
  t.is(swarm.reportCount(target), 1);
  t.is(swarm.reportersAbout('10.9.9.9:1'), undefined);
  registry.announce(HASH, { peerId: id(2), v4: { address: LOOPBACK, port: 1002 }, delays: [] });
  t.is(swarm.reportCount(target), 0);
});

test('a non-positive TTL is refused', (t) => {
  t.true(
    hasCode(
      t.throws(() => new SwarmRegistry({ peerTtlSec: 0 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
});
