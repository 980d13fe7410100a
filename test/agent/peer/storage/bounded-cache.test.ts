import { EventEmitter } from 'node:events';
import test from 'ava';
import { Bitfield } from '../../../../agent/peer/bitfield.js';
import type { PlaybackView } from '../../../../agent/peer/playback/playback-view.js';
import {
  BoundedCache,
  BoundedCacheError,
  type CacheHost,
} from '../../../../agent/peer/storage/bounded-cache.js';
import { BLOCK_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { makeMeta } from '../../../support/fake-meta.js';
import { type PeerNode, startNode, WAIT_MS, waitForEvent } from '../../../support/peer-node.js';

/** A player whose playhead the test moves. */
class ScriptedPlayback implements PlaybackView {
  started = true;
  playheadPiece = 0;
  bufferedMs = 0;
  deadline(index: number): number {
    return index - this.playheadPiece;
  }
}

/** A torrent stand-in that records what the cache asks of it. */
class FakeHost extends EventEmitter implements CacheHost {
  readonly pieceCount: number;
  readonly meta = { pieceLength: 100 };
  readonly stored: Bitfield;
  readonly wanted: Bitfield;
  readonly evictions: number[][] = [];

  constructor(pieceCount: number, held: readonly number[] = []) {
    super();
    this.pieceCount = pieceCount;
    this.stored = new Bitfield(pieceCount);
    this.wanted = Bitfield.full(pieceCount);
    for (const i of held) this.stored.set(i);
  }
  async evictPieces(pieces: Iterable<number>): Promise<number[]> {
    const list = [...pieces];
    for (const i of list) this.stored.clear(i);
    this.evictions.push(list);
    return list;
  }
  setWanted(pieces: Iterable<number>, wanted: boolean): void {
    for (const i of pieces)
      if (wanted) this.wanted.set(i);
      else this.wanted.clear(i);
  }
  store(i: number): void {
    this.stored.set(i);
    this.emit('piece', i);
  }
}

const wantedOf = (host: FakeHost): number[] => [...host.wanted.indices()];

test('the torrent wants only the window [playhead, playhead + capacity), which slides with the playhead', (t) => {
  const host = new FakeHost(10);
  const playback = new ScriptedPlayback();
  const cache = new BoundedCache({ capacityPieces: 4 }, { host, playback });
  t.teardown(() => cache.stop());
  cache.start();
  t.deepEqual(wantedOf(host), [0, 1, 2, 3]);
  playback.playheadPiece = 2;
  cache.refresh();
  t.deepEqual(wantedOf(host), [2, 3, 4, 5]);
  playback.playheadPiece = 8;
  cache.refresh();
  t.deepEqual(wantedOf(host), [8, 9]);
  // A seek back widens the window the other way.
  playback.playheadPiece = 1;
  cache.refresh();
  t.deepEqual(wantedOf(host), [1, 2, 3, 4]);
  t.deepEqual(host.evictions, []);
});

test('over capacity: played pieces go first (furthest behind first), then the furthest ahead', (t) => {
  const host = new FakeHost(10, [0, 1, 2, 3]);
  const playback = new ScriptedPlayback();
  playback.playheadPiece = 2;
  const cache = new BoundedCache({ capacityPieces: 4 }, { host, playback });
  t.teardown(() => cache.stop());
  cache.start();
  t.deepEqual(host.evictions, []);
  host.store(4);
  t.deepEqual(host.evictions, [[0]]);
  host.store(5);
  t.deepEqual(host.evictions, [[0], [1]]);
  // Nothing played left: the piece furthest ahead goes.
  host.store(9);
  t.deepEqual(host.evictions.at(-1), [9]);
  t.deepEqual([...host.stored.indices()], [2, 3, 4, 5]);
  t.is(cache.evicted, 3);
});

test('the piece at the playhead is never evicted', (t) => {
  const host = new FakeHost(10, [5, 6]);
  const playback = new ScriptedPlayback();
  playback.playheadPiece = 5;
  const cache = new BoundedCache({ capacityPieces: 1 }, { host, playback });
  t.deepEqual(cache.victims(), [6]);
  host.stored.clear(6);
  host.stored.set(3);
  t.deepEqual(cache.victims(), [3]);
  // Capacity is whole pieces of the torrent's length.
  t.is(new BoundedCache({ capacityBytes: 450 }, { host, playback }).capacity, 4);
});

test('a capacity that holds no whole piece, or given twice, is ERR_CACHE_CAPACITY', (t) => {
  const host = new FakeHost(4);
  const playback = new ScriptedPlayback();
  for (const init of [
    { capacityPieces: 0 },
    { capacityBytes: 99 },
    { capacityPieces: 1.5 },
    {},
    { capacityPieces: 2, capacityBytes: 200 },
  ]) {
    const err = t.throws(() => new BoundedCache(init, { host, playback }), { instanceOf: BoundedCacheError });
    t.is(err?.code, 'ERR_CACHE_CAPACITY');
  }
});

/** 24 pieces of 2 blocks. */
const { meta, content } = makeMeta({
  pieceLength: 2 * BLOCK_LENGTH,
  files: [{ path: ['b.bin'], length: 24 * 2 * BLOCK_LENGTH - 5000 }],
  seed: 'bounded',
});

test('a bounded peer plays the whole stream holding at most its capacity; its peers see every eviction at once', async (t) => {
  const CAPACITY = 5;
  // A seed without ss_range: it hears BEP 3 haves and lt_donthave. A watcher with ss_range that
  // wants nothing: it hears range haves and range nohaves, and never downloads.
  const seed = await startNode(t, {
    name: 'seed',
    meta,
    content,
    pieces: 'all',
    init: { rangeMessages: false },
  });
  const box = await startNode(t, { name: 'box', meta, content });
  const watcher = await startNode(t, { name: 'watcher', meta, content });
  watcher.torrent.setWanted(Array(meta.pieceCount).keys(), false);
  const watched = waitForEvent(box.torrent, 'peer');
  watcher.torrent.addPeer('127.0.0.1', box.port);
  await watched;

  const playback = new ScriptedPlayback();
  const cache = new BoundedCache({ capacityPieces: CAPACITY }, { host: box.torrent, playback });
  t.teardown(() => cache.stop());
  cache.start();
  // The player consumes every piece as soon as it is there (registered after the cache's listener).
  const played: number[] = [];
  let maxHeld = 0;
  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`played only ${played.length} pieces`)), WAIT_MS);
    box.torrent.on('piece', () => {
      maxHeld = Math.max(maxHeld, box.torrent.stored.count);
      while (playback.playheadPiece < meta.pieceCount && box.torrent.stored.has(playback.playheadPiece)) {
        played.push(playback.playheadPiece++);
      }
      cache.refresh();
      if (playback.playheadPiece === meta.pieceCount) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // A remote's view of the box matches the box once the last nohave is in.
  const inSync = (node: PeerNode) =>
    waitForEvent(
      node.torrent,
      'nohave',
      () =>
        playback.playheadPiece === meta.pieceCount &&
        Buffer.from(node.connections[0].have.bytes).equals(Buffer.from(box.torrent.stored.bytes)),
    );
  const synced = Promise.all([inSync(seed), inSync(watcher)]);
  box.torrent.addPeer('127.0.0.1', seed.port);
  await finished;
  await synced;

  t.deepEqual(played, [...Array(meta.pieceCount).keys()]);
  t.true(maxHeld <= CAPACITY, `held ${maxHeld}`);
  t.true(box.storage.storedCount <= CAPACITY);
  // Nothing was downloaded twice or only to be thrown away.
  t.is(box.torrent.downloaded, meta.length);
  t.is(cache.evicted, meta.pieceCount - box.torrent.stored.count);
  t.is(watcher.torrent.downloaded, 0);
  // The remotes' availability counts exactly what the box still holds.
  for (const node of [seed, watcher]) {
    for (let i = 0; i < meta.pieceCount; i++) {
      t.is(node.torrent.table.availabilityOf(i), box.torrent.stored.has(i) ? 1 : 0, `${node.name}: ${i}`);
    }
  }
  const toSeed = box.connections.find((c) => c.port === seed.port)!.stats.snapshot().out;
  const toWatcher = box.connections.find((c) => c.port !== seed.port)!.stats.snapshot().out;
  const evicted = cache.evicted;
  t.is(toSeed['ext:lt_donthave']?.count, evicted);
  t.false('ext:ss_range' in toSeed);
  t.is(toSeed.have?.count, meta.pieceCount);
  t.true((toWatcher['ext:ss_range']?.count ?? 0) + (toWatcher['ext:lt_donthave']?.count ?? 0) > 0);
  t.is(box.torrent.protocolErrors + seed.torrent.protocolErrors + watcher.torrent.protocolErrors, 0);
});
