import { connect } from 'node:net';
import test from 'ava';
import { planSwarm, type SwarmInit } from '../../../agent/swarm/plan.js';
import { runSwarm, Swarm } from '../../../agent/swarm/swarm.js';
import { TrackerServer } from '../../../agent/tracker/tracker-server.js';

const MiB = 1_048_576;
const BITRATE_BPS = 2_000_000;
const BYTES_PER_SECOND = BITRATE_BPS / 8;

/** A seed uploading at 3x the bitrate, four leechers at 1.5x joining within a second. */
const SMALL: SwarmInit = {
  seed: 'small-swarm',
  content: { sizeBytes: 2 * MiB, bitrateBps: BITRATE_BPS, pieceLengthBytes: 64 * 1024 },
  seeder: { link: { uploadBytesPerSecond: 3 * BYTES_PER_SECOND, delayMs: 5 } },
  leechers: {
    count: 4,
    arrivals: { kind: 'uniform', windowMs: 1_000 },
    strategy: [{ name: 'rarest-first' }, { name: 'sequential' }],
    link: { uploadBytesPerSecond: 1.5 * BYTES_PER_SECOND, downloadBytesPerSecond: 4 * MiB, delayMs: 10 },
    startupBufferMs: 1_000,
  },
  timeoutMs: 25_000,
};

