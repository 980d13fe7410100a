import test from 'ava';
import { attachPlayer } from '../../../../agent/peer/playback/attach.js';
import type { StallEvent } from '../../../../agent/peer/playback/metrics.js';
import { Player } from '../../../../agent/peer/playback/player.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { FakeScheduler } from '../../../support/fake-scheduler.js';
import { startNode, WAIT_MS, waitForEvent } from '../../../support/peer-node.js';

/** 64 pieces of one block (1 MiB) played in PLAY_MS: short enough for a test, long enough to stream. */
const PIECE_LENGTH = BLOCK_LENGTH;
const PIECE_COUNT = 64;
const LENGTH = PIECE_COUNT * PIECE_LENGTH;
const PLAY_MS = 1_600;
const BITRATE_BPS = (LENGTH * 8_000) / PLAY_MS;
const PIECE_MS = PLAY_MS / PIECE_COUNT;
const STARTUP_MS = 300;

const { meta, content } = makeMeta({
  pieceLength: PIECE_LENGTH,
  files: [{ path: ['stream.bin'], length: LENGTH }],
  seed: 'playback',
  streaming: { bitrateBps: BITRATE_BPS, durationMs: PLAY_MS },
});

test('attachPlayer feeds the pieces the torrent held before, then its piece events, until detached', async (t) => {
  const held = [0, 1, 2, 40];
  const node = await startNode(t, { name: 'resumer', meta, content, pieces: held });
  const sched = new FakeScheduler(0);
  const player = Player.fromMeta(meta, { startupBufferMs: 10 * PIECE_MS, joinAt: 0 }, { scheduler: sched });
  t.teardown(() => player.stop());
  const attachment = attachPlayer(node.torrent, player);
  t.is(player.bufferedMs, 3 * PIECE_MS, 'pieces 0-2 held contiguously');
  node.torrent.emit('piece', 3);
  t.is(player.bufferedMs, 4 * PIECE_MS);
  attachment.detach();
  node.torrent.emit('piece', 4);
  t.is(player.bufferedMs, 4 * PIECE_MS, 'no longer fed');
  const m = attachment.metrics();
  t.deepEqual(m.bytesBySource, node.torrent.bytesBySource);
});

test('a seed and a leecher on loopback: the leecher plays the whole stream', async (t) => {
  const player = Player.fromMeta(meta, { startupBufferMs: STARTUP_MS, rebufferMs: 0 });
  t.teardown(() => player.stop());
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const leecher = await startNode(t, { name: 'viewer', meta, content, deps: { playback: player } });
  const attachment = attachPlayer(leecher.torrent, player);
  t.teardown(() => attachment.detach());
  const stalls: StallEvent[] = [];
  player.on('stall', (e) => stalls.push(e));

  let bufferedAtStart = Number.NaN;
  player.on('started', () => (bufferedAtStart = player.bufferedMs));

  const done = waitForEvent(player, 'done', () => true, WAIT_MS + PLAY_MS);
  player.start();
  t.false(player.started, 'nothing is held yet');
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await done;
  t.true(bufferedAtStart >= STARTUP_MS, `started with ${bufferedAtStart} ms buffered`);

  const m = attachment.metrics();
  t.is(m.state, 'done');
  t.is(m.piecesPlayed, PIECE_COUNT);
  t.is(m.playheadPiece, PIECE_COUNT);
  t.is(m.stallCount, stalls.length);
  t.is(m.deadlineMisses + m.piecesOnTime, PIECE_COUNT);
  const delay = m.startupDelayMs ?? Number.NaN;
  t.true(delay > 0, `startup delay ${delay} ms: the buffer had to be downloaded`);
  t.true(delay < WAIT_MS, `startup delay ${delay} ms`);
  // Playback took the media's length plus the stalls, measured on the wall clock.
  t.is(m.lagMs, delay + m.stallMs);
  t.true((m.startedAtMs ?? 0) + PLAY_MS + m.stallMs <= Date.now());
  t.true(m.bytesBySource.seed >= LENGTH, 'every byte came from the seed');
  t.log(`startup delay ${delay} ms, ${m.stallCount} stalls (${m.stallMs} ms)`);
  t.is(m.bytesBySource.peer + m.bytesBySource['media-server'], 0);
});
