import test from 'ava';
import { createPicker } from '../../../../agent/peer/picker/index.js';
import type { BlockRef } from '../../../../agent/peer/picker/piece-picker.js';
import { ENDGAME_MAX_DUPLICATES } from '../../../../agent/peer/picker/rarest-first.js';
import { playbackRank, playbackStart, SequentialPicker } from '../../../../agent/peer/picker/sequential.js';
import { StrategyOptionError } from '../../../../agent/peer/picker/strategy-options.js';
import { Random } from '../../../../agent/peer/random.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { FakePlayback } from '../../../support/fake-playback.js';
import { makePeer, makeTable, runHistory } from './compliance.js';

/** One block per piece, so a pick of n blocks names the next n pieces in the picker's order. */
const ONE_BLOCK = { pieceCount: 24, pieceLength: BLOCK_LENGTH, length: 24 * BLOCK_LENGTH };
const pieces = (blocks: readonly BlockRef[]): number[] => blocks.map((b) => b.piece);

function setup(have: readonly number[], playheadPiece?: number) {
  const table = makeTable(have, ONE_BLOCK);
  const playback =
    playheadPiece === undefined ? undefined : new FakePlayback({ pieceDurationMs: 500, playheadPiece });
  const picker = new SequentialPicker({ table, playback });
  const seed = makePeer('seed', ONE_BLOCK.pieceCount, 'all');
  table.addPeerPieces(seed.have);
  // Rarity must not matter: piece 23 is held by the seed alone, the others by three peers.
  for (const id of ['x', 'y'])
    table.addPeerPieces(makePeer(id, ONE_BLOCK.pieceCount, [...Array(23).keys()]).have);
  return { table, picker, seed };
}

test('without a player: index order from piece 0, skipping held pieces, ignoring rarity', (t) => {
  const { picker, seed, table } = setup([1, 4]);
  t.is(table.availabilityOf(23), 1);
  t.deepEqual(pieces(picker.pick(seed, 5)), [0, 2, 3, 5, 6]);
  t.deepEqual(pieces(picker.pick(seed, 2)), [7, 8]);
});

test('with a player: from the playhead to the end, then the pieces behind it', (t) => {
  const { picker, seed } = setup([17], 15);
  t.deepEqual(pieces(picker.pick(seed, 10)), [15, 16, 18, 19, 20, 21, 22, 23, 0, 1]);
});

test('the order follows the playhead as it moves', (t) => {
  const { picker, seed, table } = setup([]);
  const playback = new FakePlayback({ pieceDurationMs: 500, playheadPiece: 3 });
  const moving = new SequentialPicker({ table, playback });
  t.deepEqual(pieces(moving.pick(seed, 2)), [3, 4]);
  playback.playheadPiece = 12;
  t.deepEqual(pieces(moving.pick(seed, 2)), [12, 13]);
  t.deepEqual(pieces(picker.pick(seed, 1)), [0], 'a picker without a player starts at 0');
});

test('only pieces the peer has, within onlyPieces', (t) => {
  const { picker, table } = setup([], 2);
  const partial = makePeer('partial', ONE_BLOCK.pieceCount, [1, 3, 4, 9, 20]);
  table.addPeerPieces(partial.have);
  t.deepEqual(pieces(picker.pick(partial, 3, { onlyPieces: new Set([1, 4, 9, 20]) })), [4, 9, 20]);
  t.deepEqual(pieces(picker.pick(partial, 5)), [3, 1]);
});

