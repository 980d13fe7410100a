import type { EventEmitter } from 'node:events';
import type { ExecutionContext } from 'ava';
import { Bitfield } from '../../agent/peer/bitfield.js';
import { Client, makePeerId } from '../../agent/peer/client.js';
import type { Metainfo } from '../../agent/peer/metainfo/types.js';
import { MemoryStorage } from '../../agent/peer/storage/memory-storage.js';
import { pieceSize } from '../../agent/peer/storage/storage.js';
import type { RemotePeer } from '../../agent/peer/torrent/remote-peer.js';
import {
  type PeerClosedEvent,
  Torrent,
  type TorrentDeps,
  type TorrentInit,
} from '../../agent/peer/torrent/torrent.js';

/** Upper bound of every wait in the peer tests: a hang fails the test instead of stalling the run. */
export const WAIT_MS = 20_000;

/** One peer of a test swarm: a Torrent on MemoryStorage behind its own Client on 127.0.0.1. */
export interface PeerNode {
  readonly name: string;
  readonly torrent: Torrent;
  readonly client: Client;
  readonly storage: MemoryStorage;
  readonly port: number;
  /** Every connection the torrent ever had (kept after close, for accounting). */
  readonly connections: RemotePeer[];
  /** Every `peer-closed` event. */
  readonly closed: PeerClosedEvent[];
}

export interface PeerNodeInit {
  readonly name: string;
  readonly meta: Metainfo;
  /** The torrent's content: needed for the pieces the node starts with. */
  readonly content: Buffer;
  /** Pieces the node starts with: all (a seed), none (default) or a list (resume). */
  readonly pieces?: 'all' | readonly number[];
  readonly seed?: number;
  /** Extra TorrentInit fields (fast, extensionProtocol, strategy...). */
  readonly init?: Partial<TorrentInit>;
  /** Extra TorrentDeps (link, choker, playback...); storage is the node's own. */
  readonly deps?: Omit<Partial<TorrentDeps>, 'storage'>;
}

/** Starts a node; it is stopped (torrent, client, storage) in t.teardown, even when the test fails. */
export async function startNode(t: ExecutionContext, init: PeerNodeInit): Promise<PeerNode> {
  const { meta, content } = init;
  const have = new Bitfield(meta.pieceCount);
  let storage: MemoryStorage;
  if (init.pieces === 'all') {
    storage = MemoryStorage.fromContent(meta, content);
    have.setAll();
    await storage.open();
  } else {
    storage = new MemoryStorage(meta);
    await storage.open();
    for (const i of init.pieces ?? []) {
      const start = i * meta.pieceLength;
      await storage.write(i, Buffer.from(content.subarray(start, start + pieceSize(meta, i))));
      have.set(i);
    }
  }
  const client = new Client();
  const { port } = await client.start();
  const seed = init.seed ?? hashName(init.name);
  const torrent = new Torrent(
    { meta, peerId: makePeerId(`${init.name}/${seed}`), seed, have, listenPort: port, ...init.init },
    { ...init.deps, storage },
  );
  const connections: RemotePeer[] = [];
  const closed: PeerClosedEvent[] = [];
  torrent.on('peer', (peer) => connections.push(peer));
  torrent.on('peer-closed', (event) => closed.push(event));
  client.add(torrent);
  torrent.start();
  t.teardown(async () => {
    await torrent.stop();
    await client.stop();
    await storage.close();
  });
  return { name: init.name, torrent, client, storage, port, connections, closed };
}

function hashName(name: string): number {
  let h = 7;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h;
}

/** Resolves once `node` completes; rejects on failure or after WAIT_MS. */
export function whenComplete(node: PeerNode, timeoutMs = WAIT_MS): Promise<void> {
  return node.torrent.whenComplete(AbortSignal.timeout(timeoutMs));
}

/**
 * Resolves with the first `event` emitted by `emitter` whose arguments satisfy `match` (or the
 * first one at all); rejects after `timeoutMs`, naming the event.
 */
export function waitForEvent<T extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  match: (...args: T) => boolean = () => true,
  timeoutMs = WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!match(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as T);
    };
    emitter.on(event, listener);
  });
}

/** Resolves with the `peer-closed` event whose error has `code`. */
export async function whenPeerClosedWith(
  node: PeerNode,
  code: string,
  timeoutMs = WAIT_MS,
): Promise<PeerClosedEvent> {
  const already = node.closed.find((e) => (e.error as { code?: string } | undefined)?.code === code);
  if (already) return already;
  const [event] = await waitForEvent<[PeerClosedEvent]>(
    node.torrent,
    'peer-closed',
    (e) => (e.error as { code?: string } | undefined)?.code === code,
    timeoutMs,
  );
  return event;
}

/** Every piece in `node`'s storage equals the content. */
export async function storedContentEquals(node: PeerNode, content: Buffer): Promise<boolean> {
  const meta = node.torrent.meta;
  for (let i = 0; i < meta.pieceCount; i++) {
    const size = pieceSize(meta, i);
    const got = await node.storage.read(i, 0, size);
    if (!got.equals(content.subarray(i * meta.pieceLength, i * meta.pieceLength + size))) return false;
  }
  return true;
}

/** Number of blocks (of BLOCK_LENGTH or shorter at a piece end) in `pieces` of `meta`. */
export function blockCount(meta: Metainfo, pieces: Iterable<number>, blockLength: number): number {
  let n = 0;
  for (const i of pieces) n += Math.ceil(pieceSize(meta, i) / blockLength);
  return n;
}
