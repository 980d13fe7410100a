import test, { type ExecutionContext } from 'ava';
import { Bitfield } from '../../../../agent/peer/bitfield.js';
import { hasCode } from '../../../../agent/peer/errors.js';
import type { PlayerEvents } from '../../../../agent/peer/playback/metrics.js';
import {
  DEFAULT_REBUFFER_MS,
  Player,
  type PlayerDeps,
  type PlayerInit,
} from '../../../../agent/peer/playback/player.js';
import type { PlaybackScheduler } from '../../../../agent/peer/playback/scheduler.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { FakeScheduler } from '../../../support/fake-scheduler.js';

// The playback model on scripted arrival sequences, driven by a fake clock: no real waiting.

/** CBR: 8000 bit/s and 1000-byte pieces make each piece last exactly PIECE_MS. */
const BITRATE_BPS = 8_000;
const PIECE_BYTES = 1_000;
const PIECE_MS = (PIECE_BYTES * 8_000) / BITRATE_BPS;
const PIECES = 10;
/** The last piece is half a piece: 500 bytes, 500 ms. */
const LENGTH = PIECES * PIECE_BYTES - PIECE_BYTES / 2;
const MEDIA_MS = (LENGTH * 8_000) / BITRATE_BPS;
const STARTUP_MS = 2 * PIECE_MS;
/** Early arrivals: piece i at EARLY_GAP_MS * (i + 1). */
const EARLY_GAP_MS = 100;

const CBR: PlayerInit = {
  pieceCount: PIECES,
  pieceLength: PIECE_BYTES,
  length: LENGTH,
  streaming: { bitrateBps: BITRATE_BPS, durationMs: MEDIA_MS },
  startupBufferMs: STARTUP_MS,
  joinAt: 0,
};

type Recorded = { [K in keyof PlayerEvents]: { name: K; event: PlayerEvents[K][0] } }[keyof PlayerEvents];

function record(player: Player): Recorded[] {
  const out: Recorded[] = [];
  player.on('started', (event) => out.push({ name: 'started', event }));
  player.on('stall', (event) => out.push({ name: 'stall', event }));
  player.on('resume', (event) => out.push({ name: 'resume', event }));
  player.on('done', (event) => out.push({ name: 'done', event }));
  return out;
}

interface Rig {
  readonly sched: FakeScheduler;
  readonly player: Player;
  readonly events: Recorded[];
}

function rig(t: ExecutionContext, init: Partial<PlayerInit> = {}, deps: PlayerDeps = {}): Rig {
  const sched = new FakeScheduler(0);
  const player = new Player({ ...CBR, ...init }, { scheduler: sched, ...deps });
  t.teardown(() => player.stop());
  return { sched, player, events: record(player) };
}

/** Delivers `arrivals` ([clock ms, piece]) in time order on the fake clock, then runs to `endMs`. */
function play({ sched, player }: Rig, arrivals: readonly (readonly [number, number])[], endMs: number): void {
  for (const [at, piece] of [...arrivals].sort((a, b) => a[0] - b[0])) {
    sched.advanceTo(at);
    player.onPiece(piece);
  }
  sched.advanceTo(endMs);
}

function earlyArrivals(except: readonly number[] = []): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < PIECES; i++) if (!except.includes(i)) out.push([EARLY_GAP_MS * (i + 1), i]);
  return out;
}

