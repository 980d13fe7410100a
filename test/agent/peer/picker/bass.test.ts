import test from 'ava';
import { BassPicker } from '../../../../agent/peer/picker/bass.js';
import { createPicker, type PickerContext } from '../../../../agent/peer/picker/index.js';
import type { BlockRef } from '../../../../agent/peer/picker/piece-picker.js';
import type { PieceTable } from '../../../../agent/peer/picker/piece-table.js';
import { StrategyOptionError } from '../../../../agent/peer/picker/strategy-options.js';
import type { PlaybackView } from '../../../../agent/peer/playback/playback-view.js';
import { Random } from '../../../../agent/peer/random.js';
import { BassWindow } from '../../../../agent/peer/webseed/bass-window.js';
import { FakePlayback } from '../../../support/fake-playback.js';
import { LAYOUT, makePeer, makeTable } from './compliance.js';

const N = LAYOUT.pieceCount;
const PIECE_MS = 1_000;
const NOW = 1_000_000;

function player(playheadPiece: number): FakePlayback {
  return new FakePlayback({ pieceDurationMs: PIECE_MS, playheadPiece, started: true, now: () => NOW });
}

function bass(table: PieceTable, extra: Partial<PickerContext> = {}, seed = 1): BassPicker {
  const picker = createPicker('bass', { table, random: new Random(seed), ...extra });
  if (!(picker instanceof BassPicker)) throw new TypeError('bass is not a BassPicker');
  return picker;
}

const pieces = (blocks: readonly BlockRef[]): number[] =>
  [...new Set(blocks.map((b) => b.piece))].sort((a, b) => a - b);
const range = (from: number, to: number): number[] => [...Array(to - from).keys()].map((i) => from + i);

test('peers are never asked for the window: playhead up to windowMs of media ahead', (t) => {
  const table = makeTable();
  const seed = makePeer('seed', N, 'all');
  table.addPeerPieces(seed.have);
  const picker = bass(table, { playback: player(5), options: { windowMs: 4 * PIECE_MS } });
  t.deepEqual(picker.span(), { start: 5, end: 9 });
  const picked = picker.pick(seed, 10_000);
  t.deepEqual(pieces(picked), [...range(0, 5), ...range(9, N)]);
  // The window is unclaimed, so no end game: nothing more for peers.
  t.false(table.endgame);
  t.deepEqual(picker.pick(seed, 10_000), []);
});

test('rarest first beyond the window, even when a window piece is rarer', (t) => {
  const table = makeTable(range(0, 4)); // past random-first
  const everyone = makePeer('a', N, 'all');
  const common = makePeer(
    'b',
    N,
    [...range(0, N)].filter((i) => i !== 6 && i !== 30),
  );
  for (const p of [everyone, common]) table.addPeerPieces(p.have);
  const picker = bass(table, { playback: player(4), options: { windowMs: 5 * PIECE_MS } });
  t.deepEqual(picker.span(), { start: 4, end: 9 });
  // Piece 6 (in the window) and 30 both have one holder: only 30 is the peers'.
  const picked = picker.pick(everyone, 3);
  t.deepEqual(pieces(picked), [30]);
});

test('the window follows the playhead; pieces behind it are fetched like the suffix', (t) => {
  const table = makeTable();
  const seed = makePeer('seed', N, 'all');
  table.addPeerPieces(seed.have);
  const playback = player(0);
  const picker = bass(table, { playback, options: { windowPieces: 3 } });
  t.deepEqual(picker.span(), { start: 0, end: 3 });
  playback.playheadPiece = 20;
  t.deepEqual(picker.span(), { start: 20, end: 23 });
  const picked = pieces(picker.pick(seed, 10_000));
  t.deepEqual(picked, [...range(0, 20), ...range(23, N)]);
  playback.playheadPiece = N;
  t.deepEqual(picker.span(), { start: N, end: N }, 'everything played: no window');
  t.deepEqual(pieces(picker.pick(seed, 10_000)), [20, 21, 22]);
});

test('windowMs is measured with the player deadlines, so VBR pieces count by their duration', (t) => {
  const table = makeTable();
  // Pieces 10-12 are short (100 ms each), piece 13 long: a 1 s window from 10 is pieces 10..13.
  const due = [...Array(N).keys()].map((i) => (i <= 13 ? i * 100 : 1_300 + (i - 13) * 2_000));
  const playback: PlaybackView = {
    started: true,
    playheadPiece: 10,
    bufferedMs: 0,
    deadline: (i) => NOW + due[i] - due[10],
  };
  const picker = bass(table, { playback, options: { windowMs: 400 } });
  t.deepEqual(picker.span(), { start: 10, end: 14 });
  const wide = bass(table, { playback, options: { windowMs: 2_500 } });
  t.deepEqual(wide.span(), { start: 10, end: 15 });
});

