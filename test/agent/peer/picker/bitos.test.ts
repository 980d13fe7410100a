import test from 'ava';
import {
  BITOS_DEFAULT_HIGH_PRIORITY_SIZE,
  BITOS_DEFAULT_P,
  BitosPicker,
} from '../../../../agent/peer/picker/bitos.js';
import { createPicker } from '../../../../agent/peer/picker/index.js';
import type { PieceTable } from '../../../../agent/peer/picker/piece-table.js';
import { StrategyOptionError } from '../../../../agent/peer/picker/strategy-options.js';
import type { PlaybackView } from '../../../../agent/peer/playback/playback-view.js';
import { Random, type Seed } from '../../../../agent/peer/random.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { FakePlayback } from '../../../support/fake-playback.js';
import { makePeer, makeTable, runHistory, type TestPeer } from './compliance.js';

/** One block per piece: a pick of one block names the piece chosen. */
const ONE_BLOCK = { pieceCount: 24, pieceLength: BLOCK_LENGTH, length: 24 * BLOCK_LENGTH };
const ALL = [...Array(ONE_BLOCK.pieceCount).keys()];

interface Setup {
  readonly table: PieceTable;
  readonly picker: BitosPicker;
  readonly peer: TestPeer;
}

/**
 * The peer we pick for is a seed; two more peers lack `rare` (availability 1) and every other piece
 * has availability 3.
 */
function setup(
  seed: Seed,
  options: Record<string, unknown>,
  playback: PlaybackView | undefined,
  rare: readonly number[] = [],
  have: readonly number[] = [],
): Setup {
  const table = makeTable(have, ONE_BLOCK);
  const peer = makePeer('picker', ONE_BLOCK.pieceCount, 'all');
  table.addPeerPieces(peer.have);
  for (const id of ['x', 'y'])
    table.addPeerPieces(
      makePeer(
        id,
        ONE_BLOCK.pieceCount,
        ALL.filter((i) => !rare.includes(i)),
      ).have,
    );
  return { table, picker: new BitosPicker({ table, random: new Random(seed), options, playback }), peer };
}

const playhead = (playheadPiece: number): FakePlayback =>
  new FakePlayback({ pieceDurationMs: 500, playheadPiece, started: true });

/** Forgets a picked piece (as a hash failure would), so the next draw sees the same sets. */
function unpick(table: PieceTable, piece: number): void {
  table.failPiece(piece);
}

test('defaults: 8 high-priority pieces, p = 0.8', (t) => {
  const { picker } = setup(1, {}, undefined);
  t.is(picker.highPrioritySize, BITOS_DEFAULT_HIGH_PRIORITY_SIZE);
  t.is(BITOS_DEFAULT_HIGH_PRIORITY_SIZE, 8);
  t.is(picker.p, BITOS_DEFAULT_P);
  t.is(BITOS_DEFAULT_P, 0.8);
});

test('the high-priority set is the needed pieces closest to playback', (t) => {
  const { picker } = setup(1, { highPrioritySize: 5 }, playhead(10), [], [11, 13]);
  picker.refresh();
  t.deepEqual(
    [...picker.highPriority].sort((a, b) => a - b),
    [10, 12, 14, 15, 16],
  );
  const noPlayer = setup(1, { highPrioritySize: 3 }, undefined, [], [0]);
  noPlayer.picker.refresh();
  t.deepEqual(
    [...noPlayer.picker.highPriority].sort((a, b) => a - b),
    [1, 2, 3],
    'from piece 0',
  );
});

for (const p of [0.8, 0.3]) {
  test(`the high-priority set is chosen with probability p = ${p} over many seeded draws`, (t) => {
    const draws = 3_000;
    let high = 0;
    const { table, picker, peer } = setup(`draws/${p}`, { p, highPrioritySize: 8 }, playhead(4));
    for (let k = 0; k < draws; k++) {
      const [block] = picker.pick(peer, 1);
      if (picker.highPriority.has(block.piece)) high++;
      unpick(table, block.piece);
    }
    // sd = sqrt(p(1-p)/n) <= 0.0092: 0.04 is over four of them.
    t.true(Math.abs(high / draws - p) < 0.04, `${high} of ${draws} from the high-priority set`);
    // And across seeds, one draw each.
    let highAcrossSeeds = 0;
    for (let seed = 0; seed < 1_000; seed++) {
      const s = setup(seed, { p }, playhead(4));
      const [block] = s.picker.pick(s.peer, 1);
      if (s.picker.highPriority.has(block.piece)) highAcrossSeeds++;
    }
    t.true(Math.abs(highAcrossSeeds / 1_000 - p) < 0.06, `${highAcrossSeeds} of 1000 seeds`);
  });
}