test('all pieces early: startup delay is the time to buffer, no stall, continuity 1', (t) => {
  const r = rig(t);
  const { sched, player, events } = r;
  player.start();
  t.false(player.started);
  t.is(player.state, 'waiting');
  // Before the start: now + start-up buffer for the first piece, then media time.
  t.is(player.deadline(0), STARTUP_MS);
  t.is(player.deadline(3), STARTUP_MS + 3 * PIECE_MS);
  sched.advanceTo(50);
  t.is(player.deadline(0), 50 + STARTUP_MS, 'deadlines slide with the clock before the start');

  // The buffer (2 pieces) is complete when piece 1 arrives.
  const startAt = 2 * EARLY_GAP_MS;
  sched.advanceTo(startAt - 1);
  player.onPiece(0);
  t.false(player.started);
  t.is(player.bufferedMs, PIECE_MS);
  sched.advanceTo(startAt);
  player.onPiece(1);
  t.true(player.started);
  t.is(player.state, 'playing');
  for (let i = 0; i < PIECES; i++) t.is(player.deadline(i), startAt + i * PIECE_MS);

  play(r, earlyArrivals([0, 1]), 60_000);
  const m = player.metrics();
  t.is(m.state, 'done');
  t.is(m.startupDelayMs, startAt);
  t.is(m.startedAtMs, startAt);
  t.is(m.stallCount, 0);
  t.is(m.stallMs, 0);
  t.is(m.deadlineMisses, 0);
  t.is(m.piecesPlayed, PIECES);
  t.is(m.continuityIndex, 1);
  t.is(m.playheadPiece, PIECES);
  t.is(m.positionMs, MEDIA_MS);
  t.is(m.bufferedMs, 0);
  t.is(m.lagMs, startAt, 'without stalls the lag is the startup delay');
  t.deepEqual(
    events.map((e) => e.name),
    ['started', 'done'],
  );
  t.deepEqual(events[0].event, { atMs: startAt, startupDelayMs: startAt });
  t.is(events[1].event.atMs, startAt + MEDIA_MS);
  t.is(sched.pending, 0, 'a finished player leaves no timer');
});

test('pieces are consumed at their playback times', (t) => {
  const r = rig(t);
  const { sched, player } = r;
  player.start();
  const startAt = 2 * EARLY_GAP_MS;
  play(r, earlyArrivals(), startAt + PIECE_MS - 1);
  t.is(player.playheadPiece, 1, 'piece 0 is consumed at the start');
  sched.advanceTo(startAt + PIECE_MS);
  t.is(player.playheadPiece, 2);
  sched.advanceTo(startAt + 3 * PIECE_MS - 1);
  t.is(player.playheadPiece, 3);
  t.is(player.positionMs, 3 * PIECE_MS - 1);
  t.is(player.bufferedMs, MEDIA_MS - (3 * PIECE_MS - 1));
  sched.advanceTo(startAt + 3 * PIECE_MS);
  t.is(player.playheadPiece, 4);
  t.true(player.deadline(2) < sched.now(), 'played pieces have deadlines in the past');
  sched.advanceTo(startAt + MEDIA_MS - 1);
  t.is(player.state, 'playing', 'the last piece still plays');
  t.is(player.playheadPiece, PIECES);
  sched.advanceTo(startAt + MEDIA_MS);
  t.is(player.state, 'done');
});

test('one late piece: one stall of the right length, a deadline miss, continuity below 1', (t) => {
  const r = rig(t, { rebufferMs: 0 });
  const { sched, player, events } = r;
  const startAt = 2 * EARLY_GAP_MS;
  const late = 5;
  const dueAt = startAt + late * PIECE_MS;
  const lateByMs = 1_500;
  player.start();
  play(r, earlyArrivals([late]), dueAt + 800);

  t.is(player.state, 'stalled');
  t.is(player.playheadPiece, late);
  t.is(player.positionMs, late * PIECE_MS);
  t.is(player.bufferedMs, 0);
  t.is(player.deadline(late), sched.now(), 'while stalled the missing piece is due now');
  t.is(player.deadline(late + 2), sched.now() + 2 * PIECE_MS);
  const during = player.metrics();
  t.is(during.stallCount, 1);
  t.is(during.stallMs, 800, 'an ongoing stall counts up to now');
  t.is(during.lagMs, sched.now() - late * PIECE_MS);

  sched.advanceTo(dueAt + lateByMs);
  player.onPiece(late);
  t.is(player.state, 'playing');
  t.is(player.playheadPiece, late + 1, 'the late piece plays as soon as it arrives');
  t.is(player.deadline(late + 2), startAt + (late + 2) * PIECE_MS + lateByMs, 'deadlines shift by the stall');

  sched.advanceTo(60_000);
  const m = player.metrics();
  t.is(m.state, 'done');
  t.is(m.stallCount, 1);
  t.is(m.stallMs, lateByMs);
  t.is(m.longestStallMs, lateByMs);
  t.is(m.deadlineMisses, 1);
  t.is(m.piecesPlayed, PIECES);
  t.is(m.piecesOnTime, PIECES - 1);
  t.is(m.continuityIndex, (PIECES - 1) / PIECES);
  t.is(m.lagMs, startAt + lateByMs);
  t.deepEqual(
    events.map((e) => e.name),
    ['started', 'stall', 'resume', 'done'],
  );
  t.deepEqual(events[1].event, { atMs: dueAt, piece: late });
  t.deepEqual(events[2].event, { atMs: dueAt + lateByMs, piece: late, stallMs: lateByMs });
  t.deepEqual(events[3].event, { atMs: startAt + MEDIA_MS + lateByMs, lagMs: startAt + lateByMs });
});

