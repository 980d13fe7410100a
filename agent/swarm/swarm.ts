import { Bitfield } from '../peer/bitfield.js';
import { Client, makePeerId } from '../peer/client.js';
import { AbortError, throwIfAborted } from '../peer/errors.js';
import { type Logger, silentLogger } from '../peer/logger.js';
import { DEFAULT_MAX_CONCURRENT_RESPONSES, MediaServer } from '../peer/media-server/media-server.js';
import type { Link } from '../peer/net/link.js';
import { ShapedLink } from '../peer/net/shaped-link.js';
import { UNLIMITED_LINK } from '../peer/net/unlimited-link.js';
import { attachPlayer, Player, type PlayerAttachment } from '../peer/playback/index.js';
import { BoundedCache } from '../peer/storage/bounded-cache.js';
import { MemoryStorage } from '../peer/storage/memory-storage.js';
import type { RemotePeer } from '../peer/torrent/remote-peer.js';
import { Torrent, type TorrentInit } from '../peer/torrent/torrent.js';
import type { Announcer } from '../peer/tracker/announcer.js';
import { HttpAnnouncer } from '../peer/tracker/http-announcer.js';
import { type BassHandle, startBass } from '../peer/webseed/bass.js';
import { DEFAULT_WINDOW_IN_FLIGHT } from '../peer/webseed/sequential-window-policy.js';
import type { WireExtension } from '../peer/wire/extensions/wire-extension.js';
import { generateContent, type SwarmContent } from './content.js';
import { SwarmSetupError } from './errors.js';
import { type LinkSpec, type PlannedLeecher, planSwarm, type SwarmInit, type SwarmPlan } from './plan.js';
import {
  HAVE_REQUEST_KINDS,
  type MediaServerResult,
  type PeerResult,
  type PeerRole,
  type SwarmResult,
  swarmTotals,
} from './results.js';

/** Media a leecher's player buffers before it starts, unless its spec says otherwise. */
export const DEFAULT_STARTUP_BUFFER_MS = 2_000;

export interface SwarmDeps {
  readonly logger?: Logger;
  /** Wire extensions for a peer beyond the torrent's own (fresh instances per peer). */
  readonly extensions?: (peer: {
    readonly name: string;
    readonly role: PeerRole;
  }) => readonly WireExtension[];
  /** Extra TorrentInit fields for a peer (options of later features). */
  readonly torrentInit?: (peer: { readonly name: string; readonly role: PeerRole }) => Partial<TorrentInit>;
}

interface RunningPeer {
  readonly name: string;
  readonly role: PeerRole;
  readonly planned?: PlannedLeecher;
  readonly link: Link;
  readonly client: Client;
  storage?: MemoryStorage;
  torrent?: Torrent;
  player?: Player;
  attachment?: PlayerAttachment;
  cache?: BoundedCache;
  /** BASS's media-server side (leechers whose strategy is `bass`). */
  bass?: BassHandle;
  port?: number;
  joinedAt?: number;
  /** Every connection it ever had: their round trips outlive them. */
  readonly connections: RemotePeer[];
  done: boolean;
  error?: Error;
}

