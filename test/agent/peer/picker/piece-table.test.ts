import test from 'ava';
import { Bitfield } from '../../../../agent/peer/bitfield.js';
import type { BlockRef } from '../../../../agent/peer/picker/piece-picker.js';
import {
  BLOCK_FREE,
  BLOCK_RECEIVED,
  BLOCK_REQUESTED,
  PieceTable,
} from '../../../../agent/peer/picker/piece-table.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';

/** 5 pieces of 3 blocks; the last piece is 1 block and 100 bytes (2 blocks). */
const LAYOUT = {
  pieceCount: 5,
  pieceLength: 3 * BLOCK_LENGTH,
  length: 4 * 3 * BLOCK_LENGTH + BLOCK_LENGTH + 100,
};
const TOTAL_BLOCKS = 4 * 3 + 2;

function bits(length: number, set: readonly number[]): Bitfield {
  const b = new Bitfield(length);
  for (const i of set) b.set(i);
  return b;
}

const availability = (table: PieceTable): number[] =>
  [...Array(table.pieceCount).keys()].map((i) => table.availabilityOf(i));

test('geometry: piece sizes and block counts, short last piece and block', (t) => {
  const table = new PieceTable(LAYOUT);
  t.is(table.pieceSize(0), 3 * BLOCK_LENGTH);
  t.is(table.pieceSize(4), BLOCK_LENGTH + 100);
  t.is(table.blockCount(0), 3);
  t.is(table.blockCount(4), 2);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS);
  const out: BlockRef[] = [];
  table.claim(4, 'p', 10, out);
  t.deepEqual(out, [
    { piece: 4, begin: 0, length: BLOCK_LENGTH },
    { piece: 4, begin: BLOCK_LENGTH, length: 100 },
  ]);
});

test('availability: partial bitfields are counted per piece, seeds once in `seeds`', (t) => {
  const table = new PieceTable(LAYOUT);
  const a = bits(5, [0, 1]);
  const b = bits(5, [1, 4]);
  const seed = Bitfield.full(5);
  table.addPeerPieces(a);
  table.addPeerPieces(b);
  table.addPeerPieces(seed);
  t.is(table.seeds, 1);
  t.deepEqual([...table.availability], [1, 2, 0, 0, 1], 'the seed is not in the per-piece counters');
  t.deepEqual(availability(table), [2, 3, 1, 1, 2]);
  table.removePeerPieces(seed);
  table.removePeerPieces(a);
  t.is(table.seeds, 0);
  t.deepEqual(availability(table), [0, 1, 0, 0, 1]);
  table.removePeerPieces(b);
  t.deepEqual(availability(table), [0, 0, 0, 0, 0]);
});

test('availability: a have that completes a peer makes it a seed, removePeerPiece turns it back', (t) => {
  const table = new PieceTable(LAYOUT);
  const peer = bits(5, [0, 1, 2]);
  table.addPeerPieces(peer);
  t.deepEqual(availability(table), [1, 1, 1, 0, 0]);

  peer.set(3);
  table.addPeerPiece(3, peer);
  t.deepEqual(availability(table), [1, 1, 1, 1, 0]);
  t.is(table.seeds, 0);

  peer.set(4);
  table.addPeerPiece(4, peer); // now a seed
  t.is(table.seeds, 1);
  t.deepEqual([...table.availability], [0, 0, 0, 0, 0]);
  t.deepEqual(availability(table), [1, 1, 1, 1, 1]);

  // It drops piece 2 (lt_donthave): called before the bit is cleared.
  table.removePeerPiece(2, peer);
  peer.clear(2);
  t.is(table.seeds, 0);
  t.deepEqual(availability(table), [1, 1, 0, 1, 1]);

  table.removePeerPiece(0, peer);
  peer.clear(0);
  t.deepEqual(availability(table), [0, 1, 0, 1, 1]);

  // Disconnect: everything it still had goes.
  table.removePeerPieces(peer);
  t.deepEqual(availability(table), [0, 0, 0, 0, 0]);
  t.is(table.seeds, 0);
});

test('resume: held pieces are neither needed nor unclaimed', (t) => {
  const table = new PieceTable({ ...LAYOUT, have: bits(5, [0, 4]) });
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 3 - 2);
  t.false(table.needs(0));
  t.true(table.needs(1));
  t.false(table.isUnstarted(4));
  t.deepEqual(table.claim(0, 'p', 5, []), 0);
  t.false(table.done);
});

test('claim / release: block states, requesters and the unclaimed count', (t) => {
  const table = new PieceTable(LAYOUT);
  const out: BlockRef[] = [];
  t.is(table.claim(1, 'a', 2, out), 2);
  t.deepEqual(
    out.map((b) => b.begin),
    [0, BLOCK_LENGTH],
  );
  const dl = table.downloads.get(1)!;
  t.deepEqual([...dl.state], [BLOCK_REQUESTED, BLOCK_REQUESTED, BLOCK_FREE]);
  t.is(dl.free, 1);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 2);
  t.false(table.isUnstarted(1));

  t.is(table.claim(1, 'b', 5, out), 1, 'only the free block is left');
  t.is(table.claim(1, 'c', 5, out), 0);
  t.deepEqual(dl.requester, ['a', 'a', 'b']);

  // Release by a peer that is not the requester changes nothing.
  table.release(1, 0, 'b');
  t.is(dl.state[0], BLOCK_REQUESTED);
  table.release(1, 0, 'a');
  t.is(dl.state[0], BLOCK_FREE);
  t.is(dl.requester[0], undefined);
  t.is(dl.free, 1);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 2);
  // Releasing twice is harmless.
  table.release(1, 0, 'a');
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 2);
  // And a release for a piece not in progress too.
  table.release(3, 0, 'a');
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 2);
});