test('a piece arriving exactly at its playback time is on time', (t) => {
  // The player's timer is never given the chance to fire first: the arrival decides.
  const sched = new FakeScheduler(0);
  const never: PlaybackScheduler = { now: () => sched.now(), setTimeout: () => 0, clearTimeout: () => {} };
  const player = new Player({ ...CBR, rebufferMs: 0 }, { scheduler: never });
  player.start();
  const startAt = 2 * EARLY_GAP_MS;
  for (const [at, piece] of earlyArrivals([4])) {
    sched.advanceTo(at);
    player.onPiece(piece);
  }
  sched.advanceTo(startAt + 4 * PIECE_MS);
  player.onPiece(4);
  const m = player.metrics();
  t.is(m.stallCount, 0);
  t.is(m.deadlineMisses, 0);
  t.is(m.piecesOnTime, 5);
});

test('events are processed at their due times even when the timer fires late', (t) => {
  // A scheduler whose timers never fire: only arrivals wake the player, long after events were due.
  const sched = new FakeScheduler(0);
  const never: PlaybackScheduler = { now: () => sched.now(), setTimeout: () => 0, clearTimeout: () => {} };
  const player = new Player({ ...CBR, rebufferMs: 0 }, { scheduler: never });
  const events = record(player);
  player.start();
  const startAt = 2 * EARLY_GAP_MS;
  for (const [at, piece] of earlyArrivals([5])) {
    sched.advanceTo(at);
    player.onPiece(piece);
  }
  const dueAt = startAt + 5 * PIECE_MS;
  sched.advanceTo(dueAt + 1_234);
  player.onPiece(5);
  t.deepEqual(events[1], { name: 'stall', event: { atMs: dueAt, piece: 5 } });
  t.deepEqual(events[2], { name: 'resume', event: { atMs: dueAt + 1_234, piece: 5, stallMs: 1_234 } });
  t.is(player.metrics().piecesPlayed, 6);
});

test('VBR: start-up buffer, playback times and stalls follow the per-piece timestamps', (t) => {
  // Six pieces; pieces 0-1 and 3-4 share a timestamp. Under CBR (833 ms a piece at this bitrate)
  // two pieces would fill the 1 s start-up buffer; here three are needed.
  const stamps = [0, 0, 400, 1_500, 1_500, 4_000];
  const durationMs = 5_000;
  const sched = new FakeScheduler(0);
  const player = new Player(
    {
      pieceCount: stamps.length,
      pieceLength: PIECE_BYTES,
      length: stamps.length * PIECE_BYTES,
      streaming: { bitrateBps: 9_600, durationMs, pieceTimestampsMs: stamps },
      startupBufferMs: 1_000,
      rebufferMs: 0,
      joinAt: 0,
    },
    { scheduler: sched },
  );
  t.teardown(() => player.stop());
  const events = record(player);
  player.start();
  const arrive = (at: number, piece: number): void => {
    sched.advanceTo(at);
    player.onPiece(piece);
  };
  arrive(100, 0);
  arrive(200, 1);
  t.false(player.started, '0 ms of media held: pieces 0 and 1 are both needed at 0');
  arrive(250, 5);
  arrive(300, 2);
  t.true(player.started);
  const startAt = 300;
  for (let i = 0; i < stamps.length; i++) t.is(player.deadline(i), startAt + stamps[i]);
  sched.advanceTo(startAt + stamps[2] - 1);
  t.is(player.playheadPiece, 2);
  sched.advanceTo(startAt + stamps[2]);
  t.is(player.playheadPiece, 3);
  t.is(player.bufferedMs, stamps[3] - stamps[2], 'piece 2 plays until piece 3 is needed');

  // Pieces 3 and 4 are both due at 1500: one stall, two deadline misses.
  sched.advanceTo(startAt + stamps[3]);
  t.is(player.state, 'stalled');
  arrive(startAt + stamps[3] + 200, 3);
  t.is(player.state, 'stalled', 'piece 4 is due at the same instant: no media can play yet');
  arrive(startAt + stamps[3] + 300, 4);
  t.is(player.state, 'playing');
  t.is(player.playheadPiece, 5);
  t.is(player.deadline(5), startAt + 300 + stamps[5]);

  sched.advanceTo(60_000);
  const m = player.metrics();
  t.is(m.state, 'done');
  t.is(m.startupDelayMs, startAt);
  t.is(m.stallCount, 1);
  t.is(m.stallMs, 300);
  t.is(m.deadlineMisses, 2);
  t.is(m.piecesOnTime, 4);
  t.is(m.continuityIndex, 4 / 6);
  t.is(events.at(-1)?.event.atMs, startAt + 300 + durationMs);
});

