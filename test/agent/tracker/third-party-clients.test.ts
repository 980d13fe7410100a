/*
 * Real clients announce to our tracker over loopback and find each other through it:
 * libtorrent, Transmission and aria2 each seed, and a libtorrent (or aria2) leech downloads the
 * content byte for byte from the peer our tracker handed out.
 */
import type { ExecutionContext } from 'ava';
import { Aria2 } from '../../../agent/third-party/aria2.js';
import { LibtorrentPeer } from '../../../agent/third-party/libtorrent.js';
import { TransmissionDaemon } from '../../../agent/third-party/transmission.js';
import { raceAbort } from '../../../agent/third-party/wait.js';
import type { AnnounceRecord } from '../../../agent/tracker/index.js';
import { TrackerServer } from '../../../agent/tracker/index.js';
import { testIf } from '../../support/components.js';
import { makeTorrentFixture, type TorrentFixture } from '../../support/torrent-fixture.js';

const TIMEOUT_MS = 60_000;
const CONTENT_BYTES = 2 * 1024 * 1024;
const PIECE_BYTES = 64 * 1024;

interface Setup {
  readonly tracker: TrackerServer;
  readonly fx: TorrentFixture;
  readonly records: AnnounceRecord[];
  readonly signal: AbortSignal;
}

/** A closed tracker (like the Debian opentracker) that serves just the fixture's torrent. */
async function setup(t: ExecutionContext, label: string): Promise<Setup> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const tracker = new TrackerServer({
    host: '127.0.0.1',
    port: 0,
    open: false,
    intervalSec: 5,
    minIntervalSec: 1,
  });
  t.teardown(() => tracker.stop());
  await tracker.start(signal);
  const records: AnnounceRecord[] = [];
  tracker.announceLog.subscribe((r) => records.push(r));
  const fx = await makeTorrentFixture(t, {
    sizeBytes: CONTENT_BYTES,
    seed: label,
    pieceLength: PIECE_BYTES,
    announce: [tracker.announceUrl!],
  });
  tracker.allow(fx.infoHashHex);
  return { tracker, fx, records, signal };
}

/** Resolves with the first announce of a seed for the torrent (already logged or to come). */
function seedAnnounced({ tracker, fx, records, signal }: Setup): Promise<AnnounceRecord> {
  const match = (r: AnnounceRecord): boolean =>
    r.infoHash === fx.infoHashHex && r.seed && r.event !== 'stopped';
  const already = records.find(match);
  if (already !== undefined) return Promise.resolve(already);
  return raceAbort(
    new Promise<AnnounceRecord>((resolve) => {
      const off = tracker.announceLog.subscribe((r) => {
        if (match(r)) {
          off();
          resolve(r);
        }
      });
    }),
    { signal, what: `a seed announce for ${fx.infoHashHex} at our tracker` },
  );
}

/** The leech was handed the seed's endpoint by our tracker. */
function assertHandedOut(t: ExecutionContext, { records, fx }: Setup, seed: AnnounceRecord): void {
  const seedEndpoint = seed.endpoints[0];
  const toLeech = records.filter(
    (r) => r.infoHash === fx.infoHashHex && !r.seed && r.returned.includes(seedEndpoint),
  );
  t.true(
    toLeech.length > 0,
    `no leecher was given ${seedEndpoint}: ${JSON.stringify(records.map((r) => [r.peerId.slice(0, 16), r.event, r.returned]))}`,
  );
}

async function libtorrentLeech(t: ExecutionContext, s: Setup): Promise<void> {
  const dir = await s.fx.downloadDir('lt');
  const leech = new LibtorrentPeer({ torrentPath: s.fx.torrentPath, saveDir: dir, mode: 'download' });
  t.teardown(() => leech.stop());
  await leech.start(s.signal);
  await leech.waitFinished(s.signal);
  t.true((await s.fx.readDownloaded(dir)).equals(s.fx.data));
}

testIf('libtorrent')('libtorrent finds libtorrent through our tracker, byte for byte', async (t) => {
  const s = await setup(t, 'ours-lt-lt');
  const seed = new LibtorrentPeer({ torrentPath: s.fx.torrentPath, saveDir: s.fx.seedDir, mode: 'seed' });
  t.teardown(() => seed.stop());
  await seed.start(s.signal);
  await seed.waitFinished(s.signal);
  const seedRecord = await seedAnnounced(s);
  t.is(seedRecord.endpoints[0], `127.0.0.1:${seed.port}`);
  // libtorrent's peer ids start with -LT.
  t.is(Buffer.from(seedRecord.peerId, 'hex').subarray(0, 3).toString(), '-LT');
  await libtorrentLeech(t, s);
  assertHandedOut(t, s, seedRecord);
});

testIf('transmission', 'libtorrent')(
  'Transmission and libtorrent find each other through our tracker',
  async (t) => {
    const s = await setup(t, 'ours-tr-lt');
    const daemon = new TransmissionDaemon();
    t.teardown(() => daemon.stop());
    await daemon.start(s.signal);
    const added = await daemon.addTorrent(s.fx.torrentPath, s.fx.seedDir, s.signal);
    await daemon.waitSeeding(added.id, s.signal);
    const seedRecord = await seedAnnounced(s);
    t.is(Buffer.from(seedRecord.peerId, 'hex').subarray(0, 2).toString(), '-T');
    await libtorrentLeech(t, s);
    assertHandedOut(t, s, seedRecord);
    t.is(s.tracker.stats().failures, 0);
  },
);

testIf('aria2', 'libtorrent')('aria2 and libtorrent find each other through our tracker', async (t) => {
  const s = await setup(t, 'ours-aria2-lt');
  const aria2 = new Aria2();
  t.teardown(() => aria2.stop());
  await aria2.start(s.signal);
  const gid = await aria2.addTorrent(s.fx.torrentPath, { dir: s.fx.seedDir, mode: 'seed' }, s.signal);
  await aria2.waitSeeding(gid, s.signal);
  const seedRecord = await seedAnnounced(s);
  t.is(Buffer.from(seedRecord.peerId, 'hex').subarray(0, 5).toString(), 'A2-1-');
  await libtorrentLeech(t, s);
  assertHandedOut(t, s, seedRecord);
  t.is(s.tracker.stats().failures, 0);
});
