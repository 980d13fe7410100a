import test from 'ava';
import type { BlockRef } from '../../../../agent/peer/picker/piece-picker.js';
import type { PieceTable } from '../../../../agent/peer/picker/piece-table.js';
import {
  ENDGAME_MAX_DUPLICATES,
  RANDOM_FIRST_PIECES,
  RarestFirstPicker,
} from '../../../../agent/peer/picker/rarest-first.js';
import { Random, type Seed } from '../../../../agent/peer/random.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { makePeer, makeTable, type TestPeer } from './compliance.js';

/** One block per piece, so a pick of n blocks names the first n pieces in the picker's order. */
const ONE_BLOCK = { pieceCount: 24, pieceLength: BLOCK_LENGTH, length: 24 * BLOCK_LENGTH };
const ALL = [...Array(ONE_BLOCK.pieceCount).keys()];

function without(excluded: readonly number[]): number[] {
  return ALL.filter((i) => !excluded.includes(i));
}

/**
 * Availability on the one-block layout: a seed (`picker` — the peer we pick for), two peers with
 * everything but `rare` (so those pieces have availability 1) and one lacking `scarce` as well
 * (availability 2); every other piece has 3.
 */
function crafted(
  seed: Seed,
  have: readonly number[],
  rare: readonly number[],
  scarce: readonly number[] = [],
): { table: PieceTable; picker: RarestFirstPicker; peer: TestPeer } {
  const table = makeTable(have, ONE_BLOCK);
  const peer = makePeer('picker', ONE_BLOCK.pieceCount, 'all');
  table.addPeerPieces(peer.have);
  table.addPeerPieces(makePeer('x', ONE_BLOCK.pieceCount, without(rare)).have);
  table.addPeerPieces(makePeer('y', ONE_BLOCK.pieceCount, without([...rare, ...scarce])).have);
  return { table, picker: new RarestFirstPicker({ table, random: new Random(seed) }), peer };
}

const pieces = (blocks: readonly BlockRef[]): number[] => blocks.map((b) => b.piece);

test('the crafted availability is what the scenarios assume', (t) => {
  const { table } = crafted(1, [], [7], [9]);
  t.is(table.seeds, 1);
  t.is(table.availabilityOf(7), 1);
  t.is(table.availabilityOf(9), 2);
  t.is(table.availabilityOf(0), 3);
});

test(`random first: below ${RANDOM_FIRST_PIECES} pieces, new pieces are random, not rarest`, (t) => {
  const first = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const have = [20, 21, 22].slice(0, seed % RANDOM_FIRST_PIECES);
    const { picker, peer } = crafted(seed, have, [7]);
    const [block] = picker.pick(peer, 1);
    t.false(have.includes(block.piece));
    first.add(block.piece);
  }
  // With 40 seeds over ~21 pieces, a rarity-driven choice would always be piece 7.
  t.true(first.size >= 8, `only ${first.size} distinct first pieces`);
});

test(`from ${RANDOM_FIRST_PIECES} pieces on, the rarest piece comes first for every seed`, (t) => {
  for (let seed = 0; seed < 40; seed++) {
    const { picker, peer } = crafted(seed, [20, 21, 22, 23], [7], [9]);
    t.deepEqual(pieces(picker.pick(peer, 2)), [7, 9], `seed ${seed}`);
  }
});

test('rarest first: ties are broken at random, the same way for the same seed', (t) => {
  const orders = new Set<string>();
  for (let seed = 0; seed < 40; seed++) {
    const run = (): number[] => {
      const { picker, peer } = crafted(seed, [20, 21, 22, 23], [3, 12, 17], [9]);
      return pieces(picker.pick(peer, 4));
    };
    const order = run();
    t.deepEqual(order, run(), `seed ${seed} repeats`);
    t.deepEqual(
      [...order.slice(0, 3)].sort((a, b) => a - b),
      [3, 12, 17],
      'the three rarest first',
    );
    t.is(order[3], 9, 'then the next rarest');
    orders.add(order.slice(0, 3).join(','));
  }
  t.true(orders.size >= 3, `tie orders seen: ${[...orders].join(' | ')}`);
});

test('strict priority: blocks of started pieces go before any new piece, however rare', (t) => {
  const table = makeTable([20, 21, 22, 23, 24]);
  const picker = new RarestFirstPicker({ table, random: new Random(5) });
  const a = makePeer('a', 40, 'all');
  const b = makePeer('b', 40, 'all');
  table.addPeerPieces(a.have);
  table.addPeerPieces(b.have);
  // Two more peers hold everything but piece 2: it is the rarest piece (2 holders against 4).
  for (const id of ['x', 'y'])
    table.addPeerPieces(
      makePeer(
        id,
        40,
        [...Array(40).keys()].filter((i) => i !== 2),
      ).have,
    );
  t.is(table.availabilityOf(2), 2);
  t.is(table.availabilityOf(10), 4);
  // a starts piece 10 (3 blocks) but takes only one block of it.
  t.is(table.claim(10, 'a', 1, []), 1);
  t.deepEqual(
    picker.pick(b, 3).map((x) => [x.piece, x.begin]),
    [
      [10, BLOCK_LENGTH],
      [10, 2 * BLOCK_LENGTH],
      [2, 0],
    ],
  );
});