test('joining after some pieces are held: playback starts at the join, delay 0', (t) => {
  const joinAt = 5_000;
  const held = new Bitfield(PIECES);
  for (let i = 0; i < 3; i++) held.set(i);
  const r = rig(t, { joinAt }, { held });
  const { sched, player } = r;
  player.start();
  t.is(player.deadline(0), joinAt + STARTUP_MS, 'before the join deadlines count from the join');
  t.is(sched.pending, 1, 'a timer for the join');
  sched.advanceTo(joinAt - 1);
  t.false(player.started, 'no playback before the viewer joins');
  t.is(player.metrics().lagMs, 0);
  t.is(player.deadline(1), joinAt + STARTUP_MS + PIECE_MS);
  sched.advanceTo(joinAt);
  t.true(player.started);
  t.is(player.metrics().startupDelayMs, 0);
  t.is(player.playheadPiece, 1);
  play(
    r,
    [...earlyArrivals([0, 1, 2])].map(([at, i]) => [joinAt + at, i] as const),
    60_000,
  );
  const m = player.metrics();
  t.is(m.state, 'done');
  t.is(m.stallCount, 0);
  t.is(m.lagMs, 0);
});

test('joining with part of the buffer: playback starts when the rest arrives', (t) => {
  const joinAt = 1_000;
  const r = rig(t, { joinAt });
  const { sched, player } = r;
  player.onPiece(0); // before start(): recorded only
  player.start();
  sched.advanceTo(500);
  player.onPiece(1);
  t.false(player.started, 'the buffer is full before the join: still waiting for the viewer');
  sched.advanceTo(joinAt);
  t.true(player.started);
  t.is(player.metrics().startupDelayMs, 0);

  const r2 = rig(t, { joinAt });
  r2.player.onPiece(0);
  r2.player.start();
  r2.sched.advanceTo(joinAt + 400);
  t.false(r2.player.started);
  r2.player.onPiece(1);
  t.true(r2.player.started);
  t.is(r2.player.metrics().startupDelayMs, 400);
});

test('the re-buffer rule: a stalled player waits for rebufferMs of media before resuming', (t) => {
  // Piece 5 is due at 5200 and arrives at 6700; piece 6 arrives at 7900.
  const startAt = 2 * EARLY_GAP_MS;
  const arrivals = [...earlyArrivals([5, 6]), [6_700, 5] as [number, number], [7_900, 6] as [number, number]];

  const eager = rig(t, { rebufferMs: 0 });
  eager.player.start();
  play(eager, arrivals, 60_000);
  const e = eager.player.metrics();
  // Resumes at 6700, then piece 6 (due 7700) stalls again until 7900.
  t.is(e.stallCount, 2);
  t.is(e.stallMs, 1_500 + 200);
  t.is(e.deadlineMisses, 2);
  t.deepEqual(
    eager.events.filter((x) => x.name === 'resume').map((x) => x.event.atMs),
    [6_700, 7_900],
  );

  const patient = rig(t, { rebufferMs: 2 * PIECE_MS });
  patient.player.start();
  play(
    patient,
    arrivals.filter(([at]) => at < 7_000),
    7_000,
  );
  t.is(patient.player.state, 'stalled', 'piece 5 alone is 1 s of media: not enough');
  play(
    patient,
    arrivals.filter(([at]) => at >= 7_000),
    60_000,
  );
  const p = patient.player.metrics();
  t.is(p.stallCount, 1);
  t.is(p.stallMs, 7_900 - (startAt + 5 * PIECE_MS));
  t.is(p.deadlineMisses, 1);
  t.is(p.state, 'done');
  t.is(patient.events.at(-1)?.event.atMs, startAt + MEDIA_MS + p.stallMs);

  const byDefault = rig(t);
  t.is(byDefault.player.rebufferMs, DEFAULT_REBUFFER_MS);
});

