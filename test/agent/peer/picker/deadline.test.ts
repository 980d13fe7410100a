import test from 'ava';
import {
  DEADLINE_DEFAULTS,
  DeadlinePicker,
  MIN_QUEUE_BLOCKS,
} from '../../../../agent/peer/picker/deadline.js';
import { createPicker } from '../../../../agent/peer/picker/index.js';
import type { BlockRef, PickerPeer } from '../../../../agent/peer/picker/piece-picker.js';
import type { PieceTable } from '../../../../agent/peer/picker/piece-table.js';
import { SequentialPicker } from '../../../../agent/peer/picker/sequential.js';
import { StrategyOptionError } from '../../../../agent/peer/picker/strategy-options.js';
import { Random, type Seed } from '../../../../agent/peer/random.js';
import { UnitError } from '../../../../agent/peer/units.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { FakePlayback } from '../../../support/fake-playback.js';
import { makePeer, makeTable, runHistory } from './compliance.js';

/** 200 pieces of 4 blocks (64 KiB), 500 ms of media each. */
const LAYOUT = { pieceCount: 200, pieceLength: 4 * BLOCK_LENGTH, length: 200 * 4 * BLOCK_LENGTH };
const PIECE_MS = 500;
const ALL = [...Array(LAYOUT.pieceCount).keys()];

interface PeerSpec {
  readonly id: string;
  /** Measured download rate in bytes/s; 0 = not measured yet. */
  readonly rate: number;
  readonly rttMs?: number;
  readonly choking?: boolean;
  readonly pieces?: readonly number[] | 'all';
}

/**
 * A download with a scripted player and clock. Before the start (the default), piece i is due
 * 2 s + i * 500 ms from now, so with the default 5 s horizon pieces 0..6 are urgent. Started, the
 * playhead is piece 0 and piece i is due i * 500 ms from now (pieces 0..10 urgent unless held).
 */
function scenario(init: {
  peers: readonly PeerSpec[];
  have?: readonly number[];
  started?: boolean;
  options?: Record<string, unknown>;
  seed?: Seed;
  playback?: boolean;
  startupBufferMs?: number;
}) {
  const clock = { now: Date.now() };
  const table = makeTable(init.have ?? [], LAYOUT);
  const playback =
    init.playback === false
      ? undefined
      : new FakePlayback({
          pieceDurationMs: PIECE_MS,
          started: init.started,
          startupBufferMs: init.startupBufferMs,
          now: () => clock.now,
        });
  if (playback !== undefined && init.started === true) playback.follow(table);
  const peers = new Map<string, PickerPeer>();
  for (const spec of init.peers) {
    const base = makePeer(spec.id, LAYOUT.pieceCount, spec.pieces ?? 'all');
    const peer: PickerPeer = {
      ...base,
      downloadRate: spec.rate,
      rttMs: spec.rttMs,
      peerChoking: spec.choking,
    };
    peers.set(spec.id, peer);
    table.addPeerPieces(peer.have);
  }
  const picker = new DeadlinePicker({
    table,
    random: new Random(init.seed ?? 1),
    options: init.options,
    playback,
    peers: () => [...peers.values()],
    now: () => clock.now,
  });
  // The table stamps claims with Date.now(); restamp them on the scenario's clock.
  const pick = (id: string, max: number): BlockRef[] => {
    const picked = picker.pick(peers.get(id)!, max);
    for (const b of picked) {
      const dl = table.downloads.get(b.piece)!;
      const block = b.begin / BLOCK_LENGTH;
      if (dl.requester[block] === id) dl.requestedAt[block] = clock.now;
    }
    return picked;
  };
  /** Gives `id` a piece far ahead, requested now: an active peer that will ask again soon. */
  const busy = (id: string, piece = 150): void => {
    claimAt(table, piece, id, clock.now);
  };
  return { clock, table, playback, peers, picker, pick, busy };
}

/** Claims every block of `piece` for `id` as requested at `at` on the scenario's clock. */
function claimAt(table: PieceTable, piece: number, id: string, at: number): void {
  table.claim(piece, id, LAYOUT.pieceLength / BLOCK_LENGTH, []);
  table.downloads.get(piece)!.requestedAt.fill(at);
}

const piecesOf = (blocks: readonly BlockRef[]): number[] => [...new Set(blocks.map((b) => b.piece))];
const range = (from: number, to: number): number[] => [...Array(to - from + 1).keys()].map((k) => from + k);
/** Urgent before the start: due within 5 s, the start-up buffer being 2 s. */
const URGENT = range(0, 6);
/** Urgent once playing with nothing buffered: due within 5 s. */
const URGENT_PLAYING = range(0, 10);

