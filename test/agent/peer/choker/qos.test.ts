import test from 'ava';
import {
  type ChokerPeer,
  OPTIMISTIC_UNCHOKE_INTERVAL_MS,
  RECHOKE_INTERVAL_MS,
} from '../../../../agent/peer/choker/choker.js';
import { fairShareMeets, QosChoker, type QosChokerInit } from '../../../../agent/peer/choker/qos.js';
import { makePeerId } from '../../../../agent/peer/client.js';
import { Random } from '../../../../agent/peer/random.js';
import { MemoryStorage } from '../../../../agent/peer/storage/memory-storage.js';
import { Torrent } from '../../../../agent/peer/torrent/torrent.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { startNode, storedContentEquals, whenComplete } from '../../../support/peer-node.js';
import { sorted, swarmHistory } from './compliance.js';

const LONG_AGO = -10 * OPTIMISTIC_UNCHOKE_INTERVAL_MS;

function peer(id: string, fields: Partial<ChokerPeer> = {}): ChokerPeer {
  return {
    id,
    interested: true,
    choked: true,
    downloadRate: 0,
    uploadRate: 0,
    snubbed: false,
    connectedAt: LONG_AGO,
    ...fields,
  };
}

function choker(seed: number | string, init: Partial<QosChokerInit> = {}): QosChoker {
  return new QosChoker({ random: new Random(seed), uploadSlots: 4, ...init });
}

/** The regular (non-optimistic) part of an unchoke set. */
function regular(c: QosChoker, unchoke: Set<string>): string[] {
  return sorted([...unchoke].filter((id) => id !== c.optimisticPeer));
}

test('peers whose constraints we can meet get the regular slots before faster ordinary peers', (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const c = choker(seed);
    const peers = [
      peer('fast-1', { downloadRate: 900_000, rttMs: 10 }),
      peer('fast-2', { downloadRate: 800_000, rttMs: 10 }),
      peer('fast-3', { downloadRate: 700_000, rttMs: 10 }),
      peer('viewer-1', { rttMs: 40, maxResponseDelayMs: 200, requiredBitrateBps: 2e6 }),
      peer('viewer-2', { rttMs: 150, maxResponseDelayMs: 200 }),
    ];
    const unchoke = c.rechoke(peers, { seeding: false, now: 0 });
    t.is(unchoke.size, 4);
    const reg = regular(c, unchoke);
    t.true(reg.includes('viewer-1') && reg.includes('viewer-2'), `seed ${seed}: ${reg}`);
    t.true(reg.includes('fast-1'), `seed ${seed}: the fastest ordinary peer takes the third slot`);
  }
});

test('a peer whose round trip exceeds its maximum delay waits behind others, but is served when alone', (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const far = peer('far', { rttMs: 400, maxResponseDelayMs: 100, downloadRate: 1e9 });
    const others = [1, 2, 3].map((i) => peer(`near-${i}`, { rttMs: 20, downloadRate: 1000 * i }));
    const c = choker(seed);
    const unchoke = c.rechoke([far, ...others], { seeding: false, now: 0 });
    t.deepEqual(regular(c, unchoke), ['near-1', 'near-2', 'near-3'], `seed ${seed}`);

    // Nobody better wants data: high-delay peers still get regular slots.
    const alone = choker(seed);
    const farOnes = [far, peer('far-2', { rttMs: 500, maxResponseDelayMs: 50 })];
    const served = alone.rechoke(farOnes, { seeding: false, now: 0 });
    t.deepEqual(sorted(served), ['far', 'far-2']);
    t.true(regular(alone, served).length >= 1);
  }
});