test('the re-buffer rule never waits for media past the end of the stream', (t) => {
  const last = PIECES - 1;
  const r = rig(t, { rebufferMs: 10 * MEDIA_MS });
  r.player.start();
  const startAt = 2 * EARLY_GAP_MS;
  const dueAt = startAt + last * PIECE_MS;
  play(r, earlyArrivals([last]), dueAt + 300);
  t.is(r.player.state, 'stalled');
  r.player.onPiece(last);
  t.is(r.player.state, 'playing');
  r.sched.advanceTo(60_000);
  t.is(r.player.metrics().stallMs, 300);
  t.is(r.player.state, 'done');
});

test('a start-up buffer longer than the stream starts once everything is held', (t) => {
  const r = rig(t, { startupBufferMs: 10 * MEDIA_MS });
  r.player.start();
  play(r, earlyArrivals([PIECES - 1]), PIECES * EARLY_GAP_MS - 1);
  t.false(r.player.started);
  t.is(r.player.bufferedMs, MEDIA_MS - (LENGTH - (PIECES - 1) * PIECE_BYTES) * (PIECE_MS / PIECE_BYTES));
  r.sched.advanceTo(PIECES * EARLY_GAP_MS);
  r.player.onPiece(PIECES - 1);
  t.true(r.player.started);
  t.is(r.player.metrics().startupDelayMs, PIECES * EARLY_GAP_MS);
});

test('stop() clears the timer and freezes the metrics', (t) => {
  const r = rig(t, { rebufferMs: 0 });
  const { sched, player } = r;
  player.start();
  t.is(sched.pending, 0, 'joined at once: waiting for pieces, not for a timer');
  const startAt = 2 * EARLY_GAP_MS;
  play(r, earlyArrivals([5]), startAt + 5 * PIECE_MS - 1);
  t.is(sched.pending, 1, 'playing: a timer for the next piece');
  t.is(player.pendingTimers, 1);
  sched.advanceTo(startAt + 5 * PIECE_MS + 400);
  t.is(player.state, 'stalled');
  t.is(sched.pending, 0, 'a stalled player waits for a piece, not a timer');
  player.onPiece(5);
  t.is(sched.pending, 1);
  sched.advanceTo(startAt + 6 * PIECE_MS + 400 + 50);
  player.stop();
  t.is(sched.pending, 0);
  t.is(player.pendingTimers, 0);
  const frozen = player.metrics();
  sched.advanceTo(60_000);
  player.onPiece(5);
  player.start();
  t.is(sched.pending, 0, 'a stopped player never arms a timer again');
  t.deepEqual(player.metrics(), frozen);
  t.is(frozen.state, 'playing');
  t.is(frozen.playheadPiece, 7);
  t.is(frozen.stallMs, 400);

  // Stopped while stalled: the stall stops counting at stop().
  const s = rig(t, { rebufferMs: 0 });
  s.player.start();
  play(s, earlyArrivals([3]), startAt + 3 * PIECE_MS + 700);
  s.player.stop();
  s.sched.advanceTo(60_000);
  t.is(s.player.metrics().stallMs, 700);
  t.is(s.sched.pending, 0);
});