test('the crafted deadlines make pieces 0..6 urgent before the start, 0..10 once playing', (t) => {
  const waiting = scenario({ peers: [] });
  t.is(waiting.playback!.deadline(6) - waiting.clock.now, 2_000 + 6 * PIECE_MS);
  t.true(waiting.playback!.deadline(6) - waiting.clock.now <= DEADLINE_DEFAULTS.urgentHorizonMs);
  t.true(waiting.playback!.deadline(7) - waiting.clock.now > DEADLINE_DEFAULTS.urgentHorizonMs);
  const playing = scenario({ peers: [], started: true });
  t.true(playing.playback!.deadline(10) - playing.clock.now <= DEADLINE_DEFAULTS.urgentHorizonMs);
  t.true(playing.playback!.deadline(11) - playing.clock.now > DEADLINE_DEFAULTS.urgentHorizonMs);
});

test('an urgent piece goes to the fast peer; the slow peer gets pieces beyond the urgent window', (t) => {
  const { pick, busy } = scenario({
    started: true,
    peers: [
      { id: 'fast', rate: 2_000_000, rttMs: 20 },
      { id: 'slow', rate: 50_000, rttMs: 20 },
    ],
  });
  busy('fast');
  const slow = pick('slow', 16);
  t.true(slow.length > 0, 'the slow peer still gets work');
  t.false(
    slow.some((b) => URGENT_PLAYING.includes(b.piece)),
    `slow peer got ${piecesOf(slow)}`,
  );
  t.deepEqual(piecesOf(slow), [11, 12, 13, 14], 'the next pieces after the urgent window');
  const fast = pick('fast', 64);
  t.deepEqual(
    piecesOf(fast).slice(0, URGENT_PLAYING.length),
    URGENT_PLAYING,
    'the fast peer takes the urgent pieces in order',
  );
});

test('an urgent piece goes to a slower peer when the fast one chokes us, is saturated or idle', (t) => {
  const peers: PeerSpec[] = [
    { id: 'fast', rate: 2_000_000, rttMs: 20 },
    { id: 'slow', rate: 50_000, rttMs: 20 },
  ];
  const choking = scenario({ peers: [{ ...peers[0], choking: true }, peers[1]] });
  choking.busy('fast');
  t.deepEqual(piecesOf(choking.pick('slow', 4)), [0]);

  // 100 pieces (6.5 MB) queued at 2 MB/s: over 3 s before it could start piece 0.
  const saturated = scenario({ peers });
  for (let piece = 100; piece < 200; piece++) saturated.table.claim(piece, 'fast', 4, []);
  t.deepEqual(piecesOf(saturated.pick('slow', 4)), [0]);

  // Nothing requested from it: it will not ask before some event, so urgent work is not held for it.
  const idle = scenario({ peers });
  t.deepEqual(piecesOf(idle.pick('slow', 4)), [0]);
});

test('urgent pieces are spread over the peers by expected finish time', (t) => {
  // Equal unknown rates: b is busy with one piece, so a takes the first two, then they alternate
  // (the asking peer winning ties).
  const equal = scenario({
    peers: [
      { id: 'a', rate: 0 },
      { id: 'b', rate: 0 },
    ],
  });
  equal.busy('b');
  t.deepEqual(piecesOf(equal.pick('a', 100)), [0, 1, 3, 5]);
  t.deepEqual(piecesOf(equal.pick('b', 100)), [2, 4, 6]);

  // A peer three times as fast takes about three pieces for each of the other's.
  const uneven = scenario({
    peers: [
      { id: 'fast', rate: 3_000_000 },
      { id: 'slow', rate: 1_000_000 },
    ],
  });
  uneven.busy('fast');
  const slow = piecesOf(uneven.pick('slow', 100)).filter((p) => URGENT.includes(p));
  t.true(slow.length >= 1 && slow.length <= 2, `slow got ${slow}`);
  t.false(slow.includes(0), 'the first piece goes to the fast peer');
});

test('an unmeasured peer counts as average, not as slow', (t) => {
  // The average of the measured rates is ~2 MB/s (a fast peer that chokes us, a slow one).
  const { pick, busy } = scenario({
    peers: [
      { id: 'new', rate: 0 },
      { id: 'slow', rate: 50_000 },
      { id: 'fast', rate: 4_000_000, choking: true },
    ],
  });
  busy('new');
  t.false(pick('slow', 16).some((b) => URGENT.includes(b.piece)));
  t.deepEqual(piecesOf(pick('new', 28)), URGENT);
});