test('strict priority skips started pieces the peer does not have', (t) => {
  const table = makeTable([20, 21, 22, 23]);
  const picker = new RarestFirstPicker({ table, random: new Random(2) });
  const partial = makePeer(
    'partial',
    40,
    [...Array(40).keys()].filter((i) => i !== 10),
  );
  table.addPeerPieces(partial.have);
  t.is(table.claim(10, 'a', 1, []), 1);
  const picked = picker.pick(partial, 3);
  t.is(picked.length, 3);
  t.false(picked.some((x) => x.piece === 10));
  t.is(table.downloads.get(10)?.free, 2, 'piece 10 keeps its free blocks for a peer that has it');
});

test('a suggested piece is preferred among new pieces, but not over started ones', (t) => {
  const { picker, peer } = crafted(3, [20, 21, 22, 23], [7]);
  peer.suggested.add(15);
  t.deepEqual(pieces(picker.pick(peer, 2)), [15, 7]);

  // On a layout with several blocks per piece, a started piece still comes first.
  const multi = makeTable([30, 31, 32, 33]);
  const p2 = new RarestFirstPicker({ table: multi, random: new Random(3) });
  const peer2 = makePeer('p2', 40, 'all');
  multi.addPeerPieces(peer2.have);
  multi.claim(5, 'other', 1, []);
  peer2.suggested.add(15);
  t.deepEqual(
    p2.pick(peer2, 3).map((b) => b.piece),
    [5, 5, 15],
  );
});

test('a suggestion is ignored when we have the piece, it is started, or the peer lacks it', (t) => {
  const { table, picker, peer } = crafted(4, [20, 21, 22, 23], [7]);
  peer.suggested.add(20); // we have it
  const lacking = makePeer('lacking', ONE_BLOCK.pieceCount, without([15]));
  table.addPeerPieces(lacking.have);
  lacking.suggested.add(15); // it does not have it
  t.deepEqual(pieces(picker.pick(peer, 1)), [7]);
  t.not(pieces(picker.pick(lacking, 1))[0], 15);
});

test('end game: duplicates only once every block is claimed, never to the same peer twice', (t) => {
  const layout = { pieceCount: 2, pieceLength: 2 * BLOCK_LENGTH, length: 4 * BLOCK_LENGTH };
  const table = makeTable([], layout);
  const picker = new RarestFirstPicker({ table, random: new Random(6) });
  const [a, b, c] = ['a', 'b', 'c'].map((id) => makePeer(id, 2, 'all'));
  for (const p of [a, b, c]) table.addPeerPieces(p.have);
  const key = (x: BlockRef): string => `${x.piece}:${x.begin}`;

  const ofA = picker.pick(a, 3);
  t.is(ofA.length, 3);
  t.false(table.endgame);
  // One block is still free: c, restricted away from it, gets nothing rather than a duplicate.
  const freePiece = [0, 1].find((p) => ofA.filter((x) => x.piece === p).length < 2)!;
  t.deepEqual(picker.pick(c, 10, { onlyPieces: new Set([1 - freePiece]) }), []);

  // b takes the free block first, then duplicates of a's blocks (end game began with that claim).
  const ofB = picker.pick(b, 10);
  t.true(table.endgame);
  t.is(ofB[0].piece, freePiece);
  t.deepEqual(new Set(ofB.slice(1).map(key)), new Set(ofA.map(key)));
  t.deepEqual(picker.pick(b, 10), [], 'b has every block requested already');

  // c duplicates all four; then nothing more.
  t.is(new Set(picker.pick(c, 10).map(key)).size, 4);
  t.deepEqual(picker.pick(c, 10), []);
  t.deepEqual(picker.pick(a, 10).map(key), [key(ofB[0])], 'a duplicates only what it lacks');
});

test(`end game hands out at most ${ENDGAME_MAX_DUPLICATES} duplicates per pick`, (t) => {
  const layout = { pieceCount: 8, pieceLength: 4 * BLOCK_LENGTH, length: 32 * BLOCK_LENGTH };
  const table = makeTable([], layout);
  const picker = new RarestFirstPicker({ table, random: new Random(7) });
  const a = makePeer('a', 8, 'all');
  const b = makePeer('b', 8, 'all');
  table.addPeerPieces(a.have);
  table.addPeerPieces(b.have);
  t.is(picker.pick(a, 100).length, 32);
  t.true(table.endgame);
  const seen = new Set<string>();
  // Bounded: 32 blocks, 8 per pick.
  for (let round = 0; round < 4; round++) {
    const dup = picker.pick(b, 100);
    t.is(dup.length, ENDGAME_MAX_DUPLICATES);
    for (const x of dup) {
      t.false(seen.has(`${x.piece}:${x.begin}`));
      seen.add(`${x.piece}:${x.begin}`);
    }
  }
  t.deepEqual(picker.pick(b, 100), []);
});