test('the buffer series stays bounded and spans the run', (t) => {
  const r = rig(t, { bufferSeriesPoints: 8, rebufferMs: 0 });
  r.player.start();
  play(r, earlyArrivals(), 60_000);
  const series = r.player.metrics().bufferSeries;
  t.true(series.length <= 8, `${series.length} points`);
  t.true(series.length >= 4);
  t.is(series[0].atMs, 0, 'the join');
  t.is(series.at(-1)?.atMs, 2 * EARLY_GAP_MS + MEDIA_MS, 'the end of playback');
  t.is(series.at(-1)?.bufferedMs, 0);
  for (let i = 1; i < series.length; i++) t.true(series[i].atMs > series[i - 1].atMs);
  t.true(
    series.some((p) => p.bufferedMs > STARTUP_MS),
    'the buffer grew past the start-up level',
  );
  t.notThrows(() => JSON.parse(JSON.stringify(r.player.metrics())));
});

test('metrics before anything happened', (t) => {
  const sched = new FakeScheduler(0);
  const player = new Player({ ...CBR, joinAt: undefined }, { scheduler: sched });
  const m = player.metrics();
  t.is(m.state, 'waiting');
  t.is(m.joinAtMs, null);
  t.is(m.startupDelayMs, null);
  t.is(m.continuityIndex, null);
  t.deepEqual(m.bytesBySource, { peer: 0, seed: 0, 'media-server': 0 });
  sched.advanceTo(70);
  player.start();
  t.is(player.joinAt, 70, 'joins when started by default');
  player.stop();
  t.deepEqual(player.metrics({ peer: 1, seed: 2, 'media-server': 3 }).bytesBySource, {
    peer: 1,
    seed: 2,
    'media-server': 3,
  });
});

test('bad configuration and bad piece indices are typed errors', (t) => {
  const bad = (init: Partial<PlayerInit>, deps?: PlayerDeps): void => {
    const err = t.throws(() => new Player({ ...CBR, ...init }, deps));
    t.true(hasCode(err, 'ERR_PLAYBACK_BAD_INIT'), `${JSON.stringify(init)}: ${err?.message}`);
  };
  bad({ pieceCount: 0 });
  bad({ pieceLength: -1 });
  bad({ length: LENGTH + PIECE_BYTES });
  bad({ startupBufferMs: -1 });
  bad({ startupBufferMs: Number.NaN });
  bad({ rebufferMs: Number.POSITIVE_INFINITY });
  bad({ joinAt: Number.NaN });
  bad({ bufferSeriesPoints: 2 });
  bad({ streaming: { bitrateBps: 0, durationMs: MEDIA_MS } });
  bad({ streaming: { bitrateBps: BITRATE_BPS, durationMs: MEDIA_MS, pieceTimestampsMs: [0, 1] } });
  bad({
    streaming: {
      bitrateBps: BITRATE_BPS,
      durationMs: MEDIA_MS,
      pieceTimestampsMs: [0, 1000, 900, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    },
  });
  bad({}, { held: new Bitfield(PIECES + 1) });

  const player = new Player(CBR, { scheduler: new FakeScheduler() });
  for (const index of [-1, PIECES, 1.5, Number.NaN]) {
    const err = t.throws(() => player.onPiece(index));
    t.true(hasCode(err, 'ERR_PLAYBACK_BAD_PIECE'), String(index));
  }

  const { meta } = makeMeta({ pieceLength: PIECE_BYTES, files: [{ path: ['x'], length: LENGTH }], seed: 1 });
  t.true(
    hasCode(
      t.throws(() => Player.fromMeta(meta, { startupBufferMs: 0 })),
      'ERR_PLAYBACK_BAD_INIT',
    ),
  );
});

test('fromMeta takes the layout and the stream from the metainfo', (t) => {
  const streaming = { bitrateBps: BITRATE_BPS, durationMs: MEDIA_MS };
  const { meta } = makeMeta({
    pieceLength: PIECE_BYTES,
    files: [{ path: ['x'], length: LENGTH }],
    seed: 1,
    streaming,
  });
  const player = Player.fromMeta(
    meta,
    { startupBufferMs: STARTUP_MS, joinAt: 0 },
    { scheduler: new FakeScheduler() },
  );
  t.is(player.pieceCount, PIECES);
  t.is(player.timeline.endMs, MEDIA_MS);
  t.is(player.timeline.startMs(3), 3 * PIECE_MS);
});