test('markReceived: returns the other requesters to cancel; duplicates and unknown blocks are undefined', (t) => {
  const table = new PieceTable({ ...LAYOUT, pieceCount: 1, length: BLOCK_LENGTH * 2 });
  t.is(table.claim(0, 'a', 2, []), 2);
  t.true(table.endgame);
  t.is(table.claimDuplicate(0, 'b', 5, []), 2);
  t.is(table.claimDuplicate(0, 'c', 1, []), 1);
  t.is(table.claimDuplicate(0, 'b', 5, []), 0, 'never the same block twice to one peer');
  const dl = table.downloads.get(0)!;
  t.deepEqual(dl.requestersOf(0), ['a', 'b', 'c']);

  t.deepEqual(table.markReceived(0, 0, 'b'), ['a', 'c']);
  t.is(dl.state[0], BLOCK_RECEIVED);
  t.deepEqual(dl.requestersOf(0), []);
  t.is(table.markReceived(0, 0, 'a'), undefined, 'a block already received');
  t.is(table.markReceived(3, 0, 'a'), undefined, 'a piece not in progress');
  t.false(dl.complete);
  t.deepEqual(table.markReceived(0, BLOCK_LENGTH, 'a'), ['b']);
  t.true(dl.complete);
  t.deepEqual([...dl.contributors].sort(), ['a', 'b']);
  table.completePiece(0);
  t.true(table.have.has(0));
  t.true(table.done);
  t.false(table.endgame, 'no end game once done');
  t.is(table.downloads.size, 0);
});

test('release in end game hands the block to the next requester', (t) => {
  const table = new PieceTable({ ...LAYOUT, pieceCount: 1, length: BLOCK_LENGTH });
  table.claim(0, 'a', 1, []);
  table.claimDuplicate(0, 'b', 1, []);
  const dl = table.downloads.get(0)!;
  table.release(0, 0, 'a');
  t.is(dl.requester[0], 'b');
  t.is(dl.state[0], BLOCK_REQUESTED);
  t.is(table.unclaimedBlocks, 0);
  table.release(0, 0, 'b');
  t.is(dl.state[0], BLOCK_FREE);
  t.is(table.unclaimedBlocks, 1);
  t.false(table.endgame);
});

test('a block arriving after its request was released is still accepted once', (t) => {
  const table = new PieceTable(LAYOUT);
  table.claim(2, 'a', 1, []);
  table.release(2, 0, 'a');
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS);
  t.deepEqual(table.markReceived(2, 0, 'a'), []);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 1);
  t.is(table.downloads.get(2)!.free, 2);
});

test('sinkFor: only aligned, exact-size blocks of pieces in progress that are not yet received', (t) => {
  const table = new PieceTable(LAYOUT);
  table.claim(4, 'a', 2, []);
  const dl = table.downloads.get(4)!;
  t.is(table.sinkFor(4, 0, BLOCK_LENGTH), dl);
  t.is(table.sinkFor(4, BLOCK_LENGTH, 100), dl);
  t.is(table.sinkFor(4, BLOCK_LENGTH, BLOCK_LENGTH), undefined, 'the short last block must be short');
  t.is(table.sinkFor(4, 0, 100), undefined);
  t.is(table.sinkFor(4, 1, BLOCK_LENGTH), undefined, 'unaligned');
  t.is(table.sinkFor(4, 2 * BLOCK_LENGTH, 100), undefined, 'past the last block');
  t.is(table.sinkFor(0, 0, BLOCK_LENGTH), undefined, 'not in progress');
  table.markReceived(4, 0, 'a');
  t.is(table.sinkFor(4, 0, BLOCK_LENGTH), undefined, 'already received');
});

test('failPiece: every requested or received block is unclaimed again', (t) => {
  const table = new PieceTable(LAYOUT);
  table.claim(0, 'a', 3, []);
  table.markReceived(0, 0, 'a');
  table.markReceived(0, BLOCK_LENGTH, 'a');
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 3);
  table.failPiece(0);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS);
  t.true(table.isUnstarted(0));
  t.false(table.have.has(0));
  // A second fail of a piece no longer in progress changes nothing.
  table.failPiece(0);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS);
});

test('endgame: true exactly when every needed block is requested or received', (t) => {
  const table = new PieceTable(LAYOUT);
  for (let i = 0; i < 5; i++) table.claim(i, 'a', 10, []);
  t.true(table.endgame);
  table.release(2, 0, 'a');
  t.false(table.endgame);
  table.claim(2, 'b', 1, []);
  t.true(table.endgame);
});

test('setWanted and dropPiece keep the unclaimed count right', (t) => {
  const table = new PieceTable(LAYOUT);
  table.setWanted(1, false);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 3);
  t.false(table.needs(1));
  t.deepEqual(table.claim(1, 'a', 3, []), 0);
  table.setWanted(1, false);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 3, 'idempotent');
  table.setWanted(1, true);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS);

  table.claim(0, 'a', 3, []);
  for (let b = 0; b < 3; b++) table.markReceived(0, b * BLOCK_LENGTH, 'a');
  table.completePiece(0);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS - 3);
  table.dropPiece(0);
  t.false(table.have.has(0));
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS);
  table.dropPiece(0);
  t.is(table.unclaimedBlocks, TOTAL_BLOCKS, 'dropping a piece we lack changes nothing');
});
