import test from 'ava';
import { Random } from '../../../agent/peer/random.js';
import { arrivalTimes } from '../../../agent/swarm/arrivals.js';
import { planSwarm, type SwarmInit } from '../../../agent/swarm/plan.js';

const BASE: SwarmInit = {
  seed: 'plan',
  content: { sizeBytes: 1_048_576, bitrateBps: 2_000_000 },
  leechers: {
    count: 12,
    arrivals: { kind: 'poisson', ratePerSecond: 2 },
    strategy: [{ name: 'rarest-first' }, { name: 'sequential', weight: 2 }],
  },
  timeoutMs: 10_000,
};

test('the same seed gives the same arrivals, strategies and peer seeds; another seed does not', (t) => {
  const a = planSwarm(BASE);
  const b = planSwarm({ ...BASE });
  t.deepEqual(a, b);
  const c = planSwarm({ ...BASE, seed: 'other' });
  t.notDeepEqual(
    c.leechers.map((l) => l.arrivalMs),
    a.leechers.map((l) => l.arrivalMs),
  );
  t.is(new Set(a.leechers.map((l) => l.seed)).size, 12, 'every leecher has its own seed');
  t.not(a.contentSeed, a.seeder.seed);
});

test('a strategy mix is drawn by weight', (t) => {
  const plan = planSwarm({ ...BASE, leechers: { ...BASE.leechers, count: 600 } });
  const sequential = plan.leechers.filter((l) => l.strategy === 'sequential').length;
  t.true(Math.abs(sequential / 600 - 2 / 3) < 0.07, `${sequential} of 600`);
  const single = planSwarm({ ...BASE, leechers: { ...BASE.leechers, strategy: 'rarest-first' } });
  t.true(single.leechers.every((l) => l.strategy === 'rarest-first'));
});

test('arrival kinds: explicit, all at once, uniform over a window, Poisson', (t) => {
  const random = new Random(1);
  t.deepEqual(arrivalTimes({ kind: 'explicit', atMs: [30, 10, 20] }, 3, random), [10, 20, 30]);
  t.deepEqual(arrivalTimes({ kind: 'all-at-once', atMs: 5 }, 3, random), [5, 5, 5]);
  const uniform = arrivalTimes({ kind: 'uniform', windowMs: 30_000 }, 2_000, random);
  t.true(uniform.every((x, i) => x >= 0 && x < 30_000 && (i === 0 || x >= uniform[i - 1])));
  t.true(Math.abs(uniform.filter((x) => x < 15_000).length / 2_000 - 0.5) < 0.05);
  const poisson = arrivalTimes({ kind: 'poisson', ratePerSecond: 4 }, 4_001, random);
  t.is(poisson[0], 0);
  const meanGapMs = poisson[4_000] / 4_000;
  t.true(Math.abs(meanGapMs - 250) < 15, `mean gap ${meanGapMs} ms`);
});

test('impossible swarms are refused with ERR_SWARM_BAD_INIT naming the field', (t) => {
  const cases: Array<[Partial<SwarmInit>, string]> = [
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ content: { sizeBytes: 0, bitrateBps: 1 } }, 'content.sizeBytes'],
    [{ content: { sizeBytes: 10, bitrateBps: 1.5 } }, 'content.bitrateBps'],
    [{ trackerUrl: 'not a url' }, 'trackerUrl'],
    [{ leechers: { ...BASE.leechers, count: -1 } }, 'leechers.count'],
    [{ leechers: { ...BASE.leechers, strategy: 'fastest' } }, 'leechers.strategy'],
    [{ leechers: { ...BASE.leechers, strategy: [] } }, 'leechers.strategy'],
    [
      { leechers: { ...BASE.leechers, strategy: [{ name: 'sequential', weight: 0 }] } },
      'leechers.strategy[0].weight',
    ],
    [{ leechers: { ...BASE.leechers, choker: 'fastest' as 'qos' } }, 'leechers.choker'],
    [{ leechers: { ...BASE.leechers, cachePieces: 0 } }, 'leechers.cachePieces'],
    [
      { leechers: { ...BASE.leechers, link: { uploadBytesPerSecond: -1 } } },
      'leechers.link.uploadBytesPerSecond',
    ],
    [{ seeder: { link: { delayMs: Number.NaN } } }, 'seeder.link.delayMs'],
    [{ leechers: { ...BASE.leechers, arrivals: { kind: 'explicit', atMs: [1] } } }, 'leechers.arrivals.atMs'],
    [
      { leechers: { ...BASE.leechers, arrivals: { kind: 'poisson', ratePerSecond: 0 } } },
      'leechers.arrivals.ratePerSecond',
    ],
    [
      { leechers: { ...BASE.leechers, arrivals: { kind: 'uniform', windowMs: -1 } } },
      'leechers.arrivals.windowMs',
    ],
  ];
  for (const [patch, where] of cases) {
    const err = t.throws(() => planSwarm({ ...BASE, ...patch }), { code: 'ERR_SWARM_BAD_INIT' }, where);
    t.is((err as unknown as { where: string }).where, where);
  }
});

test('a media server is planned when asked for or when some leecher runs bass, and its spec is checked', (t) => {
  t.is(planSwarm(BASE).mediaServer, undefined, 'no bass, no server');
  const bass = planSwarm({ ...BASE, leechers: { ...BASE.leechers, strategy: [{ name: 'bass' }] } });
  t.deepEqual(bass.mediaServer, {});
  const asked = planSwarm({ ...BASE, mediaServer: { uploadBytesPerSecond: 500_000, maxInFlight: 2 } });
  t.deepEqual(asked.mediaServer, { uploadBytesPerSecond: 500_000, maxInFlight: 2 });
  for (const [field, spec] of [
    ['mediaServer.uploadBytesPerSecond', { uploadBytesPerSecond: 0 }],
    ['mediaServer.uploadBurstBytes', { uploadBurstBytes: Number.NaN }],
    ['mediaServer.maxConcurrent', { maxConcurrent: 1.5 }],
    ['mediaServer.maxInFlight', { maxInFlight: 0 }],
  ] as const) {
    const err = t.throws(() => planSwarm({ ...BASE, mediaServer: spec }), { code: 'ERR_SWARM_BAD_INIT' });
    t.true(err?.message.startsWith(field), err?.message);
  }
});