test('while the server is unavailable, peers take the window first, in playback order', (t) => {
  const table = makeTable();
  const seed = makePeer('seed', N, 'all');
  table.addPeerPieces(seed.have);
  const picker = bass(table, { playback: player(10), options: { windowPieces: 4 } });
  picker.window.serverAvailable = false;
  t.deepEqual(
    picker.pick(seed, 7).map((b) => b.piece),
    [10, 10, 10, 11, 11, 11, 12],
  );
  picker.window.serverAvailable = true;
  const rest = picker.pick(seed, 10_000).map((b) => b.piece);
  t.false(rest.includes(13), 'the server is back: the untouched window piece is its own again');
  t.true(rest.includes(12), 'peers finish a window piece they started (the web seed skips it)');
});

test('pieces the server gave up on are ordinary pieces', (t) => {
  const table = makeTable();
  const seed = makePeer('seed', N, 'all');
  table.addPeerPieces(seed.have);
  const picker = bass(table, { playback: player(0), options: { windowPieces: 5 } });
  picker.window.abandon(2);
  t.deepEqual(pieces(picker.pick(seed, 10_000)), [2, ...range(5, N)]);
});

test('end game never duplicates what the server is fetching', (t) => {
  const table = makeTable();
  const a = makePeer('a', N, 'all');
  const b = makePeer('b', N, 'all');
  table.addPeerPieces(a.have);
  table.addPeerPieces(b.have);
  const picker = bass(table, { playback: player(0), options: { windowPieces: 4 } });
  // The media server claimed its window; peer a everything else.
  for (const i of range(0, 4)) table.claim(i, 'webseed', 100, []);
  t.true(picker.pick(a, 10_000).length > 0);
  t.true(table.endgame);
  const dup = picker.pick(b, 10_000);
  t.true(dup.length > 0);
  t.true(dup.every((blk) => blk.piece >= 4));
});

test('without a player: windowPieces from piece 0 are picked last; windowMs alone is plain rarest-first', (t) => {
  const table = makeTable();
  const seed = makePeer('seed', N, 'all');
  table.addPeerPieces(seed.have);
  const picker = bass(table, { options: { windowPieces: 6 } });
  const order: number[] = [];
  // Bounded: each pick claims three blocks while any is free.
  for (let k = 0; k < 2 * N && !table.endgame; k++) {
    for (const b of picker.pick(seed, 3)) if (!order.includes(b.piece)) order.push(b.piece);
  }
  t.is(order.length, N);
  t.deepEqual(
    [...order.slice(-6)].sort((x, y) => x - y),
    range(0, 6),
  );

  const logOf = (strategy: string): string[] => {
    const tbl = makeTable([1, 2]);
    const p = makePeer('p', N, 'all');
    tbl.addPeerPieces(p.have);
    const picker2 = createPicker(strategy, {
      table: tbl,
      random: new Random(9),
      options: strategy === 'bass' ? { windowMs: 5_000 } : undefined,
    });
    const log: string[] = [];
    for (let k = 0; k < 20; k++)
      log.push(
        picker2
          .pick(p, 4)
          .map((x) => `${x.piece}:${x.begin}`)
          .join(' '),
      );
    return log;
  };
  t.deepEqual(logOf('bass'), logOf('rarest-first'));
});

test('options: durations, a shared window, and typed errors for bad or unknown ones', (t) => {
  const table = makeTable();
  t.is(bass(table, { options: { windowMs: '4s' } }).window.windowMs, 4_000);
  t.is(bass(table).window.windowMs, 10_000);
  const shared = new BassWindow({ windowPieces: 3 });
  t.is(bass(table, { options: { window: shared } }).window, shared);
  for (const options of [
    { windowMs: -1 },
    { windowMs: 0 },
    { windowMs: 'soon' },
    { windowPieces: 0 },
    { windowPieces: 2.5 },
    { windowSize: 3 },
    { window: { windowMs: 5 } },
    { window: shared, windowMs: 5 },
  ]) {
    const err = t.throws(
      () => bass(table, { options }),
      { instanceOf: StrategyOptionError },
      JSON.stringify(options),
    );
    t.is(err?.code, 'ERR_STRATEGY_OPTION');
  }
});