/** Resolves true when nothing listens on `port` any more. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test('a seed and four shaped leechers play to the end; the results carry the plan and the metrics', async (t) => {
  const result = await runSwarm(SMALL, AbortSignal.timeout(30_000));
  t.false(result.timedOut);
  t.is(result.totals.finishedPlaying, 4);
  // The stream lasts 2 MiB / 2 Mbit/s = 8.4 s: nobody can finish playing sooner.
  t.true(result.durationMs > 8_400, `${result.durationMs} ms`);
  t.deepEqual(result.plan, planSwarm(SMALL), 'arrivals and strategy choices come from the seed alone');
  t.deepEqual(new Set(result.plan.leechers.map((l) => l.strategy)), new Set(['rarest-first', 'sequential']));
  const [seeder, ...leechers] = result.peers;
  t.is(seeder.role, 'seeder');
  t.is(leechers.length, 4);
  t.is(result.totals.completed, 4);
  t.is(result.totals.deliveredBytes, 4 * SMALL.content.sizeBytes);
  for (const [i, l] of leechers.entries()) {
    t.is(l.name, `leecher-${i}`);
    t.is(l.strategy, result.plan.leechers[i].strategy);
    t.true(l.completed && l.completionMs !== undefined && l.completionMs > 0);
    t.true((l.joinedAtMs ?? -1) >= l.arrivalMs, `${l.name} joined before its arrival`);
    t.is(l.bytesBySource.peer + l.bytesBySource.seed + l.bytesBySource['media-server'], l.downloadedBytes);
    // Requests go as BEP 3 requests or, for whole pieces, as ss_range range requests.
    const asked = (l.messages.out.request?.count ?? 0) + (l.messages.out['ext:ss_range']?.count ?? 0);
    t.true(asked > 0 && l.haveRequestBytes > 0);
    t.is(l.link.kind, 'shaped');
    const playback = l.playback;
    if (playback === undefined) return t.fail(`${l.name} has no playback metrics`);
    t.is(playback.state, 'done');
    t.is(playback.piecesPlayed, result.pieceCount);
    t.true(
      playback.startupDelayMs !== null && playback.startupDelayMs >= 1_000 - 5,
      `${playback.startupDelayMs}`,
    );
    t.true(
      playback.continuityIndex !== null && playback.continuityIndex >= 0 && playback.continuityIndex <= 1,
    );
    t.deepEqual(playback.bytesBySource, l.bytesBySource);
    // Leechers reach each other through two 10 ms links: 40 ms; the seeder through 10 + 5: 30 ms.
    t.true(l.meanRttMs === undefined || l.meanRttMs >= 29, `${l.name} rtt ${l.meanRttMs}`);
  }
  // The seeder alone could not have served everything at 3x the bitrate in this time: peers shared.
  t.true(result.totals.bytesBySource.peer > 0, 'leechers served each other');
  t.is(result.totals.bytesBySource.peer + result.totals.bytesBySource.seed, result.totals.deliveredBytes);
  t.true(result.totals.haveRequestBytesPerMiB > 0);
  // The seeder's shaped upload holds its rate: what it sent took at least that long.
  const seederSeconds = seeder.uploadedBytes / (3 * BYTES_PER_SECOND);
  t.true(
    result.durationMs / 1000 >= seederSeconds * 0.9,
    `${seeder.uploadedBytes} bytes in ${result.durationMs} ms`,
  );
});

test('abort tears everything down and rejects with ERR_ABORTED', async (t) => {
  const swarm = new Swarm({
    ...SMALL,
    seed: 'aborted',
    leechers: { ...SMALL.leechers, link: { uploadBytesPerSecond: 50_000, delayMs: 10 } },
  });
  const controller = new AbortController();
  const running = swarm.run(controller.signal);
  // Abort once all four leechers are running and downloading.
  const deadline = Date.now() + 10_000;
  while (swarm.torrents.filter((x) => x.downloaded > 0).length < 4 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const ports = swarm.peers.map((p) => p.port ?? 0);
  t.is(ports.length, 5);
  controller.abort();
  await t.throwsAsync(running, { code: 'ERR_ABORTED' });
  for (const port of ports) t.true(await refused(port), `port ${port} still listening`);
});

test('a swarm that cannot finish in time stops at its timeout with partial results', async (t) => {
  const swarm = new Swarm({
    ...SMALL,
    seed: 'slow',
    seeder: { link: { uploadBytesPerSecond: 100_000 } },
    leechers: { ...SMALL.leechers, count: 2, link: { uploadBytesPerSecond: 20_000 } },
    timeoutMs: 1_500,
  });
  const result = await swarm.run();
  t.true(result.timedOut);
  t.is(result.totals.completed, 0);
  t.is(result.totals.finishedPlaying, 0);
  for (const l of result.peers.slice(1)) t.not(l.playback?.state, 'done');
  t.true(result.totals.deliveredBytes > 0);
  t.true(result.durationMs >= 1_500 && result.durationMs < 5_000, `${result.durationMs} ms`);
  for (const p of swarm.peers) t.true(await refused(p.port ?? 0));
});

test('with a tracker URL, peers find each other through the tracker', async (t) => {
  const tracker = new TrackerServer({ host: '127.0.0.1', port: 0 });
  await tracker.start();
  t.teardown(() => tracker.stop());
  const result = await runSwarm({
    seed: 'tracked',
    content: { sizeBytes: MiB / 4, bitrateBps: BITRATE_BPS, pieceLengthBytes: 32 * 1024 },
    leechers: { count: 3, arrivals: { kind: 'all-at-once' }, startupBufferMs: 300 },
    trackerUrl: tracker.announceUrl,
    timeoutMs: 15_000,
  });
  t.false(result.timedOut);
  t.is(result.totals.completed, 3);
  t.is(result.totals.finishedPlaying, 3);
  t.true(tracker.stats().announces >= 4);
});

test('bass leechers stream their window from the swarm media server and play to the end', async (t) => {
  const serverRate = 2 * BYTES_PER_SECOND;
  const result = await runSwarm(
    {
      ...SMALL,
      seed: 'bass-a',
      leechers: {
        ...SMALL.leechers,
        strategy: [{ name: 'bass' }, { name: 'rarest-first' }],
        strategyOptions: undefined,
      },
      mediaServer: { uploadBytesPerSecond: serverRate, maxInFlight: 2 },
    },
    AbortSignal.timeout(30_000),
  );
  t.false(result.timedOut);
  t.is(result.totals.finishedPlaying, 4);
  const leechers = result.peers.slice(1);
  const bass = leechers.filter((l) => l.strategy === 'bass');
  t.true(bass.length > 0 && bass.length < 4, `${bass.length} bass leechers: draw both kinds`);
  for (const l of leechers) {
    const fromServer = l.bytesBySource['media-server'];
    if (l.strategy === 'bass') t.true(fromServer > 0, `${l.name} got nothing from the media server`);
    else t.is(fromServer, 0, `${l.name} runs ${l.strategy} and must not use the media server`);
    t.is(l.bytesBySource.peer + l.bytesBySource.seed + fromServer, l.downloadedBytes);
    t.is(l.playback?.bytesBySource['media-server'], fromServer);
  }
  const server = result.mediaServer;
  if (server === undefined) return t.fail('no media server in the result');
  t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  t.is(server.clients, bass.length);
  t.is(server.uploadBytesPerSecond, serverRate);
  const fromServer = bass.reduce((sum, l) => sum + l.bytesBySource['media-server'], 0);
  t.is(result.totals.bytesBySource['media-server'], fromServer);
  // What the leechers kept came from what the server sent (a cut fetch sends more than is kept).
  t.true(server.bytesServed >= fromServer, `${server.bytesServed} served < ${fromServer} delivered`);
  t.true(server.requests >= Math.ceil(fromServer / SMALL.content.pieceLengthBytes!), `${server.requests}`);
  t.is(server.rejected, 0);
  // The server's token bucket held its rate (plus one burst of a tenth of a second).
  t.true(
    server.bytesServed <= (serverRate * result.durationMs) / 1000 + serverRate / 10 + 1,
    `${server.bytesServed} bytes in ${result.durationMs} ms`,
  );
});

test('without bass leechers or a mediaServer spec no media server runs', async (t) => {
  const result = await runSwarm({
    seed: 'no-server',
    content: { sizeBytes: MiB / 4, bitrateBps: BITRATE_BPS, pieceLengthBytes: 32 * 1024 },
    leechers: { count: 2, arrivals: { kind: 'all-at-once' }, startupBufferMs: 300 },
    timeoutMs: 15_000,
  });
  t.is(result.mediaServer, undefined);
  t.is(result.totals.bytesBySource['media-server'], 0);
  t.is(result.totals.finishedPlaying, 2);
});