test('latency and bandwidth both weigh: equal rates go to the nearer peer, a much faster peer wins over a slightly nearer one', (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const c = choker(seed, { uploadSlots: 2 });
    const near = peer('near', { uploadRate: 100_000, rttMs: 10 });
    const far = peer('far', { uploadRate: 100_000, rttMs: 300 });
    c.rechoke([near, far], { seeding: true, now: 0 });
    const unchoke = c.rechoke([near, far], { seeding: true, now: 0 });
    t.deepEqual(regular(c, unchoke), ['near'], `seed ${seed}`);

    const d = choker(seed, { uploadSlots: 2 });
    const fast = peer('fast', { uploadRate: 1_000_000, rttMs: 60 });
    const slow = peer('slow', { uploadRate: 200_000, rttMs: 40 });
    t.deepEqual(regular(d, d.rechoke([fast, slow], { seeding: true, now: 0 })), ['fast'], `seed ${seed}`);
  }
});

test('with a known capacity, bitrate requirements are admitted only while their fair share covers them', (t) => {
  const viewers = [1, 2, 3].map((i) => peer(`viewer-${i}`, { requiredBitrateBps: 4e6, rttMs: 10 * i }));
  const ordinary = [peer('ordinary', { rttMs: 5, downloadRate: 5e6 })];
  // 1 MB/s shared by a 500 kB/s viewer and the optimistic flow: one viewer fits, a second would not,
  // and an ordinary peer would cut the admitted viewer's share below its bitrate.
  for (let seed = 0; seed < 20; seed++) {
    const c = choker(seed, { uploadCapacityBytesPerSecond: 1_000_000 });
    const unchoke = c.rechoke([...viewers, ...ordinary], { seeding: false, now: 0 });
    t.deepEqual(regular(c, unchoke), ['viewer-1'], `seed ${seed}`);
    t.is(unchoke.size, 2);
  }
  // Enough capacity: every slot is used, viewers first.
  const roomy = choker(1, { uploadCapacityBytesPerSecond: 10_000_000 });
  const all = roomy.rechoke([...viewers, ...ordinary], { seeding: false, now: 0 });
  t.deepEqual(regular(roomy, all), ['viewer-1', 'viewer-2', 'viewer-3']);
  t.is(all.size, 4);
  // Unknown capacity: requirements are assumed met.
  const unknown = choker(1);
  t.deepEqual(regular(unknown, unknown.rechoke([...viewers, ...ordinary], { seeding: false, now: 0 })), [
    'viewer-1',
    'viewer-2',
    'viewer-3',
  ]);
});

test('snubbed peers get regular slots only when nobody else is interested (leeching)', (t) => {
  const c = choker(3);
  const snubber = peer('snubber', { snubbed: true, downloadRate: 1e9, rttMs: 1 });
  const others = [1, 2, 3].map((i) => peer(`p${i}`, { downloadRate: i * 1000 }));
  t.false(regular(c, c.rechoke([snubber, ...others], { seeding: false, now: 0 })).includes('snubber'));
  const d = choker(3);
  t.true(d.rechoke([snubber], { seeding: false, now: 0 }).has('snubber'));
});

test('the optimistic unchoke is kept for 30 s, then rotated', (t) => {
  for (let seed = 0; seed < 10; seed++) {
    const c = choker(seed);
    const peers = Array.from({ length: 8 }, (_, i) => peer(`p${i}`, { downloadRate: (i + 1) * 1000 }));
    c.rechoke(peers, { seeding: false, now: 0 });
    const first = c.optimisticPeer;
    t.truthy(first);
    for (let dt = RECHOKE_INTERVAL_MS; dt < OPTIMISTIC_UNCHOKE_INTERVAL_MS; dt += RECHOKE_INTERVAL_MS) {
      t.true(c.rechoke(peers, { seeding: false, now: dt }).has(first ?? ''));
      t.is(c.optimisticPeer, first);
    }
    c.rechoke(peers, { seeding: false, now: OPTIMISTIC_UNCHOKE_INTERVAL_MS });
    t.not(c.optimisticPeer, first, `seed ${seed}`);
  }
});

