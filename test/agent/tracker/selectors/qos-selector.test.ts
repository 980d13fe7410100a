import test from 'ava';
import { hasCode } from '../../../../agent/peer/errors.js';
import { QosSelector } from '../../../../agent/tracker/selectors/qos-selector.js';
import { RandomSelector } from '../../../../agent/tracker/selectors/random-selector.js';
import {
  type PeerUpdate,
  type PeerView,
  type Swarm,
  SwarmRegistry,
} from '../../../../agent/tracker/swarm-registry.js';

const HASH = Buffer.alloc(20, 5);
const ASKER = '10.0.0.0:6881';

interface PeerSpec {
  readonly upstreamBps?: number;
  readonly delays?: PeerUpdate['delays'];
  readonly seed?: boolean;
}

/** Peer n listens on 10.0.x.y:6881; peer 0 is the asker. */
function endpointOf(n: number): string {
  return `10.0.${n >> 8}.${n & 255}:6881`;
}

function build(size: number, spec: (n: number) => PeerSpec): { swarm: Swarm; registry: SwarmRegistry } {
  const registry = new SwarmRegistry({ peerTtlSec: 600 });
  let swarm: Swarm | undefined;
  for (let n = 0; n < size; n++) {
    const s = spec(n);
    const id = Buffer.alloc(20);
    id.writeUInt32BE(n);
    swarm = registry.announce(HASH, {
      peerId: id,
      v4: { address: Buffer.from([10, 0, n >> 8, n & 255]), port: 6881 },
      left: s.seed ? 0 : 1,
      ...(s.upstreamBps === undefined ? {} : { upstreamBps: s.upstreamBps }),
      ...(s.delays === undefined ? {} : { delays: s.delays }),
    }).swarm;
  }
  return { swarm: swarm!, registry };
}

const indexOf = (p: PeerView): number => {
  const [, , hi, lo] = p.v4!.host.split('.').map(Number);
  return hi * 256 + lo;
};

test('prefers low-delay, high-upstream peers but keeps a random share', (t) => {
  // 300 peers. The asker measured 15 of them at 2 ms (each with 5 MB/s up) and 100 at 200 ms
  // (1 MB/s up); the rest are ordinary clients that report nothing.
  const NEAR = 15;
  const near = (n: number): boolean => n >= 1 && n <= NEAR;
  const far = (n: number): boolean => n > NEAR && n <= NEAR + 100;
  const TRIALS = 60;
  const COUNT = 20;
  const randomPicks = new Set<number>();
  let nearTotal = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const { swarm } = build(300, (n) => {
      if (n === 0) {
        const delays = [];
        for (let k = 1; k <= NEAR + 100; k++)
          delays.push({ endpoint: endpointOf(k), delayMs: near(k) ? 2 : 200 });
        return { delays };
      }
      if (near(n)) return { upstreamBps: 5_000_000 };
      if (far(n)) return { upstreamBps: 1_000_000 };
      return {};
    });
    const selector = new QosSelector({ seed: trial, randomShare: 0.2 });
    const picked = selector
      .select({ swarm, asker: swarm.peerAt(ASKER)!, count: COUNT, nowMs: 0 })
      .map(indexOf);
    t.is(picked.length, COUNT);
    const nearPicked = picked.filter(near);
    nearTotal += nearPicked.length;
    // 16 ranked places: every near peer must be among them.
    t.is(nearPicked.length, NEAR, `trial ${trial}`);
    // The 4 random places come from anywhere in the swarm.
    for (const n of picked.slice(16)) randomPicks.add(n);
  }
  t.is(nearTotal, NEAR * TRIALS);
  // 60 trials x 4 random places over ~285 candidates: a fixed choice would give at most 4.
  t.true(randomPicks.size > 100, `random places covered ${randomPicks.size} peers`);
});

test('a random selector picks near peers only at their base rate (control)', (t) => {
  let nearPicked = 0;
  const TRIALS = 60;
  for (let trial = 0; trial < TRIALS; trial++) {
    const { swarm } = build(300, (n) => (n >= 1 && n <= 15 ? { upstreamBps: 5_000_000 } : {}));
    const picked = new RandomSelector({ seed: trial }).select({
      swarm,
      asker: swarm.peerAt(ASKER)!,
      count: 20,
      nowMs: 0,
    });
    nearPicked += picked.map(indexOf).filter((n) => n >= 1 && n <= 15).length;
  }
  // Expected 15/299 * 20 = 1 per trial; qos above gives 15.
  t.true(nearPicked / TRIALS < 3, String(nearPicked / TRIALS));
});

