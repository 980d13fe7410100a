import test from 'ava';
import { HttpAnnouncer } from '../../../../agent/peer/tracker/http-announcer.js';
import type { AnnounceRecord } from '../../../../agent/tracker/announce-log.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { startNode, whenComplete } from '../../../support/peer-node.js';
import { startTracker } from '../../tracker/tracker-helpers.js';

const WAIT_MS = 20_000;

/** Resolves with the first announce record matching `match` (already logged or arriving later). */
function nextRecord(
  log: {
    recent(limit?: number): readonly AnnounceRecord[];
    subscribe(l: (r: AnnounceRecord) => void): () => void;
  },
  match: (r: AnnounceRecord) => boolean,
): Promise<AnnounceRecord> {
  const seen = log.recent().find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching announce within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const unsubscribe = log.subscribe((r) => {
      if (!match(r)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(r);
    });
  });
}

test('our peer announces its upstream (ss_up) and the delays it measured (ss_delay) to our tracker', async (t) => {
  const { server, url } = await startTracker(t, { intervalSec: 1, minIntervalSec: 1 });
  const { meta, content } = makeMeta({
    pieceLength: 16_384,
    files: [{ path: ['a.bin'], length: 2 * 1_048_576 }],
    seed: 7,
  });
  const upstreamBps = 2_500_000;
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    init: { upstreamBps },
    deps: { announcers: [new HttpAnnouncer({ url })] },
  });
  const seedRecord = await nextRecord(server.announceLog, (r) =>
    r.endpoints.includes(`127.0.0.1:${seed.port}`),
  );
  t.is(seedRecord.upstreamBps, upstreamBps, 'the seed reported its upstream capacity');

  const leech = await startNode(t, {
    name: 'leech',
    meta,
    content,
    deps: { announcers: [new HttpAnnouncer({ url })] },
  });
  // The leecher finds the seed only through the tracker.
  await whenComplete(leech);
  t.true(leech.torrent.stored.complete);
  // Its later announces (completed, then regular ones) carry the delay it measured to the seed.
  const withDelay = await nextRecord(
    server.announceLog,
    (r) =>
      r.endpoints.includes(`127.0.0.1:${leech.port}`) &&
      (r.delays ?? []).some((d) => d.endpoint === `127.0.0.1:${seed.port}`),
  );
  const report = withDelay.delays!.find((d) => d.endpoint === `127.0.0.1:${seed.port}`)!;
  t.true(report.delayMs >= 0 && report.delayMs < 5_000, `a plausible loopback delay: ${report.delayMs} ms`);
});

test('an ordinary announce from our peer without QoS data carries no extension parameters', async (t) => {
  const { server, url } = await startTracker(t);
  const { meta, content } = makeMeta({
    pieceLength: 16_384,
    files: [{ path: ['b.bin'], length: 65_536 }],
    seed: 8,
  });
  const node = await startNode(t, {
    name: 'plain',
    meta,
    content,
    deps: { announcers: [new HttpAnnouncer({ url })] },
  });
  const record = await nextRecord(server.announceLog, (r) => r.endpoints.includes(`127.0.0.1:${node.port}`));
  t.is(record.upstreamBps, undefined);
  t.is(record.delays, undefined);
});