/** The compliance history with QoS fields added: round trips, requirements, some nonsense values. */
function qosHistory(seed: string): ReturnType<typeof swarmHistory> {
  const random = new Random(`${seed}/qos`);
  const values = [undefined, 0, 15, 80, 400, Number.NaN, -1];
  return swarmHistory(seed).map((round) => ({
    ...round,
    peers: round.peers.map((p) => ({
      ...p,
      rttMs: random.pick(values),
      maxResponseDelayMs: random.pick(values),
      requiredBitrateBps: random.pick([undefined, 1e6, 8e6, 1e9, Number.NaN]),
    })),
  }));
}

test('with QoS fields: at most uploadSlots interested peers, independent of input order, seeded', (t) => {
  for (const capacity of [undefined, 500_000, 5_000_000]) {
    const history = qosHistory(`qos-${capacity}`);
    const a = choker('same', { uploadCapacityBytesPerSecond: capacity });
    const b = choker('same', { uploadCapacityBytesPerSecond: capacity });
    let unchokedSomeone = false;
    for (const { peers, ctx } of history) {
      const ua = a.rechoke(peers, ctx);
      const ub = b.rechoke([...peers].reverse(), ctx);
      t.deepEqual(sorted(ua), sorted(ub), `at ${ctx.now}`);
      t.true(ua.size <= 4);
      const interested = new Set(peers.filter((p) => p.interested).map((p) => p.id));
      for (const id of ua) if (!interested.has(id)) t.fail(`${id} not interested at ${ctx.now}`);
      // Someone interested is always served.
      if (interested.size > 0) t.true(ua.size > 0, `nobody unchoked at ${ctx.now}`);
      unchokedSomeone ||= ua.size > 0;
    }
    t.true(unchokedSomeone);
  }
});

test('fairShareMeets: max-min fair sharing with greedy flows', (t) => {
  t.true(fairShareMeets(1000, [], 5));
  t.true(fairShareMeets(1000, [500], 1));
  t.false(fairShareMeets(1000, [500, 500], 1));
  t.true(fairShareMeets(1000, [100, 200, 300], 1));
  t.false(fairShareMeets(1000, [100, 200, 300], 2));
  // Small needs leave their unused share to the others.
  t.true(fairShareMeets(1000, [10, 10, 480], 1));
});

test('bad settings are refused with ERR_CHOKER_BAD_INIT', (t) => {
  for (const init of [
    { uploadSlots: 0 },
    { uploadSlots: 2.5 },
    { uploadCapacityBytesPerSecond: 0 },
    { uploadCapacityBytesPerSecond: Number.NaN },
    { latencyScaleMs: -3 },
  ]) {
    t.throws(() => choker(1, init), { code: 'ERR_CHOKER_BAD_INIT' }, JSON.stringify(init));
  }
});

test('a torrent selects the QoS choker by name and seeds with it', async (t) => {
  const { meta, content } = makeMeta({
    pieceLength: 32 * 1024,
    files: [{ path: ['q.bin'], length: 500_000 }],
    seed: 'q',
  });
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    init: { choker: 'qos', upstreamBps: 0 },
  });
  t.true(seed.torrent.choker instanceof QosChoker);
  t.is((seed.torrent.choker as QosChoker).uploadCapacityBytesPerSecond, undefined, '0 means unknown');
  const leech = await startNode(t, {
    name: 'leech',
    meta,
    content,
    init: { choker: 'qos', upstreamBps: 1e6 },
  });
  t.is((leech.torrent.choker as QosChoker).uploadCapacityBytesPerSecond, 1e6);
  leech.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leech);
  t.true(await storedContentEquals(leech, content));
});

test('an unknown choker name fails the torrent construction with ERR_UNKNOWN_CHOKER', (t) => {
  const { meta } = makeMeta({
    pieceLength: 32 * 1024,
    files: [{ path: ['q.bin'], length: 1000 }],
    seed: 'q',
  });
  const init = { meta, peerId: makePeerId('x'), seed: 1, choker: 'fastest' as 'qos' };
  t.throws(() => new Torrent(init, { storage: new MemoryStorage(meta) }), { code: 'ERR_UNKNOWN_CHOKER' });
});