test('strict priority: started pieces first, the one nearest the playhead first', (t) => {
  const layout = { pieceCount: 20, pieceLength: 3 * BLOCK_LENGTH, length: 60 * BLOCK_LENGTH };
  const table = makeTable([], layout);
  const playback = new FakePlayback({ pieceDurationMs: 500, playheadPiece: 5 });
  const picker = new SequentialPicker({ table, playback });
  const peer = makePeer('p', 20, 'all');
  table.addPeerPieces(peer.have);
  // Started by others, one block each: piece 2 (behind the playhead), 14 and 9.
  for (const piece of [2, 14, 9]) t.is(table.claim(piece, 'other', 1, []), 1);
  const picked = picker.pick(peer, 7);
  t.deepEqual(
    picked.map((b) => [b.piece, b.begin / BLOCK_LENGTH]),
    [
      [9, 1],
      [9, 2],
      [14, 1],
      [14, 2],
      [2, 1],
      [2, 2],
      [5, 0],
    ],
  );
});

test(`end game: duplicates in playback order, at most ${ENDGAME_MAX_DUPLICATES} per pick`, (t) => {
  const layout = { pieceCount: 8, pieceLength: 4 * BLOCK_LENGTH, length: 32 * BLOCK_LENGTH };
  const table = makeTable([], layout);
  const playback = new FakePlayback({ pieceDurationMs: 500, playheadPiece: 6 });
  const picker = new SequentialPicker({ table, playback });
  const a = makePeer('a', 8, 'all');
  const b = makePeer('b', 8, 'all');
  table.addPeerPieces(a.have);
  table.addPeerPieces(b.have);
  t.deepEqual([...new Set(pieces(picker.pick(a, 100)))], [6, 7, 0, 1, 2, 3, 4, 5]);
  t.true(table.endgame);
  const dup = picker.pick(b, 100);
  t.is(dup.length, ENDGAME_MAX_DUPLICATES);
  t.deepEqual([...new Set(pieces(dup))], [6, 7], 'the pieces due first are duplicated first');
  t.deepEqual(dup[0], { piece: 6, begin: 0, length: BLOCK_LENGTH });
});

test('the seed changes nothing: sequential makes no random choice', (t) => {
  const logs = [1, 2, 3].map((seed) => {
    const table = makeTable([4, 9], ONE_BLOCK);
    const peer = makePeer('p', ONE_BLOCK.pieceCount, 'all');
    table.addPeerPieces(peer.have);
    const picker = createPicker('sequential', { table, random: new Random(seed) });
    return pieces(picker.pick(peer, 10));
  });
  t.deepEqual(logs[0], [0, 1, 2, 3, 5, 6, 7, 8, 10, 11]);
  t.deepEqual(logs[1], logs[0]);
  t.deepEqual(logs[2], logs[0]);
});

test('takes no options: any option is ERR_STRATEGY_OPTION naming it', (t) => {
  const err = t.throws(
    () => createPicker('sequential', { table: makeTable(), random: new Random(1), options: { window: 4 } }),
    { instanceOf: StrategyOptionError },
  );
  t.is(err?.code, 'ERR_STRATEGY_OPTION');
  t.is(err?.option, 'window');
  t.regex(err?.message ?? '', /"window"/);
});

test('playbackStart clamps the playhead; playbackRank puts the pieces behind it last', (t) => {
  const view = (playheadPiece: number) => new FakePlayback({ pieceDurationMs: 1, playheadPiece });
  t.is(playbackStart(undefined, 10), 0);
  t.is(playbackStart(view(4), 10), 4);
  t.is(playbackStart(view(-3), 10), 0);
  t.is(playbackStart(view(Number.NaN), 10), 0);
  t.is(playbackStart(view(99), 10), 10);
  t.deepEqual(
    [0, 1, 2, 3, 4].sort((a, b) => playbackRank(a, 3, 5) - playbackRank(b, 3, 5)),
    [3, 4, 0, 1, 2],
  );
  t.deepEqual(
    [2, 0, 1].sort((a, b) => playbackRank(a, 3, 3) - playbackRank(b, 3, 3)),
    [0, 1, 2],
    'everything played: index order',
  );
});

test('a streaming history with peer rates completes', (t) => {
  for (const seed of [1, 2, 3]) t.true(runHistory('sequential', seed, 600, true).done, `seed ${seed}`);
});
