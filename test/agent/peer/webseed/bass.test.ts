import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { MediaServer } from '../../../../agent/peer/media-server/media-server.js';
import { BassPicker } from '../../../../agent/peer/picker/bass.js';
import { type BassHandle, startBass } from '../../../../agent/peer/webseed/bass.js';
import type { WindowSpan } from '../../../../agent/peer/webseed/bass-window.js';
import { BassOptionError } from '../../../../agent/peer/webseed/bass-window.js';
import type { WebSeedFailureEvent } from '../../../../agent/peer/webseed/web-seed.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { FakePlayback } from '../../../support/fake-playback.js';
import {
  type PeerNode,
  startNode,
  storedContentEquals,
  waitForEvent,
  whenComplete,
} from '../../../support/peer-node.js';

const PIECE = 32 * 1024;
const PIECES = 24;
const PIECE_MS = 500;
const WINDOW_PIECES = 6;
const NOW = 5_000_000;

function fixture() {
  return makeMeta({
    pieceLength: PIECE,
    files: [{ path: ['stream.ts'], length: PIECES * PIECE - 4_321 }],
    seed: 'bass',
  });
}

interface Setup {
  readonly seed: PeerNode;
  readonly leecher: PeerNode;
  readonly playback: FakePlayback;
  readonly picker: BassPicker;
  /** Pieces the leecher asked peers for, with the window at that moment. */
  readonly picks: Array<{ piece: number; span: WindowSpan }>;
}

/** A seed, and a leecher running the bass picker for a scripted player (window of WINDOW_PIECES). */
async function swarm(
  t: ExecutionContext,
): Promise<Setup & { meta: ReturnType<typeof fixture>['meta']; content: Buffer }> {
  const { meta, content } = fixture();
  const seed = await startNode(t, { name: 'seed', meta, content, pieces: 'all' });
  const playback = new FakePlayback({ pieceDurationMs: PIECE_MS, now: () => NOW });
  const leecher = await startNode(t, {
    name: 'leecher',
    meta,
    content,
    init: { strategy: 'bass', strategyOptions: { windowMs: WINDOW_PIECES * PIECE_MS } },
    deps: { playback },
  });
  const picker = leecher.torrent.picker;
  if (!(picker instanceof BassPicker)) throw new TypeError('the leecher does not run the bass picker');
  const picks: Setup['picks'] = [];
  const pick = picker.pick.bind(picker);
  picker.pick = (peer, max, opts) => {
    const span = picker.span();
    const blocks = pick(peer, max, opts);
    for (const b of blocks) picks.push({ piece: b.piece, span });
    return blocks;
  };
  return { meta, content, seed, leecher, playback, picker, picks };
}

async function mediaServerFor(t: ExecutionContext, node: PeerNode): Promise<MediaServer> {
  const server = new MediaServer({ meta: node.torrent.meta }, { storage: node.storage });
  t.teardown(() => server.stop());
  await server.start();
  return server;
}

function bassFor(t: ExecutionContext, s: Setup, url: string): { handle: BassHandle; fetched: number[] } {
  const handle = startBass(s.leecher.torrent, { url, playback: s.playback, backoffMs: 5, maxBackoffMs: 50 });
  t.teardown(() => handle.stop());
  const fetched: number[] = [];
  handle.source.on('piece', (e) => fetched.push(e.index));
  return { handle, fetched };
}

const size = (meta: { pieceLength: number; length: number; pieceCount: number }, i: number): number =>
  i < meta.pieceCount - 1 ? meta.pieceLength : meta.length - meta.pieceLength * (meta.pieceCount - 1);

test('BASS, playhead at 0: the media server streams the window, the peers fetch exactly the rest', async (t) => {
  const s = await swarm(t);
  const { meta, content, seed, leecher } = s;
  const server = await mediaServerFor(t, seed);
  const { handle, fetched } = bassFor(t, s, server.address!.url);
  t.is(handle.window, s.picker.window, 'one window for both sides');
  t.deepEqual(s.picker.span(), { start: 0, end: WINDOW_PIECES });
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content));

  const windowPieces = [...Array(WINDOW_PIECES).keys()];
  t.deepEqual(
    [...fetched].sort((a, b) => a - b),
    windowPieces,
  );
  t.false(
    s.picks.some((p) => p.piece < WINDOW_PIECES),
    'a peer was asked for a window piece',
  );
  const windowBytes = windowPieces.reduce((n, i) => n + size(meta, i), 0);
  const by = leecher.torrent.bytesBySource;
  t.is(by['media-server'], windowBytes);
  t.is(by.seed, meta.length - windowBytes);
  t.is(by.peer, 0);
  t.is(server.stats.bytesServed, windowBytes);
});