function linkFor(spec: LinkSpec, seed: string): Link {
  const shaped =
    spec.uploadBytesPerSecond !== undefined ||
    spec.downloadBytesPerSecond !== undefined ||
    (spec.delayMs ?? 0) > 0 ||
    (spec.jitterMs ?? 0) > 0;
  return shaped ? new ShapedLink({ ...spec, seed }) : UNLIMITED_LINK;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * An in-process swarm on 127.0.0.1: one seeder and leechers joining at their planned times (see
 * planSwarm), each peer with its own Client, memory storage, link (a ShapedLink when its spec
 * shapes anything) and seed, each leecher with a Player that joins when the leecher does and
 * whose deadlines its picker reads. Peers find each other through the tracker when `trackerUrl`
 * is set; otherwise each arriving leecher is given the seeder's and every running leecher's
 * address.
 *
 * `run` ends when every leecher has played the whole stream (or failed), or at `timeoutMs`, and
 * always tears down every peer, player, listener, link and timer — also on abort (it then rejects
 * with AbortError) and on failure.
 *
 * With a media server in the plan (`mediaServer`, or a `bass` leecher), the swarm serves the
 * content from the seeder's storage over HTTP on 127.0.0.1, and every `bass` leecher streams its
 * window from it (`startBass`, sharing the bass picker's window). The server's upload limit is
 * its own token bucket: its responses do not go through any peer's link.
 */
export class Swarm {
  readonly init: SwarmInit;
  readonly plan: SwarmPlan;
  readonly #deps: SwarmDeps;
  readonly #log: Logger;
  readonly #peers: RunningPeer[] = [];
  readonly #arrivals = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #content: SwarmContent | undefined;
  #mediaServer: MediaServer | undefined;
  #mediaServerUrl: string | undefined;
  #startedAt = 0;
  #ran = false;
  #stopped = false;
  #onProgress: () => void = () => {};

  /** Plans the swarm at once: a bad init throws SwarmInitError here. */
  constructor(init: SwarmInit, deps: SwarmDeps = {}) {
    this.init = init;
    this.plan = planSwarm(init);
    this.#deps = deps;
    this.#log = (deps.logger ?? silentLogger).child({ swarm: String(init.seed) });
  }

  /** Every peer started so far: name, role, listening port (for observation while it runs). */
  get peers(): Array<{ readonly name: string; readonly role: PeerRole; readonly port?: number }> {
    return this.#peers.map((p) => ({ name: p.name, role: p.role, port: p.port }));
  }

  /** The running peers' torrents (for observation while the swarm runs). */
  get torrents(): Torrent[] {
    return this.#peers.flatMap((p) => (p.torrent ? [p.torrent] : []));
  }

  async run(signal?: AbortSignal): Promise<SwarmResult> {
    if (this.#ran) throw new SwarmSetupError('a Swarm runs once', undefined);
    this.#ran = true;
    try {
      throwIfAborted(signal);
      this.#content = await generateContent(
        this.init.content,
        this.plan.contentSeed,
        this.init.trackerUrl,
        signal,
      );
      this.#startedAt = Date.now();
      await this.#startSeeder();
      await this.#startMediaServer(signal);
      for (const leecher of this.plan.leechers) {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#arrive(leecher);
        }, leecher.arrivalMs);
        this.#timers.add(timer);
      }
      const timedOut = await this.#waitForEnd(signal);
      return this.#results(timedOut);
    } finally {
      await this.stop();
    }
  }

  /** Tears everything down (idempotent); `run` calls it on every way out. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    // An arrival half-way through its setup finishes it first, so nothing it opens is missed.
    await Promise.allSettled([...this.#arrivals]);
    // Clients first, then the server, then the seeder whose storage it reads.
    await Promise.allSettled(this.#peers.map((p) => p.bass?.stop()));
    await this.#mediaServer?.stop();
    await Promise.allSettled(this.#peers.map((p) => this.#stopPeer(p)));
  }

  async #stopPeer(peer: RunningPeer): Promise<void> {
    await peer.bass?.stop();
    peer.cache?.stop();
    peer.attachment?.detach();
    peer.player?.stop();
    try {
      await peer.torrent?.stop();
    } finally {
      await peer.client.stop();
      peer.link.close();
      await peer.storage?.close();
    }
  }

  #arrive(planned: PlannedLeecher): void {
    const arrival = this.#startLeecher(planned).catch((err: unknown) => {
      const peer = this.#peers.find((p) => p.planned === planned);
      this.#log.warn({ peer: planned.name, err: describe(err) }, 'leecher could not join');
      if (peer) {
        peer.error = err instanceof Error ? err : new Error(String(err));
        peer.done = true;
      }
      this.#onProgress();
    });
    this.#arrivals.add(arrival);
    void arrival.finally(() => this.#arrivals.delete(arrival));
  }

  async #startSeeder(): Promise<void> {
    const { meta, data } = this.#content!;
    const s = this.plan.seeder;
    const peer: RunningPeer = {
      name: s.name,
      role: 'seeder',
      link: linkFor(s.link ?? {}, s.seed),
      client: new Client({}, { logger: this.#log }),
      connections: [],
      done: true,
    };
    this.#peers.push(peer);
    peer.storage = MemoryStorage.fromContent(meta, data);
    await peer.storage.open();
    await this.#startTorrent(peer, {
      seed: s.seed,
      have: Bitfield.full(meta.pieceCount),
      choker: s.choker,
      uploadSlots: s.uploadSlots,
      upstreamBps: s.link?.uploadBytesPerSecond,
      rangeMessages: s.rangeMessages,
    });
  }

  /** Starts the plan's media server on the seeder's storage, if there is one. */
  async #startMediaServer(signal?: AbortSignal): Promise<void> {
    const spec = this.plan.mediaServer;
    if (spec === undefined) return;
    const seeder = this.#peers.find((p) => p.role === 'seeder');
    const clients = this.plan.leechers.filter((l) => l.strategy === 'bass').length;
    const perClient = spec.maxInFlight ?? DEFAULT_WINDOW_IN_FLIGHT;
    let address: { url: string };
    try {
      this.#mediaServer = new MediaServer(
        {
          meta: this.#content!.meta,
          uploadBytesPerSecond: spec.uploadBytesPerSecond,
          uploadBurstBytes: spec.uploadBurstBytes,
          // Every bass leecher's K fetches at once must fit, or the server turns them away (503).
          maxConcurrent:
            spec.maxConcurrent ?? Math.max(DEFAULT_MAX_CONCURRENT_RESPONSES, clients * perClient),
        },
        { storage: seeder?.storage, logger: this.#log },
      );
      address = await this.#mediaServer.start({ host: '127.0.0.1' }, signal);
    } catch (err) {
      throwIfAborted(signal);
      throw new SwarmSetupError(`the media server cannot start: ${describe(err)}`, err);
    }
    this.#mediaServerUrl = address.url;
  }

  async #startLeecher(planned: PlannedLeecher): Promise<void> {
    if (this.#stopped) return;
    const { meta } = this.#content!;
    const peer: RunningPeer = {
      name: planned.name,
      role: 'leecher',
      planned,
      link: linkFor(planned.link, planned.seed),
      client: new Client({}, { logger: this.#log }),
      connections: [],
      done: false,
    };
    this.#peers.push(peer);
    // A bounded cache evicts after each store: storage takes its capacity plus the pieces in flight.
    const maxPieces = planned.cachePieces === undefined ? undefined : 2 * planned.cachePieces;
    peer.storage = new MemoryStorage(meta, { maxPieces });
    await peer.storage.open();
    // The picker reads the player's deadlines from the torrent's start; the viewer joins then.
    const player = Player.fromMeta(meta, {
      startupBufferMs: planned.startupBufferMs ?? DEFAULT_STARTUP_BUFFER_MS,
    });
    peer.player = player;
    const torrent = await this.#startTorrent(peer, {
      seed: planned.seed,
      strategy: planned.strategy,
      strategyOptions: planned.strategyOptions,
      choker: planned.choker,
      uploadSlots: planned.uploadSlots,
      upstreamBps: planned.link.uploadBytesPerSecond,
      rangeMessages: planned.rangeMessages,
      require: planned.require,
    });
    if (torrent === undefined) return;
    const finish = (): void => {
      if (peer.done) return;
      peer.done = true;
      this.#onProgress();
    };
    torrent.on('failed', (err) => {
      peer.error = err;
      finish();
    });
    if (planned.cachePieces !== undefined) {
      peer.cache = new BoundedCache(
        { capacityPieces: planned.cachePieces },
        { host: torrent, playback: player, logger: this.#log.child({ peer: peer.name }) },
      );
      peer.cache.start();
    }
    player.once('done', finish);
    peer.attachment = attachPlayer(torrent, player);
    player.start();
    if (planned.strategy === 'bass' && this.#mediaServerUrl !== undefined) {
      // The bass picker's window is the one the web seed follows (startBass shares it).
      peer.bass = startBass(
        torrent,
        { url: this.#mediaServerUrl, playback: player, maxInFlight: this.plan.mediaServer?.maxInFlight },
        { logger: this.#log.child({ peer: peer.name }) },
      );
    }
    if (this.init.trackerUrl === undefined) {
      for (const other of this.#peers) {
        if (other !== peer && other.port !== undefined) torrent.addPeer('127.0.0.1', other.port);
      }
    }
  }

  /** Listens, builds and starts a peer's torrent; undefined when the swarm stopped meanwhile. */
  async #startTorrent(
    peer: RunningPeer,
    init: Omit<TorrentInit, 'meta' | 'peerId' | 'listenPort'>,
  ): Promise<Torrent | undefined> {
    const { meta } = this.#content!;
    let port: number;
    try {
      ({ port } = await peer.client.start());
    } catch (err) {
      throw new SwarmSetupError(`${peer.name} cannot listen: ${describe(err)}`, err);
    }
    if (this.#stopped) return undefined;
    const who = { name: peer.name, role: peer.role };
    const announcers: Announcer[] =
      this.init.trackerUrl === undefined ? [] : [new HttpAnnouncer({ url: this.init.trackerUrl })];
    const torrent = new Torrent(
      {
        ...init,
        ...this.#deps.torrentInit?.(who),
        meta,
        peerId: makePeerId(init.seed),
        listenPort: port,
      },
      {
        storage: peer.storage!,
        link: peer.link,
        announcers,
        extensions: this.#deps.extensions?.(who),
        playback: peer.player,
        logger: this.#log.child({ peer: peer.name }),
      },
    );
    peer.torrent = torrent;
    torrent.on('peer', (connection) => peer.connections.push(connection));
    peer.client.add(torrent);
    torrent.start();
    peer.port = port;
    peer.joinedAt = Date.now();
    return torrent;
  }

  /** Resolves true at the timeout, false once every leecher is done; rejects on abort. */
  #waitForEnd(signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const leechers = this.plan.leechers.length;
      const finish = (timedOut: boolean): void => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#onProgress = () => {};
        resolve(timedOut);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.#onProgress = () => {};
        reject(new AbortError('swarm aborted', { cause: signal?.reason }));
      };
      const timer = setTimeout(() => finish(true), this.init.timeoutMs);
      this.#timers.add(timer);
      this.#onProgress = () => {
        const done = this.#peers.filter((p) => p.role === 'leecher' && p.done).length;
        if (done >= leechers) finish(false);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#onProgress();
    });
  }

  #results(timedOut: boolean): SwarmResult {
    const content = this.#content!;
    const peers = [...this.#peers].sort((a, b) => (a.planned?.index ?? -1) - (b.planned?.index ?? -1));
    const results = peers.map((p) => this.#peerResult(p));
    return {
      plan: this.plan,
      infoHash: content.meta.infoHashHex,
      pieceCount: content.meta.pieceCount,
      durationMs: Date.now() - this.#startedAt,
      timedOut,
      peers: results,
      totals: swarmTotals(this.plan.leechers.length, results),
      ...(this.#mediaServer === undefined ? {} : { mediaServer: this.#mediaServerResult(this.#mediaServer) }),
    };
  }

  #mediaServerResult(server: MediaServer): MediaServerResult {
    const stats = server.stats;
    return {
      url: this.#mediaServerUrl ?? '',
      uploadBytesPerSecond: this.plan.mediaServer?.uploadBytesPerSecond,
      clients: this.plan.leechers.filter((l) => l.strategy === 'bass').length,
      requests: stats.requests,
      bytesServed: stats.bytesServed,
      errors: stats.errors,
      rejected: stats.rejected,
      aborted: stats.aborted,
    };
  }

  #peerResult(p: RunningPeer): PeerResult {
    const t = p.torrent;
    const rtts = p.connections.flatMap((c) => (c.rttMs === undefined ? [] : [c.rttMs]));
    const link =
      p.link instanceof ShapedLink
        ? { kind: p.link.name, sentBytes: p.link.sentBytes, receivedBytes: p.link.receivedBytes }
        : { kind: p.link.name };
    return {
      name: p.name,
      role: p.role,
      strategy: p.planned?.strategy,
      arrivalMs: p.planned?.arrivalMs ?? 0,
      joinedAtMs: p.joinedAt === undefined ? undefined : p.joinedAt - this.#startedAt,
      completed: t?.complete ?? false,
      completionMs:
        t?.completedAt !== undefined && p.joinedAt !== undefined && p.role === 'leecher'
          ? t.completedAt - p.joinedAt
          : undefined,
      finishedPlaying: p.player === undefined ? undefined : p.player.state === 'done',
      playback: p.attachment?.metrics(),
      downloadedBytes: t?.downloaded ?? 0,
      uploadedBytes: t?.uploaded ?? 0,
      wastedBytes: t?.wastedBytes ?? 0,
      evictedPieces: p.cache?.evicted,
      bytesBySource: { ...(t?.bytesBySource ?? { peer: 0, seed: 0, 'media-server': 0 }) },
      messages: t?.stats.snapshot() ?? { in: {}, out: {} },
      haveRequestBytes: t?.stats.bytesOf('out', HAVE_REQUEST_KINDS) ?? 0,
      meanRttMs: rtts.length > 0 ? rtts.reduce((a, b) => a + b, 0) / rtts.length : undefined,
      link,
      error: p.error?.message,
    };
  }
}

/** Runs a swarm to its end (see Swarm). */
export function runSwarm(init: SwarmInit, signal?: AbortSignal, deps?: SwarmDeps): Promise<SwarmResult> {
  return new Swarm(init, deps).run(signal);
}