test('before the start only the start-up window is requested, however long the start-up buffer', (t) => {
  const short = scenario({ peers: [{ id: 'fast', rate: 2_000_000 }] });
  t.deepEqual(piecesOf(short.pick('fast', 500)), URGENT, 'nothing competes with the start-up pieces');
  // An 8 s start-up buffer (pieces 0..15) is longer than the 5 s horizon.
  const long = scenario({ peers: [{ id: 'fast', rate: 2_000_000 }], startupBufferMs: 8_000 });
  const picked = piecesOf(long.pick('fast', 500));
  t.deepEqual(picked.slice(0, 16), range(0, 15));
  t.true(picked.length <= 17, `${picked.length} pieces`);
});

test('no peer holds more than its queue budget; the rest waits for its next pick', (t) => {
  const { table, pick } = scenario({ started: true, peers: [{ id: 'fast', rate: 2_000_000 }] });
  const budget = Math.ceil((2_000_000 * DEADLINE_DEFAULTS.queueBudgetMs) / 1000 / BLOCK_LENGTH);
  const picked = pick('fast', 500);
  t.is(picked.length, budget);
  t.deepEqual(piecesOf(picked).slice(0, URGENT_PLAYING.length), URGENT_PLAYING);
  t.deepEqual(pick('fast', 500), [], 'nothing more until some of it arrives');
  const [first] = picked;
  table.markReceived(first.piece, first.begin, 'fast');
  t.is(pick('fast', 500).length, 1, 'one block arrived: room for one more');

  const slow = scenario({ started: true, peers: [{ id: 'slow', rate: 1_000, rttMs: 10 }] });
  t.is(slow.pick('slow', 500).length, MIN_QUEUE_BLOCKS, 'however slow, a peer keeps a pipeline');
});

test('a late block of an urgent piece is requested again from a faster peer; the slow request stays', (t) => {
  const { table, clock, pick, busy } = scenario({
    peers: [
      { id: 'fast', rate: 2_000_000, rttMs: 20 },
      { id: 'slow', rate: 50_000, rttMs: 20 },
      { id: 'slower', rate: 2_000, rttMs: 20 },
    ],
  });
  // The fast peer is idle, so the slow one is given piece 0 (4 blocks, ~1.3 s at 50 kB/s).
  t.deepEqual(piecesOf(pick('slow', 4)), [0]);
  const dl = table.downloads.get(0)!;

  // Not late yet: nothing is duplicated.
  clock.now += 300;
  busy('fast', 150);
  t.false(
    pick('fast', 8).some((b) => b.piece === 0),
    'blocks within their expected time stay with their peer',
  );

  // Well past their expected time: the fast peer duplicates them (once its own queue is fresh).
  clock.now += 3_000;
  busy('fast', 151);
  t.false(
    pick('slower', 4).some((b) => b.piece === 0),
    'a peer that would deliver even later does not duplicate',
  );
  const dup = pick('fast', 8).filter((b) => b.piece === 0);
  t.true(dup.length > 0, 'late blocks were re-requested');
  for (const b of dup) {
    const block = b.begin / BLOCK_LENGTH;
    t.deepEqual(dl.requestersOf(block), ['slow', 'fast'], 'the slow request stays');
  }
  t.deepEqual(
    pick('fast', 8).filter((b) => b.piece === 0),
    [],
    'never twice from the same peer',
  );
});

test('late blocks of non-urgent pieces are not duplicated before end game', (t) => {
  const { table, clock, pick } = scenario({
    peers: [
      { id: 'fast', rate: 2_000_000 },
      { id: 'slow', rate: 50_000 },
    ],
  });
  table.claim(40, 'slow', 4, []);
  clock.now += 10_000;
  // Ten seconds on, the player has not started, so 0..6 are still the urgent ones (deadlines
  // follow the clock), and piece 40 is far beyond them.
  t.false(pick('fast', 100).some((b) => b.piece === 40));
  t.deepEqual(table.downloads.get(40)!.requestersOf(0), ['slow']);
});