test('with equal delays, spare upstream decides', (t) => {
  const { swarm } = build(60, (n) => ({ upstreamBps: n >= 50 ? 10_000_000 : 1_000_000 }));
  const picked = new QosSelector({ seed: 1, randomShare: 0 })
    .select({ swarm, asker: swarm.peerAt(ASKER)!, count: 10, nowMs: 0 })
    .map(indexOf)
    .sort((a, b) => a - b);
  t.deepEqual(picked, [50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
});

test('a busy peer has less spare upstream than an idle one of the same capacity', (t) => {
  // Peers 1 and 2 have the same upstream; leechers 3..11 report a delay to peer 1, so it is
  // serving nine downloaders and peer 2 none.
  const { swarm } = build(12, (n) => {
    if (n === 1 || n === 2) return { upstreamBps: 10_000_000 };
    if (n >= 3) return { delays: [{ endpoint: endpointOf(1), delayMs: 10 }] };
    return {};
  });
  const selector = new QosSelector({ seed: 1, randomShare: 0 });
  const picked = selector.select({ swarm, asker: swarm.peerAt(ASKER)!, count: 1, nowMs: 0 }).map(indexOf);
  t.deepEqual(picked, [2]);
});

test('recent handouts spread the load over equally good peers', (t) => {
  const { swarm } = build(40, (n) =>
    n >= 1 && n <= 3 ? { upstreamBps: 10_000_000 } : { upstreamBps: 100_000 },
  );
  const selector = new QosSelector({ seed: 1, randomShare: 0, loadHalfLifeSec: 60 });
  const counts = new Map<number, number>();
  for (let n = 10; n < 40; n++) {
    const [p] = selector.select({ swarm, asker: swarm.peerAt(endpointOf(n))!, count: 1, nowMs: n });
    counts.set(indexOf(p), (counts.get(indexOf(p)) ?? 0) + 1);
  }
  t.deepEqual([...counts.keys()].sort(), [1, 2, 3]);
  for (const c of counts.values()) t.true(c >= 8 && c <= 12, String(c));
});

test("a candidate's own report about the asker counts when the asker reported nothing", (t) => {
  const { swarm } = build(50, (n) => {
    if (n === 7) return { upstreamBps: 1_000_000, delays: [{ endpoint: ASKER, delayMs: 1 }] };
    if (n === 8) return { upstreamBps: 1_000_000, delays: [{ endpoint: ASKER, delayMs: 300 }] };
    return { upstreamBps: 1_000_000 };
  });
  const picked = new QosSelector({ seed: 3, randomShare: 0 })
    .select({ swarm, asker: swarm.peerAt(ASKER)!, count: 48, nowMs: 0 })
    .map(indexOf);
  // 49 candidates, 48 places: the nearest comes first and the farthest is the one left out.
  t.is(picked[0], 7);
  t.false(picked.includes(8));
});

test('without any extension data the qos list is a uniform random one', (t) => {
  const { swarm } = build(100, () => ({}));
  const selector = new QosSelector({ seed: 11 });
  const hits = new Map<number, number>();
  for (let round = 0; round < 1_000; round++) {
    // Seeds ask, so handout bookkeeping (downloaders only) does not shape the result.
    for (const p of selector.select({ swarm, asker: swarm.peerAt(ASKER)!, count: 10, nowMs: 0 })) {
      hits.set(indexOf(p), (hits.get(indexOf(p)) ?? 0) + 1);
    }
  }
  t.is(hits.size, 99);
  // Expected ~101 each (10,000 draws over 99 peers); 50..160 is beyond 5 sd.
  for (const c of hits.values()) t.true(c > 50 && c < 160, String(c));
});

test('bad init values are refused', (t) => {
  t.true(
    hasCode(
      t.throws(() => new QosSelector({ seed: 1, randomShare: 1.5 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => new QosSelector({ seed: 1, delayScaleMs: 0 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => new QosSelector({ seed: 1, minCandidates: 0 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
});