test('p = 1 and p = 0 always serve one set', (t) => {
  for (let seed = 0; seed < 50; seed++) {
    const one = setup(seed, { p: 1 }, playhead(4));
    const [a] = one.picker.pick(one.peer, 1);
    t.true(one.picker.highPriority.has(a.piece));
    const zero = setup(seed, { p: 0 }, playhead(4));
    const [b] = zero.picker.pick(zero.peer, 1);
    t.false(zero.picker.highPriority.has(b.piece));
  }
});

test('rarest first inside each set', (t) => {
  // High-priority set: 4..11. Piece 9 is rare inside it, piece 17 inside the remaining set.
  for (let seed = 0; seed < 20; seed++) {
    const high = setup(seed, { p: 1 }, playhead(4), [9, 17]);
    t.deepEqual(
      high.picker.pick(high.peer, 2).map((b) => b.piece),
      [9, 4],
      'then the earliest deadline among the equally rare',
    );
    const rest = setup(seed, { p: 0 }, playhead(4), [9, 17]);
    t.deepEqual(
      rest.picker.pick(rest.peer, 2).map((b) => b.piece),
      [17, 12],
    );
  }
});

test('ties go to the shortest time to consumption: pieces behind the playhead come last', (t) => {
  // Remaining set: 0..9 (behind, never consumed) and 18..23.
  const { picker, peer } = setup(3, { p: 0 }, playhead(10));
  t.deepEqual(
    picker.pick(peer, 8).map((b) => b.piece),
    [18, 19, 20, 21, 22, 23, 0, 1],
  );
});

test('ties follow the deadline, not the index', (t) => {
  // A player whose deadlines run backwards: piece 23 is due first.
  const now = Date.now();
  const reversed: PlaybackView = {
    started: true,
    playheadPiece: 0,
    bufferedMs: 0,
    deadline: (i) => now + (ONE_BLOCK.pieceCount - i) * 500,
  };
  const { picker, peer } = setup(4, { p: 1, highPrioritySize: 4 }, reversed);
  t.deepEqual(
    picker.pick(peer, 4).map((b) => b.piece),
    [23, 22, 21, 20],
  );
  t.deepEqual(
    [...picker.highPriority].sort((a, b) => a - b),
    [20, 21, 22, 23],
  );
});

test('a received high-priority piece is replaced by the remaining piece with the shortest deadline', (t) => {
  // Piece 20 is the rarest remaining piece, but 8 is due first.
  const { table, picker, peer } = setup(5, { p: 1, highPrioritySize: 8 }, playhead(0), [20]);
  const [block] = picker.pick(peer, 1);
  t.deepEqual(
    [...picker.highPriority].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  t.true(block.piece < 8);
  table.markReceived(block.piece, 0, peer.id);
  table.completePiece(block.piece);
  picker.refresh();
  const expected = [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((i) => i !== block.piece);
  t.deepEqual(
    [...picker.highPriority].sort((a, b) => a - b),
    expected,
  );
  // A requested (not received) high-priority piece stays in the set.
  const [next] = picker.pick(peer, 1);
  t.true(picker.highPriority.has(next.piece));
  t.is(picker.highPriority.size, 8);
});

test('when the drawn set has nothing the peer can serve, the other set is used', (t) => {
  const { table, picker } = setup(6, { p: 1, highPrioritySize: 4 }, playhead(0));
  const far = makePeer('far', ONE_BLOCK.pieceCount, [15, 16]);
  table.addPeerPieces(far.have);
  t.deepEqual(
    picker.pick(far, 5).map((b) => b.piece),
    [15, 16],
  );
});

test('options are validated with ERR_STRATEGY_OPTION naming the option', (t) => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ highPrioritySize: 0 }, 'highPrioritySize'],
    [{ highPrioritySize: 2.5 }, 'highPrioritySize'],
    [{ highPrioritySize: '8' }, 'highPrioritySize'],
    [{ p: 1.5 }, 'p'],
    [{ p: -0.1 }, 'p'],
    [{ p: Number.NaN }, 'p'],
    [{ p: 'high' }, 'p'],
    [{ probability: 0.5 }, 'probability'],
  ];
  for (const [options, option] of bad) {
    const err = t.throws(
      () => createPicker('bitos', { table: makeTable(), random: new Random(1), options }),
      {
        instanceOf: StrategyOptionError,
      },
    );
    t.is(err?.code, 'ERR_STRATEGY_OPTION');
    t.is(err?.option, option, JSON.stringify(options));
    t.true(err?.message.includes(`"${option}"`));
  }
  const ok = new BitosPicker({
    table: makeTable(),
    random: new Random(1),
    options: { highPrioritySize: 1, p: 0 },
  });
  t.is(ok.highPrioritySize, 1);
  t.is(ok.p, 0);
});

test('a streaming history with peer rates completes', (t) => {
  for (const seed of [1, 2, 3]) t.true(runHistory('bitos', seed, 600, true).done, `seed ${seed}`);
});
