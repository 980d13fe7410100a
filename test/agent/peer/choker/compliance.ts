import test, { type ExecutionContext } from 'ava';
import {
  type Choker,
  type ChokerPeer,
  RECHOKE_INTERVAL_MS,
  type RechokeContext,
} from '../../../../agent/peer/choker/choker.js';
import { Random, type Seed } from '../../../../agent/peer/random.js';

/**
 * The compliance suite every Choker passes: run `chokerCase` for each subject and each entry of
 * `CHOKER_CASES` (see choker.test.ts).
 */
export interface ChokerSubject {
  readonly name: string;
  create(init: { seed: Seed; uploadSlots: number }): Choker;
}

export interface Round {
  readonly peers: readonly ChokerPeer[];
  readonly ctx: RechokeContext;
}

const MAX_PEERS = 40;
const ROUNDS = 150;

/**
 * A seeded swarm history: peers join and leave, change interest, rates and snub state; the torrent
 * switches to seeding part way. Each round is an independent snapshot (fresh objects).
 */
export function swarmHistory(seed: Seed, rounds = ROUNDS): Round[] {
  const random = new Random(seed);
  let next = 0;
  let peers: ChokerPeer[] = [];
  const history: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const now = round * RECHOKE_INTERVAL_MS;
    peers = peers.filter(() => !random.chance(0.1));
    const joining = random.int(5);
    for (let i = 0; i < joining && peers.length < MAX_PEERS; i++) {
      peers.push({
        id: `peer-${next++}`,
        interested: false,
        choked: true,
        downloadRate: 0,
        uploadRate: 0,
        snubbed: false,
        connectedAt: now - random.int(RECHOKE_INTERVAL_MS),
      });
    }
    peers = peers.map((p) => ({
      ...p,
      interested: random.chance(0.7),
      // Many ties on purpose: rates drawn from a few levels.
      downloadRate: random.int(6) * 10_000,
      uploadRate: random.int(6) * 10_000,
      snubbed: random.chance(0.15),
    }));
    history.push({ peers: random.shuffle([...peers]), ctx: { seeding: round >= rounds / 2, now } });
  }
  return history;
}

export function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort();
}

interface ChokerCase {
  readonly name: string;
  run(t: ExecutionContext, subject: ChokerSubject): void;
}

export const CHOKER_CASES: readonly ChokerCase[] = [
  {
    name: 'unchokes at most uploadSlots peers, all of them known and interested',
    run(t, subject) {
      for (const uploadSlots of [1, 2, 4, 7]) {
        const choker = subject.create({ seed: `slots-${uploadSlots}`, uploadSlots });
        let unchokedSomeone = false;
        for (const { peers, ctx } of swarmHistory(`swarm-${uploadSlots}`)) {
          const unchoke = choker.rechoke(peers, ctx);
          t.true(unchoke.size <= uploadSlots, `${unchoke.size} > ${uploadSlots} at ${ctx.now}`);
          const interested = new Set(peers.filter((p) => p.interested).map((p) => p.id));
          for (const id of unchoke) {
            if (!interested.has(id)) t.fail(`${id} is unknown or not interested at ${ctx.now}`);
          }
          unchokedSomeone ||= unchoke.size > 0;
        }
        t.true(unchokedSomeone, 'the history has interested peers, some must be unchoked');
      }
    },
  },
  {
    name: 'the same seed and inputs give the same output',
    run(t, subject) {
      const history = swarmHistory('determinism');
      const a = subject.create({ seed: 'same', uploadSlots: 4 });
      const b = subject.create({ seed: 'same', uploadSlots: 4 });
      for (const { peers, ctx } of history) {
        // Same peers, presented in another order: the input is the same set of peers.
        t.deepEqual(
          sorted(a.rechoke(peers, ctx)),
          sorted(b.rechoke([...peers].reverse(), ctx)),
          `at ${ctx.now}`,
        );
      }
    },
  },
  {
    name: 'nobody to unchoke gives an empty set',
    run(t, subject) {
      const choker = subject.create({ seed: 'empty', uploadSlots: 4 });
      const uninterested = swarmHistory('uninterested', 3).flatMap((r) =>
        r.peers.map((p) => ({ ...p, interested: false })),
      );
      for (const seeding of [false, true]) {
        t.is(choker.rechoke([], { seeding, now: 0 }).size, 0);
        t.is(choker.rechoke(uninterested, { seeding, now: RECHOKE_INTERVAL_MS }).size, 0);
        t.is(choker.rechoke([], { seeding, now: 2 * RECHOKE_INTERVAL_MS }).size, 0);
      }
    },
  },
];

export const chokerCase = test.macro<[ChokerSubject, ChokerCase]>({
  exec: (t, subject, c) => c.run(t, subject),
  title: (_provided, subject, c) => `${subject.name}: ${c.name}`,
});