test('while playing, a seed is spared the urgent pieces another peer delivers comfortably in time', (t) => {
  const peers: PeerSpec[] = [
    { id: 'seed', rate: 3_000_000 },
    // Everything but the last piece: not a seed. Slower: by finish time alone, the seed would
    // take every urgent piece.
    { id: 'peer', rate: 200_000, pieces: range(0, 198) },
  ];
  const playing = scenario({ started: true, peers });
  playing.busy('peer');
  const fromSeed = piecesOf(playing.pick('seed', 500)).filter((p) => URGENT_PLAYING.includes(p));
  t.deepEqual(fromSeed.slice(0, 3), [0, 1, 2], 'the pieces due soonest still come from the seed');
  t.true(fromSeed.length < URGENT_PLAYING.length, `the seed got ${fromSeed}`);
  const fromPeer = piecesOf(playing.pick('peer', 500)).filter((p) => URGENT_PLAYING.includes(p));
  t.deepEqual(
    [...fromSeed, ...fromPeer].sort((a, b) => a - b),
    URGENT_PLAYING,
    'the peer takes the rest',
  );

  // Before the start, the fastest start counts: finish times alone decide.
  const waiting = scenario({ peers });
  waiting.busy('peer');
  t.deepEqual(piecesOf(waiting.pick('seed', 500)), URGENT);
});

test('with a healthy buffer spare requests go to rare pieces; with a low buffer they do not', (t) => {
  // Piece 120 is held by one peer only; every other piece by two.
  const peers: PeerSpec[] = [
    { id: 'p', rate: 0 },
    { id: 'q', rate: 0, pieces: ALL.filter((i) => i !== 120), choking: true },
  ];
  const heldFor = (ms: number): number[] => range(0, ms / PIECE_MS - 1);

  const healthy = scenario({ peers, started: true, have: heldFor(DEADLINE_DEFAULTS.healthyBufferMs) });
  t.is(healthy.playback!.bufferedMs, DEADLINE_DEFAULTS.healthyBufferMs);
  t.is(healthy.table.availabilityOf(120), 1);
  t.deepEqual(piecesOf(healthy.pick('p', 4)), [120]);

  const low = scenario({ peers, started: true, have: heldFor(2_000) });
  t.is(low.playback!.bufferedMs, 2_000);
  const picked = low.pick('p', 500);
  t.false(picked.some((b) => b.piece === 120));
  t.deepEqual(
    piecesOf(picked),
    range(4, 4 + picked.length / 4 - 1),
    'in playback order from the first missing piece',
  );
});

test('below a healthy buffer, the pieces up to it come rarest first, ties in playback order', (t) => {
  // Piece 18 (due in 9 s, inside the 10 s healthy window) and piece 30 (beyond it) are rare.
  const peers: PeerSpec[] = [
    { id: 'p', rate: 0 },
    { id: 'q', rate: 0, pieces: ALL.filter((i) => i !== 18 && i !== 30) },
  ];
  const { pick, busy } = scenario({ peers, started: true, have: range(0, 3) });
  busy('q');
  const spare = piecesOf(pick('p', 500)).filter((p) => p > 10);
  t.deepEqual(spare.slice(0, 4), [18, 11, 12, 13]);
  t.true(spare.indexOf(30) > spare.indexOf(20), 'the rare piece beyond the window waits its turn');
});

test('once the buffer covers the urgent horizon, a share rareShare goes to rare pieces anywhere', (t) => {
  const peers: PeerSpec[] = [
    { id: 'p', rate: 0 },
    { id: 'q', rate: 0, pieces: ALL.filter((i) => i !== 150) },
  ];
  // 6 s buffered: beyond the 5 s horizon, below the 10 s of a healthy buffer.
  const have = range(0, 11);
  const always = scenario({ peers, started: true, have, options: { rareShare: 1 } });
  t.deepEqual(piecesOf(always.pick('p', 4)), [150]);
  const never = scenario({ peers, started: true, have, options: { rareShare: 0 } });
  t.false(never.pick('p', 500).some((b) => b.piece === 150));
  // Below the horizon the share is not spent, whatever the option.
  const low = scenario({ peers, started: true, have: range(0, 3), options: { rareShare: 1 } });
  t.false(piecesOf(low.pick('p', 16)).includes(150));
});

test('rare pieces tie-break at random, the same way for the same seed', (t) => {
  const orders = new Set<string>();
  for (let seed = 0; seed < 10; seed++) {
    const run = (): number[] => {
      const s = scenario({ peers: [{ id: 'p', rate: 0 }], started: true, have: range(0, 29), seed });
      return piecesOf(s.pick('p', 12));
    };
    const order = run();
    t.deepEqual(order, run(), `seed ${seed}`);
    orders.add(order.join(','));
  }
  t.true(orders.size >= 5, `orders: ${[...orders].join(' | ')}`);
});

