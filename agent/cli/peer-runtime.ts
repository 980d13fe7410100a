import { Bitfield } from '../peer/bitfield.js';
import { Client, makePeerId } from '../peer/client.js';
import { SeedstreamError } from '../peer/errors.js';
import type { Logger } from '../peer/logger.js';
import { loadMetainfo } from '../peer/metainfo/index.js';
import type { Metainfo } from '../peer/metainfo/types.js';
import { FileStorage, MemoryStorage, pieceSize, type Storage, verifyStorage } from '../peer/storage/index.js';
import { WorkerHasher } from '../peer/torrent/piece-hasher.js';
import { Torrent } from '../peer/torrent/torrent.js';
import type { Announcer } from '../peer/tracker/announcer.js';
import { HttpAnnouncer } from '../peer/tracker/http-announcer.js';
import { parseBitrate } from '../peer/units.js';

export class PeerAddressError extends SeedstreamError {
  constructor(value: string) {
    super(
      'ERR_BAD_PEER_ADDRESS',
      `--peer ${JSON.stringify(value)}: expected HOST:PORT (IPv6 as [ADDR]:PORT)`,
    );
  }
}

/** `--upstream 20Mbps` (a bitrate) as bytes per second. */
export function toUpstreamBytesPerSecond(value: string): number {
  return Math.floor(parseBitrate(value) / 8);
}

/** Parses `host:port` or `[v6]:port`. */
export function parsePeerAddress(value: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65_535) throw new PeerAddressError(value);
  return { host: m[1], port };
}

export interface PeerRuntimeInit {
  readonly torrentPath: string;
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  readonly seed: number;
  readonly strategy?: string;
  readonly announce: boolean;
  /** Extra trackers besides the torrent's own. */
  readonly trackers?: readonly string[];
  readonly maxConnections?: number;
  /** Our upstream capacity in bytes/s, reported to trackers with the `ss_up` extension. */
  readonly upstreamBps?: number;
  /** `file` (default): content in `dir`; `memory`: what `dir` holds is loaded, downloads stay in RAM. */
  readonly storage?: 'file' | 'memory';
}

export interface PeerRuntime {
  readonly meta: Metainfo;
  readonly torrent: Torrent;
  readonly client: Client;
  readonly storage: Storage;
  readonly listening: { host: string; port: number };
  readonly resumed: number;
  stop(): Promise<void>;
}

/** Trackers of the torrent (every tier, flattened) and extra ones, HTTP(S) only, deduplicated. */
function announcersFor(meta: Metainfo, extra: readonly string[], log: Logger): Announcer[] {
  const urls = new Set<string>([
    ...meta.announceList.flat(),
    ...(meta.announce ? [meta.announce] : []),
    ...extra,
  ]);
  const out: Announcer[] = [];
  for (const url of urls) {
    if (!/^https?:\/\//i.test(url)) {
      log.warn({ tracker: url }, 'skipping a tracker that is not HTTP(S)');
      continue;
    }
    out.push(new HttpAnnouncer({ url }));
  }
  return out;
}

/**
 * One torrent served from a directory: load the .torrent, open and verify what is on disk
 * (resume), listen, and start the torrent. Shared by `seedstream seed` and `seedstream get`.
 */
export async function startPeerRuntime(
  init: PeerRuntimeInit,
  log: Logger,
  signal?: AbortSignal,
): Promise<PeerRuntime> {
  const { meta } = await loadMetainfo(init.torrentPath, signal);
  const { storage, valid } =
    init.storage === 'memory'
      ? await loadIntoMemory(meta, init.dir, signal)
      : await openOnDisk(meta, init.dir, signal);
  const client = new Client({ host: init.host, port: init.port }, { logger: log });
  let listening: { host: string; port: number };
  try {
    listening = await client.start(signal);
  } catch (err) {
    await storage.close();
    throw err;
  }
  // Verification runs beside the socket work rather than between reads.
  const hasher = new WorkerHasher({ threads: 1 });
  const torrent = new Torrent(
    {
      meta,
      peerId: makePeerId(),
      seed: init.seed,
      strategy: init.strategy,
      have: valid.count > 0 ? valid : new Bitfield(meta.pieceCount),
      listenPort: listening.port,
      maxConnections: init.maxConnections,
      upstreamBps: init.upstreamBps,
    },
    {
      storage,
      hasher,
      logger: log,
      announcers: init.announce ? announcersFor(meta, init.trackers ?? [], log) : [],
    },
  );
  client.add(torrent);
  torrent.start();
  return {
    meta,
    torrent,
    client,
    storage,
    listening,
    resumed: valid.count,
    async stop() {
      await torrent.stop();
      await client.stop();
      await hasher.close();
      await storage.close();
    },
  };
}

/** File storage in `dir`, verified: pieces that fail are forgotten so they are downloaded again. */
async function openOnDisk(
  meta: Metainfo,
  dir: string,
  signal?: AbortSignal,
): Promise<{ storage: FileStorage; valid: Bitfield }> {
  const storage = new FileStorage(meta, { dir });
  await storage.open(signal);
  const valid = await verifyStorage(storage, signal);
  for (let i = 0; i < meta.pieceCount; i++) if (!valid.has(i) && storage.has(i)) await storage.delete(i);
  return { storage, valid };
}

/** Memory storage holding whatever valid pieces `dir` has (nothing if it has none). */
async function loadIntoMemory(
  meta: Metainfo,
  dir: string,
  signal?: AbortSignal,
): Promise<{ storage: MemoryStorage; valid: Bitfield }> {
  const storage = new MemoryStorage(meta);
  await storage.open(signal);
  const disk = await openOnDisk(meta, dir, signal);
  try {
    for (const i of disk.valid.indices()) {
      const size = pieceSize(meta, i);
      await storage.write(i, Buffer.from(await disk.storage.read(i, 0, size)));
    }
  } finally {
    await disk.storage.close();
  }
  return { storage, valid: disk.valid };
}

/** Resolves on the first SIGINT or SIGTERM (and removes the handlers). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