test('BASS with a moving playhead: server pieces were in the window when fetched, peer pieces beyond it', async (t) => {
  const s = await swarm(t);
  const { meta, content, seed, leecher, playback } = s;
  const table = leecher.torrent.table;
  // The player consumes each piece as soon as it is held, so the window slides during the download.
  leecher.torrent.on('piece', () => {
    // Bounded by the piece count.
    while (playback.play(table));
  });
  const server = await mediaServerFor(t, seed);
  const claims: Array<{ piece: number; span: WindowSpan }> = [];
  const { handle, fetched } = bassFor(t, s, server.address!.url);
  handle.source.on('fetch', (piece) => claims.push({ piece, span: s.picker.span() }));
  // The web seed claimed its first pieces at start, before we listened: all were in [0, window).
  const early = [...table.downloads.keys()];
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content));
  t.is(playback.playheadPiece, PIECES, 'the player played everything');

  for (const i of early) t.true(i < WINDOW_PIECES);
  for (const c of claims)
    t.true(c.piece >= c.span.start && c.piece < c.span.end, `server fetched ${c.piece}`);
  for (const p of s.picks)
    t.false(p.piece >= p.span.start && p.piece < p.span.end, `peer asked for ${p.piece}`);
  const fromServer = new Set(fetched);
  const fromPeers = new Set(s.picks.map((p) => p.piece));
  // Nothing the server delivered whole was also requested from peers, and together they are everything.
  t.deepEqual(
    [...fromServer].filter((i) => fromPeers.has(i)),
    [],
  );
  t.is(fromServer.size + fromPeers.size, PIECES);
  // The first window can only have come from the server.
  for (let i = 0; i < WINDOW_PIECES; i++) t.true(fromServer.has(i), `piece ${i}`);
  t.log(`server pieces ${[...fromServer].sort((a, b) => a - b).join(',')}`);
  const serverBytes = [...fromServer].reduce((n, i) => n + size(meta, i), 0);
  t.is(leecher.torrent.bytesBySource['media-server'], serverBytes);
  t.is(leecher.torrent.bytesBySource.seed, meta.length - serverBytes);
  t.is(server.stats.bytesServed, serverBytes);
});

test('BASS with a failing media server: the window opens to peers and playback data still arrives', async (t) => {
  const s = await swarm(t);
  const { meta, content, seed, leecher } = s;
  const broken = http.createServer((_req, res) => res.writeHead(500).end());
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        broken.closeAllConnections();
        broken.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  const { port } = broken.address() as AddressInfo;
  const { handle } = bassFor(t, s, `http://127.0.0.1:${port}/stream.ts`);
  await waitForEvent<[WebSeedFailureEvent]>(
    handle.source,
    'fetch-failed',
    () => !handle.window.serverAvailable,
  );
  leecher.torrent.addPeer('127.0.0.1', seed.port);
  await whenComplete(leecher);
  t.true(await storedContentEquals(leecher, content));
  t.is(leecher.torrent.bytesBySource['media-server'], 0);
  t.is(leecher.torrent.bytesBySource.seed, meta.length);
  t.true(
    s.picks.some((p) => p.piece < WINDOW_PIECES),
    'peers stood in for the server',
  );
});

test('startBass refuses a window that disagrees with the bass picker', async (t) => {
  const s = await swarm(t);
  t.throws(
    () => startBass(s.leecher.torrent, { url: 'http://127.0.0.1:1/x', playback: s.playback, windowMs: 1 }),
    {
      instanceOf: BassOptionError,
    },
  );
  t.throws(
    () =>
      startBass(s.leecher.torrent, {
        url: 'http://127.0.0.1:1/x',
        playback: new FakePlayback({ pieceDurationMs: PIECE_MS }),
      }),
    { instanceOf: BassOptionError },
  );
});