test('a slow peer is not given a non-urgent piece it cannot deliver before its deadline', (t) => {
  const { table, clock, playback, pick, busy } = scenario({
    started: true,
    peers: [
      { id: 'fast', rate: 2_000_000 },
      { id: 'slow', rate: 10_000 },
    ],
  });
  busy('fast');
  // 64 KiB at 10 kB/s takes 6.6 s: pieces 11..13 (due in 5.5..6.5 s) are out of reach.
  const [first] = piecesOf(pick('slow', 4));
  t.true(first > 13, `got ${first}`);
  t.true(playback!.deadline(first) - clock.now >= (LAYOUT.pieceLength * 1000) / 10_000);
  for (const p of [11, 12, 13]) t.true(table.isUnstarted(p), `piece ${p} left for a faster peer`);
});

test('without a player: sequential order, whatever the rates', (t) => {
  const peers: PeerSpec[] = [
    { id: 'fast', rate: 2_000_000 },
    { id: 'slow', rate: 50_000 },
  ];
  const { table, pick } = scenario({ peers, playback: false, have: [1] });
  const reference = makeTable([1], LAYOUT);
  const seq = new SequentialPicker({ table: reference });
  const seedPeer = makePeer('slow', LAYOUT.pieceCount, 'all');
  reference.addPeerPieces(seedPeer.have);
  const picked = pick('slow', 40);
  t.deepEqual(picked, seq.pick(seedPeer, 40));
  t.deepEqual(piecesOf(picked).slice(0, 3), [0, 2, 3]);
  t.is(table.downloads.get(0)!.requester[0], 'slow');
});

test('options: defaults, durations as strings, and ERR_STRATEGY_OPTION naming the option', (t) => {
  const table = makeTable();
  const random = new Random(1);
  const defaults = new DeadlinePicker({ table, random });
  t.is(defaults.urgentHorizonMs, DEADLINE_DEFAULTS.urgentHorizonMs);
  t.is(defaults.healthyBufferMs, DEADLINE_DEFAULTS.healthyBufferMs);
  t.is(defaults.lateFactor, DEADLINE_DEFAULTS.lateFactor);
  t.is(defaults.queueBudgetMs, DEADLINE_DEFAULTS.queueBudgetMs);
  t.is(defaults.rareShare, DEADLINE_DEFAULTS.rareShare);
  const set = new DeadlinePicker({
    table,
    random,
    options: {
      urgentHorizonMs: '3s',
      healthyBufferMs: 20_000,
      lateFactor: 3,
      queueBudgetMs: '250ms',
      rareShare: 0.5,
    },
  });
  t.deepEqual(
    [set.urgentHorizonMs, set.healthyBufferMs, set.lateFactor, set.queueBudgetMs, set.rareShare],
    [3_000, 20_000, 3, 250, 0.5],
  );

  const bad: Array<[Record<string, unknown>, string]> = [
    [{ urgentHorizonMs: 'soon' }, 'urgentHorizonMs'],
    [{ urgentHorizonMs: -1 }, 'urgentHorizonMs'],
    [{ healthyBufferMs: true }, 'healthyBufferMs'],
    [{ lateFactor: 0.5 }, 'lateFactor'],
    [{ lateFactor: '2' }, 'lateFactor'],
    [{ queueBudgetMs: 0 }, 'queueBudgetMs'],
    [{ rareShare: 1.5 }, 'rareShare'],
    [{ horizon: 5_000 }, 'horizon'],
  ];
  for (const [options, option] of bad) {
    const err = t.throws(() => createPicker('deadline', { table, random, options }), {
      instanceOf: StrategyOptionError,
    });
    t.is(err?.code, 'ERR_STRATEGY_OPTION');
    t.is(err?.option, option, JSON.stringify(options));
    t.true(err?.message.includes(`"${option}"`));
  }
  const err = t.throws(() =>
    createPicker('deadline', { table, random, options: { urgentHorizonMs: 'soon' } }),
  );
  t.true(err?.cause instanceof UnitError, 'a bad duration keeps the parser error as cause');
});

test('a streaming history with peer rates completes', (t) => {
  for (const seed of [1, 2, 3, 4]) t.true(runHistory('deadline', seed, 600, true).done, `seed ${seed}`);
});
