import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { LibtorrentPeer, type LibtorrentTrackerEvent } from '../../../agent/third-party/libtorrent.js';
import { OpenTracker } from '../../../agent/third-party/opentracker.js';
import { pollUntil } from '../../../agent/third-party/wait.js';
import { testIf } from '../../support/components.js';
import { createLab } from '../../support/netns.js';
import { makeTorrentFixture } from '../../support/torrent-fixture.js';

const TIMEOUT_MS = 60_000;

/** The next tracker event of `peer` after `trigger()`. */
async function nextTrackerEvent(
  peer: LibtorrentPeer,
  signal: AbortSignal,
  trigger: () => void,
): Promise<LibtorrentTrackerEvent> {
  const event = once(peer, 'tracker', { signal });
  trigger();
  const [e] = (await event) as [LibtorrentTrackerEvent];
  return e;
}

testIf('opentracker', 'libtorrent')(
  'opentracker refuses infohashes off its whitelist until allow() adds them',
  async (t) => {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    const tracker = new OpenTracker();
    t.teardown(() => tracker.stop());
    await tracker.start(signal);
    const fx = await makeTorrentFixture(t, {
      sizeBytes: 256 * 1024,
      seed: 'ot-whitelist',
      announce: [tracker.announceUrl],
    });
    const seed = new LibtorrentPeer({ torrentPath: fx.torrentPath, saveDir: fx.seedDir, mode: 'seed' });
    t.teardown(() => seed.stop());
    const first = once(seed, 'tracker', { signal });
    await seed.start(signal);
    const [refused] = (await first) as [LibtorrentTrackerEvent];
    t.is(refused.kind, 'error');
    t.regex(refused.message ?? '', /not authorized/);
    t.deepEqual(await tracker.scrape(fx.infoHashHex, signal), { complete: 0, incomplete: 0, downloaded: 0 });

    await tracker.allow([fx.infoHashHex], signal);
    await seed.waitFinished(signal);
    const accepted = await nextTrackerEvent(seed, signal, () => seed.reannounce());
    t.is(accepted.kind, 'reply');
    const counts = await tracker.waitForPeers(fx.infoHashHex, { seeders: 1 }, signal);
    t.is(counts.complete, 1);

    // A stopping seed sends a `stopped` announce; the tracker forgets it.
    await seed.stop();
    const gone = await pollUntil(
      async () => {
        const c = await tracker.scrape(fx.infoHashHex, signal);
        return c.complete === 0 ? c : undefined;
      },
      { intervalMs: 100, signal, what: 'the stopped seed to leave the swarm' },
    );
    t.is(gone.complete, 0);
  },
);

testIf('opentracker')('opentracker rejects bad infohashes and cleans up after stop', async (t) => {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  t.throws(() => new OpenTracker({ whitelist: ['xyz'] }), { code: 'ERR_THIRD_PARTY_BAD_INFOHASH' });
  const tracker = new OpenTracker({ whitelist: ['AB'.repeat(20)] });
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  t.regex(tracker.announceUrl, /^http:\/\/127\.0\.0\.1:\d+\/announce$/);
  t.regex(tracker.udpAnnounceUrl, /^udp:\/\/127\.0\.0\.1:\d+\/announce$/);
  await t.throwsAsync(tracker.scrape('not-hex', signal), { code: 'ERR_THIRD_PARTY_BAD_INFOHASH' });
  await t.throwsAsync(tracker.allow(['12'], signal), { code: 'ERR_THIRD_PARTY_BAD_INFOHASH' });
  const dir = tracker.directory;
  t.true(dir !== undefined && existsSync(dir));
  await tracker.stop();
  await tracker.stop();
  t.false(existsSync(dir ?? ''));
  await t.throwsAsync(tracker.allow(['cd'.repeat(20)], signal), { code: 'ERR_THIRD_PARTY_NOT_RUNNING' });
});

testIf('opentracker', 'netns')(
  'opentracker serves inside a lab namespace, scraped from outside through the relay',
  async (t) => {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    const lab = await createLab({ nodes: 1 });
    t.teardown(() => lab.destroy());
    const hex = 'ef'.repeat(20);
    const tracker = new OpenTracker({ host: lab.address(0), netns: lab.namespace(0), whitelist: [hex] });
    t.teardown(() => tracker.stop());
    await tracker.start(signal);
    t.is(tracker.announceUrl, `http://${lab.address(0)}:${tracker.port}/announce`);
    t.deepEqual(await tracker.scrape(hex, signal), { complete: 0, incomplete: 0, downloaded: 0 });
    // It listens on the lab address inside the namespace (which the root namespace does not have).
    const { stdout } = await lab.exec(0, ['ss', '-ltn']);
    t.true(stdout.includes(`${lab.address(0)}:${tracker.port}`));
  },
);
