import test from 'ava';
import {
  type ChokerPeer,
  OPTIMISTIC_UNCHOKE_INTERVAL_MS,
  RECHOKE_INTERVAL_MS,
} from '../../../../agent/peer/choker/choker.js';
import { NEW_PEER_OPTIMISTIC_WEIGHT, TitForTatChoker } from '../../../../agent/peer/choker/tit-for-tat.js';
import { Random } from '../../../../agent/peer/random.js';
import { sorted } from './compliance.js';

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

function choker(seed: number | string, uploadSlots = 4): TitForTatChoker {
  return new TitForTatChoker({ random: new Random(seed), uploadSlots });
}

/** p0..p(n-1) with downloadRate (or uploadRate) growing with the index: p(n-1) is the fastest. */
function ranked(
  n: number,
  field: 'downloadRate' | 'uploadRate',
  extra: Partial<ChokerPeer> = {},
): ChokerPeer[] {
  return Array.from({ length: n }, (_, i) => peer(`p${i}`, { [field]: (i + 1) * 1000, ...extra }));
}

test('leeching: the fastest reciprocators get the regular slots, one more is optimistic', (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const c = choker(seed);
    const peers = [...ranked(8, 'downloadRate'), peer('idle-fast', { interested: false, downloadRate: 1e9 })];
    const unchoke = c.rechoke(peers, { seeding: false, now: 0 });
    t.is(unchoke.size, 4);
    for (const id of ['p7', 'p6', 'p5']) t.true(unchoke.has(id), `seed ${seed}: ${id}`);
    t.false(unchoke.has('idle-fast'));
    const optimistic = c.optimisticPeer;
    t.true(optimistic !== undefined && unchoke.has(optimistic) && !['p7', 'p6', 'p5'].includes(optimistic));
  }
});

test('leeching ignores how fast we upload to a peer', (t) => {
  const peers = ranked(6, 'downloadRate').map((p, i) => ({ ...p, uploadRate: (10 - i) * 1e6 }));
  const unchoke = choker(1).rechoke(peers, { seeding: false, now: 0 });
  for (const id of ['p5', 'p4', 'p3']) t.true(unchoke.has(id));
});

test('snubbed peers get no regular slot but can be unchoked optimistically', (t) => {
  let optimisticallyUnchoked = 0;
  for (let seed = 0; seed < 50; seed++) {
    const c = choker(seed);
    const peers = [...ranked(4, 'downloadRate'), peer('snubber', { downloadRate: 1e9, snubbed: true })];
    const unchoke = c.rechoke(peers, { seeding: false, now: 0 });
    for (const id of ['p3', 'p2', 'p1']) t.true(unchoke.has(id), `seed ${seed}: ${id}`);
    if (unchoke.has('snubber')) {
      t.is(c.optimisticPeer, 'snubber');
      optimisticallyUnchoked++;
    }
  }
  // The optimistic draw is between p0 and the snubber: about half the seeds each.
  t.true(optimisticallyUnchoked > 10 && optimisticallyUnchoked < 40, `${optimisticallyUnchoked} of 50`);
});

test('seeding: slots go to the peers we upload to fastest, snubbing aside', (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const peers = ranked(7, 'uploadRate').map((p, i) => ({
      ...p,
      downloadRate: (10 - i) * 1e6,
      snubbed: i === 6,
    }));
    const unchoke = choker(seed).rechoke(peers, { seeding: true, now: 0 });
    t.is(unchoke.size, 4);
    for (const id of ['p6', 'p5', 'p4']) t.true(unchoke.has(id), `seed ${seed}: ${id}`);
  }
});

test('seeding: among equally fast peers the most recently unchoked keep their slots', (t) => {
  for (let seed = 0; seed < 10; seed++) {
    const c = choker(seed);
    const peers = Array.from({ length: 10 }, (_, i) => peer(`p${i}`, { uploadRate: 5000 }));
    let previous = c.rechoke(peers, { seeding: true, now: 0 });
    for (let round = 1; round < 12; round++) {
      const unchoke = c.rechoke(peers, { seeding: true, now: round * RECHOKE_INTERVAL_MS });
      const regular = [...unchoke].filter((id) => id !== c.optimisticPeer);
      t.is(regular.length, 3);
      // Each regular slot goes to someone unchoked last round (the three regulars and the optimistic).
      for (const id of regular)
        t.true(previous.has(id), `seed ${seed} round ${round}: ${id} jumped the queue`);
      previous = unchoke;
    }
  }
});

test('the optimistic unchoke is kept for 30 s, then rotated', (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const c = choker(seed);
    const peers = ranked(8, 'downloadRate');
    let start = 0;
    c.rechoke(peers, { seeding: false, now: start });
    for (let rotation = 0; rotation < 4; rotation++) {
      const optimistic = c.optimisticPeer;
      t.truthy(optimistic);
      for (let dt = RECHOKE_INTERVAL_MS; dt < OPTIMISTIC_UNCHOKE_INTERVAL_MS; dt += RECHOKE_INTERVAL_MS) {
        const unchoke = c.rechoke(peers, { seeding: false, now: start + dt });
        t.is(c.optimisticPeer, optimistic, `seed ${seed}: kept at +${dt} ms`);
        t.true(unchoke.has(optimistic ?? ''));
      }
      start += OPTIMISTIC_UNCHOKE_INTERVAL_MS;
      c.rechoke(peers, { seeding: false, now: start });
      t.not(c.optimisticPeer, optimistic, `seed ${seed}: rotated after 30 s`);
    }
  }
});

test('the optimistic peer is replaced at once when it leaves, loses interest or earns a regular slot', (t) => {
  const c = choker(7);
  const peers = ranked(8, 'downloadRate');
  c.rechoke(peers, { seeding: false, now: 0 });
  const first = c.optimisticPeer ?? '';
  const uninterested = peers.map((p) => (p.id === first ? { ...p, interested: false } : p));
  const unchoke = c.rechoke(uninterested, { seeding: false, now: 1000 });
  const second = c.optimisticPeer ?? '';
  t.not(second, first);
  t.false(unchoke.has(first));
  t.is(unchoke.size, 4);

  const gone = peers.filter((p) => p.id !== second);
  c.rechoke(gone, { seeding: false, now: 2000 });
  const third = c.optimisticPeer ?? '';
  t.true(third !== second && third !== '');

  const promoted = gone.map((p) => (p.id === third ? { ...p, downloadRate: 1e9 } : p));
  const after = c.rechoke(promoted, { seeding: false, now: 3000 });
  t.true(after.has(third), 'now a regular');
  t.not(c.optimisticPeer, third);
  t.is(after.size, 4);
});

test('newly connected peers are drawn about 3x as often for the optimistic unchoke', (t) => {
  const now = 10 * OPTIMISTIC_UNCHOKE_INTERVAL_MS;
  const fresh = now - OPTIMISTIC_UNCHOKE_INTERVAL_MS / 2;
  const peers = [
    peer('new-a', { connectedAt: fresh }),
    peer('new-b', { connectedAt: fresh }),
    peer('old-a'),
    peer('old-b'),
    peer('old-c'),
    peer('old-d'),
  ];
  const draws = 4000;
  const counts = new Map<string, number>();
  for (let seed = 0; seed < draws; seed++) {
    const c = choker(`draw-${seed}`, 1);
    const unchoke = c.rechoke(peers, { seeding: false, now });
    t.is(unchoke.size, 1);
    const id = c.optimisticPeer ?? '';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const newCount = (counts.get('new-a') ?? 0) + (counts.get('new-b') ?? 0);
  const perNew = newCount / 2;
  const perOld = (draws - newCount) / 4;
  const ratio = perNew / perOld;
  t.true(Math.abs(ratio - NEW_PEER_OPTIMISTIC_WEIGHT) < 0.5, `new/old ratio ${ratio.toFixed(2)}`);
  // Within each class the draw is uniform.
  for (const [a, b] of [
    ['new-a', 'new-b'],
    ['old-a', 'old-d'],
  ]) {
    const ca = counts.get(a) ?? 0;
    const cb = counts.get(b) ?? 0;
    t.true(Math.abs(ca - cb) / (ca + cb) < 0.15, `${a} ${ca} vs ${b} ${cb}`);
  }
});

test('a peer counts as new only within its first 30 s', (t) => {
  const now = 10 * OPTIMISTIC_UNCHOKE_INTERVAL_MS;
  const peers = [peer('a', { connectedAt: now - OPTIMISTIC_UNCHOKE_INTERVAL_MS }), peer('b')];
  let a = 0;
  const draws = 2000;
  for (let seed = 0; seed < draws; seed++) {
    const c = choker(`age-${seed}`, 1);
    c.rechoke(peers, { seeding: false, now });
    if (c.optimisticPeer === 'a') a++;
  }
  t.true(Math.abs(a / draws - 0.5) < 0.05, `${a} of ${draws}`);
});

test('output does not depend on the order peers are given in', (t) => {
  const peers = ranked(12, 'downloadRate').map((p, i) => ({ ...p, downloadRate: (i % 3) * 1000 }));
  const a = choker('order');
  const b = choker('order');
  for (let round = 0; round < 10; round++) {
    const ctx = { seeding: round >= 5, now: round * RECHOKE_INTERVAL_MS };
    t.deepEqual(sorted(a.rechoke(peers, ctx)), sorted(b.rechoke(new Random(round).shuffle([...peers]), ctx)));
  }
});

test('one upload slot is the optimistic unchoke alone', (t) => {
  const c = choker(3, 1);
  const unchoke = c.rechoke(ranked(5, 'downloadRate'), { seeding: false, now: 0 });
  t.is(unchoke.size, 1);
  t.true(unchoke.has(c.optimisticPeer ?? ''));
});

test('duplicate ids count once and nonsense rates count as zero', (t) => {
  const c = choker(4, 3);
  const peers = [
    peer('nan', { downloadRate: Number.NaN }),
    peer('neg', { downloadRate: -5 }),
    peer('inf', { downloadRate: Number.POSITIVE_INFINITY }),
    peer('ok', { downloadRate: 10 }),
    peer('ok', { downloadRate: 0, interested: false }),
    peer('ok2', { downloadRate: 5 }),
  ];
  const unchoke = c.rechoke(peers, { seeding: false, now: 0 });
  t.true(unchoke.has('ok') && unchoke.has('ok2'), sorted(unchoke).join());
  t.is(unchoke.size, 3);
});

test('bad uploadSlots is rejected', (t) => {
  for (const uploadSlots of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => choker(1, uploadSlots), { code: 'ERR_CHOKER_BAD_INIT' }, String(uploadSlots));
  }
});
