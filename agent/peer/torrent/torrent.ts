import { EventEmitter, setMaxListeners } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { MessageStats } from '../accounting/message-stats.js';
import { asDict, asInt, decode, encode, isDict } from '../bencode/index.js';
import { Bitfield } from '../bitfield.js';
import { type Choker, RECHOKE_INTERVAL_MS } from '../choker/choker.js';
import { type ChokerName, createChoker } from '../choker/index.js';
import { AbortError, SeedstreamError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Metainfo } from '../metainfo/types.js';
import type { Link } from '../net/link.js';
import { UNLIMITED_LINK } from '../net/unlimited-link.js';
import { createPicker } from '../picker/index.js';
import type { BlockRef, PiecePicker } from '../picker/piece-picker.js';
import { type PieceDownload, PieceTable } from '../picker/piece-table.js';
import type { PlaybackView } from '../playback/playback-view.js';
import { Random, type Seed } from '../random.js';
import { pieceHash, type Storage } from '../storage/storage.js';
import type { AnnounceEvent, Announcer } from '../tracker/announcer.js';
import { allowedFastSet } from '../wire/allowed-fast.js';
import { BLOCK_LENGTH, MAX_REQUEST_LENGTH } from '../wire/constants.js';
import { encodeHandshake, reservedBytes } from '../wire/encoder.js';
import {
  BadMessageError,
  BadRequestError,
  FloodError,
  HashFailureError,
  InfoHashMismatchError,
  ProtocolError,
  SelfConnectionError,
  TimeoutError,
} from '../wire/errors.js';
import { ExtensionRegistry } from '../wire/extensions/extension-registry.js';
import { DontHaveExtension, encodeDontHave, LT_DONTHAVE } from '../wire/extensions/lt-donthave.js';
import {
  encodeQosMessage,
  type PeerQos,
  QosExtension,
  type QosRequirement,
  SS_QOS,
} from '../wire/extensions/qos.js';
import {
  encodeRange,
  HAVE_FRAME_LENGTH,
  type PieceRun,
  pieceRuns,
  RANGE_FRAME_LENGTH,
  RangeExtension,
  SS_RANGE,
} from '../wire/extensions/range.js';
import type { ExtensionPeer, WireExtension } from '../wire/extensions/wire-extension.js';
import { type Handshake, readHandshake } from '../wire/handshake.js';
import { InlineHasher, type PieceHasher } from './piece-hasher.js';
import { MAX_PIPELINE, MIN_PIPELINE, type PeerHost, PIPELINE_SECONDS, RemotePeer } from './remote-peer.js';

export const CONNECT_TIMEOUT_MS = 10_000;
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Send a keep-alive when we wrote nothing for this long. */
export const KEEPALIVE_INTERVAL_MS = 90_000;
/** Close a connection that sent nothing for this long. */
export const IDLE_TIMEOUT_MS = 180_000;
/** Give up on a requested block after this long and let another peer have it. */
export const REQUEST_TIMEOUT_MS = 30_000;
export const MAINTENANCE_INTERVAL_MS = 2_000;
export const DEFAULT_MAX_CONNECTIONS = 50;
/** Requests we queue per peer; advertised as `reqq` (libtorrent's default is 500, its max 2000). */
export const MAX_QUEUED_REQUESTS = 2_000;
/** Blocks a peer may send us unasked before it counts as flooding. */
export const MAX_UNREQUESTED_BLOCKS = 256;
/** Hash failures a peer may take part in before we drop it. */
export const MAX_HASH_FAILURES = 3;
/** Measured delays reported to trackers (the `ss_delay` extension accepts at most 200). */
const MAX_DELAY_REPORTS = 200;
/** A delay measured this long ago is no longer reported. */
const DELAY_REPORT_TTL_MS = 600_000;
/** Announce timeout per tracker request. */
export const ANNOUNCE_TIMEOUT_MS = 15_000;
/** Outbound connections read into this (one read at a time on the main thread; consumed at once). */
const SHARED_READ_BUFFER = Buffer.allocUnsafe(1_048_576);
/** Distinct pieces a serving peer loads from storage in parallel. */
const SERVE_PREFETCH_PIECES = 4;
/** Fewer missing blocks than this: refill a pipeline at once rather than in batches. */
const REQUEST_BATCH = 8;
/** Bytes sent to a peer before its measured upload rate is trusted for response-delay estimates. */
const RATE_SAMPLE_MIN_BYTES = 16 * BLOCK_LENGTH;
/** Smallest pipeline when we declared a max response delay (a deeper one would be rejected). */
const MIN_DEADLINE_PIPELINE = 2;
/** Re-tune the pipeline depth every this many blocks. */
const PIPELINE_TUNE_BLOCKS = 16;

export class StorageFailureError extends SeedstreamError {
  constructor(message: string, cause: unknown) {
    super('ERR_STORAGE_FAILURE', message, { cause });
  }
}

export interface TorrentInit {
  readonly meta: Metainfo;
  readonly peerId: Buffer;
  /** Seed of every random choice this torrent makes (picker, choker). */
  readonly seed: Seed;
  /** Piece-selection strategy name (see picker/index.ts); default `rarest-first`. */
  readonly strategy?: string;
  readonly strategyOptions?: Readonly<Record<string, unknown>>;
  /** Pieces already present in storage (seeding or resume). */
  readonly have?: Bitfield;
  readonly maxConnections?: number;
  readonly uploadSlots?: number;
  /** Offer BEP 6 (default true). */
  readonly fast?: boolean;
  /** Offer BEP 10 (default true). */
  readonly extensionProtocol?: boolean;
  /** The port we accept connections on: announced and sent as `p`. */
  readonly listenPort?: number;
  /** `v` in our extended handshake. */
  readonly clientName?: string;
  /** Our upstream capacity in bytes/s, reported to trackers that understand it. */
  readonly upstreamBps?: number;
  /** Speak `ss_range` (range have / nohave / request) with peers that do; default true. */
  readonly rangeMessages?: boolean;
  /**
   * How long haves for `ss_range` peers are gathered into runs: 0 (default) sends them at the end
   * of the event-loop turn; longer coalesces longer runs at the cost of announcing pieces later.
   */
  readonly rangeHaveDelayMs?: number;
  /** The paper's `require`, declared to peers in `ss_qos` (extended handshake, then updates). */
  readonly require?: QosRequirement;
  /** Choker by name (see choker/index.ts) unless `TorrentDeps.choker` is given; default `tit-for-tat`. */
  readonly choker?: ChokerName;
}

export interface TorrentDeps {
  readonly storage: Storage;
  readonly announcers?: readonly Announcer[];
  readonly choker?: Choker;
  readonly extensions?: readonly WireExtension[];
  readonly logger?: Logger;
  /** Verifies pieces; default: inline on this thread. Share one WorkerHasher across torrents. */
  readonly hasher?: PieceHasher;
  /** The player this download feeds (streaming strategies read its deadlines). */
  readonly playback?: PlaybackView;
  /** Shapes the peer-wire traffic (one link per peer, shared by its torrents); default unlimited. */
  readonly link?: Link;
}

/** Where downloaded payload came from: peers, peers that are seeds, or a media server (web seed). */
export type ByteSource = 'peer' | 'seed' | 'media-server';

export interface PeerClosedEvent {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly error?: Error;
}

export interface TorrentEvents {
  piece: [index: number];
  complete: [];
  peer: [peer: RemotePeer];
  'peer-closed': [event: PeerClosedEvent];
  /** A peer dropped pieces it had announced (lt_donthave / range nohave); availability is updated. */
  nohave: [peer: RemotePeer, pieces: readonly number[]];
  /** A peer declared or changed its `ss_qos` values (now in `peer.qos`). */
  'peer-qos': [peer: RemotePeer];
  'hash-failure': [event: { piece: number; contributors: string[] }];
  failed: [error: Error];
  warning: [error: Error];
}

/**
 * One torrent in one peer: its connections, the download (picker, piece assembly, verification),
 * the upload (request serving, choking) and its trackers.
 *
 * A misbehaving remote peer never throws out of here: its connection is logged, accounted in
 * `protocolErrors` and closed.
 */
export class Torrent extends EventEmitter<TorrentEvents> implements PeerHost {
  readonly meta: Metainfo;
  readonly peerId: Buffer;
  readonly stats = new MessageStats();
  readonly table: PieceTable;
  readonly picker: PiecePicker;
  readonly choker: Choker;
  readonly storage: Storage;
  readonly random: Random;
  /** What every connection's traffic goes through. */
  readonly link: Link;
  readonly extensionRegistry = new ExtensionRegistry();
  /** Pieces written to storage and announced: what we serve. */
  readonly stored: Bitfield;
  readonly #everStored: Bitfield;
  readonly #announcers: readonly Announcer[];
  readonly #hasher: PieceHasher;
  readonly #log: Logger;
  readonly #init: TorrentInit;
  readonly #peers = new Map<string, RemotePeer>();
  /**
   * Blocks being copied into their piece buffer right now (block key -> peer id). One writer per
   * block: the decoder keeps the sink until the block's last byte, so a second writer could still
   * scribble into the buffer after the piece verified and went to storage.
   */
  readonly #receiving = new Map<number, string>();
  readonly #connecting = new Set<string>();
  /** Addresses learnt from trackers or the user, to (re)connect to while below the limit. */
  readonly #known = new Map<
    string,
    { host: string; port: number; failures: number; retryAt: number; seed?: boolean }
  >();
  readonly #selfAddresses = new Set<string>();
  /** Delays measured to peers' listening endpoints, oldest first, for the tracker extension. */
  readonly #delays = new Map<string, { host: string; port: number; delayMs: number; at: number }>();
  readonly #reserved: Buffer;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #abort = new AbortController();
  /** We speak `ss_range` (TorrentInit.rangeMessages). */
  readonly #rangeMessages: boolean;
  /** Pieces stored since the last have flush, announced to `ss_range` peers as runs. */
  readonly #pendingHaves: number[] = [];
  #haveFlushScheduled = false;
  /** Storage reads in flight per peer being served: part of its queue for response-delay estimates. */
  /** What we declare in `ss_qos`. */
  #localQos: PeerQos;
  readonly #extendedHandshakeSeen = new WeakSet<RemotePeer>();
  /** Peers whose extended handshake was still to come when our `ss_qos` values changed. */
  readonly #qosUpdateOwed = new WeakSet<RemotePeer>();
  #rechokeScheduled = false;
  #nextPeerNumber = 0;
  #started = false;
  #stopped = false;
  #failure: Error | undefined;
  #completeEmitted = false;
  downloaded = 0;
  uploaded = 0;
  /** Verified-or-not payload bytes received, by source. */
  readonly bytesBySource: Record<ByteSource, number> = { peer: 0, seed: 0, 'media-server': 0 };
  wastedBytes = 0;
  protocolErrors = 0;
  hashFailures = 0;
  readonly startedAt = Date.now();
  completedAt: number | undefined;
  firstPayloadAt: number | undefined;

  constructor(init: TorrentInit, deps: TorrentDeps) {
    super();
    this.#init = init;
    this.meta = init.meta;
    this.peerId = init.peerId;
    this.storage = deps.storage;
    this.random = new Random(init.seed);
    this.#log = (deps.logger ?? silentLogger).child({ torrent: init.meta.infoHashHex.slice(0, 8) });
    this.#announcers = deps.announcers ?? [];
    // Every pending outbound handshake listens on the torrent's abort signal (and removes its
    // listener when done): dozens at once are expected, not a leak.
    setMaxListeners((init.maxConnections ?? DEFAULT_MAX_CONNECTIONS) + 16, this.#abort.signal);
    this.#hasher = deps.hasher ?? new InlineHasher();
    const have = init.have?.clone() ?? new Bitfield(init.meta.pieceCount);
    this.stored = have.clone();
    this.#everStored = have.clone();
    this.table = new PieceTable({
      pieceCount: init.meta.pieceCount,
      pieceLength: init.meta.pieceLength,
      length: init.meta.length,
      have,
    });
    this.picker = createPicker(init.strategy ?? 'rarest-first', {
      table: this.table,
      random: this.random.fork('picker'),
      options: init.strategyOptions,
      playback: deps.playback,
      peers: () => [...this.#peers.values()].filter((p) => !p.closed),
    });
    this.choker =
      deps.choker ??
      createChoker(init.choker ?? 'tit-for-tat', {
        random: this.random.fork('choker'),
        uploadSlots: init.uploadSlots,
        uploadCapacityBytesPerSecond: init.upstreamBps,
      });
    this.link = deps.link ?? UNLIMITED_LINK;
    this.#rangeMessages = init.rangeMessages ?? true;
    this.#localQos = { ...init.require, upstreamBytesPerSec: init.upstreamBps };
    this.#registerStreamingExtensions();
    for (const ext of deps.extensions ?? []) this.extensionRegistry.register(ext);
    this.#reserved = reservedBytes({ extensions: init.extensionProtocol ?? true, fast: init.fast ?? true });
  }

  get pieceCount(): number {
    return this.meta.pieceCount;
  }

  get complete(): boolean {
    return this.stored.complete;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  get peers(): RemotePeer[] {
    return [...this.#peers.values()];
  }

  /** Bytes still missing. */
  get left(): number {
    let left = 0;
    for (let i = 0; i < this.pieceCount; i++) if (!this.stored.has(i)) left += this.table.pieceSize(i);
    return left;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#timers.push(setInterval(() => this.#rechoke(), RECHOKE_INTERVAL_MS));
    this.#timers.push(setInterval(() => this.#maintain(), MAINTENANCE_INTERVAL_MS));
    for (const t of this.#timers) t.unref();
    if (this.complete) this.#markComplete();
    for (const announcer of this.#announcers) void this.#announceLoop(announcer);
  }

  /** Closes every connection, sends `stopped` to the trackers (bounded wait) and stops timers. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#abort.abort(new AbortError('torrent stopped'));
    for (const peer of this.#peers.values()) this.closePeer(peer);
    if (this.#started) {
      await Promise.allSettled(
        this.#announcers.map((a) => this.#announceOnce(a, 'stopped', AbortSignal.timeout(3_000))),
      );
    }
  }

  /** Resolves once every piece is verified and stored; rejects when the torrent fails or on abort. */
  whenComplete(signal?: AbortSignal): Promise<void> {
    if (this.complete) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.off('complete', onComplete);
        this.off('failed', onFailed);
        signal?.removeEventListener('abort', onAbort);
      };
      const onComplete = (): void => {
        cleanup();
        resolve();
      };
      const onFailed = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onAbort = (): void => {
        cleanup();
        reject(new AbortError('waiting for completion aborted', { cause: signal?.reason }));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.on('complete', onComplete);
      this.on('failed', onFailed);
    });
  }

  /** Remembers a peer address and connects to it when a connection slot is free. */
  addPeer(host: string, port: number): void {
    if (this.#stopped || port <= 0 || port > 65_535) return;
    const key = addressKey(host, port);
    if (this.#selfAddresses.has(key)) return;
    if (!this.#known.has(key)) this.#known.set(key, { host, port, failures: 0, retryAt: 0 });
    this.#connectKnown();
  }

  /** Addresses we know of (from trackers or `addPeer`), with what we learnt about them. */
  knownPeers(): Array<{ host: string; port: number; failures: number; seed: boolean }> {
    return [...this.#known.values()].map((k) => ({
      host: k.host,
      port: k.port,
      failures: k.failures,
      seed: k.seed ?? false,
    }));
  }

  /** Our own listening address: never connect to it. */
  addSelfAddress(host: string, port: number): void {
    this.#selfAddresses.add(addressKey(host, port));
  }

  get #connectionCount(): number {
    return this.#peers.size + this.#connecting.size;
  }

  #connectKnown(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const max = this.#init.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    for (const [key, addr] of this.#known) {
      if (this.#connectionCount >= max) return;
      if (this.#connecting.has(key) || this.#isConnectedTo(key) || addr.retryAt > now) continue;
      // Two seeds have nothing to exchange: once complete, known seeds are not dialled again.
      if (addr.seed && this.complete) continue;
      void this.#connectOutbound(addr.host, addr.port);
    }
  }

  #isConnectedTo(key: string): boolean {
    for (const peer of this.#peers.values()) {
      if (addressKey(peer.host, peer.port) === key) return true;
      if (peer.listenPort !== undefined && addressKey(peer.host, peer.listenPort) === key) return true;
    }
    return false;
  }

  async #connectOutbound(host: string, port: number): Promise<void> {
    const key = addressKey(host, port);
    this.#connecting.add(key);
    // Outbound sockets read into one shared buffer (no allocation per read); whoever owns the
    // connection at the moment (handshake reader, then the peer) consumes each chunk synchronously.
    let route: (chunk: Buffer) => void = () => {};
    // A link that holds chunks (a shaped link's delay line) needs owned buffers: plain reads.
    const sharedReads = !this.link.holdsChunks;
    const socket = netConnect({
      host,
      port,
      onread: sharedReads
        ? {
            buffer: SHARED_READ_BUFFER,
            callback: (bytes: number, buf: Uint8Array) => {
              route(Buffer.from(buf.buffer, buf.byteOffset, bytes));
              return true;
            },
          }
        : undefined,
    });
    socket.setNoDelay(true);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new TimeoutError(`connect to ${key} timed out after ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        );
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      socket.write(encodeHandshake(this.meta.infoHash, this.peerId, this.#reserved));
      const { handshake, rest } = await readHandshake(
        socket,
        HANDSHAKE_TIMEOUT_MS,
        this.#abort.signal,
        sharedReads
          ? (onChunk) => {
              route = onChunk;
              return () => {
                route = () => {};
              };
            }
          : undefined,
      );
      if (!handshake.infoHash.equals(this.meta.infoHash)) {
        throw new InfoHashMismatchError(this.meta.infoHashHex, handshake.infoHash.toString('hex'));
      }
      if (handshake.peerId.equals(this.peerId)) {
        this.#selfAddresses.add(key);
        this.#known.delete(key);
        throw new SelfConnectionError();
      }
      this.#connecting.delete(key);
      const known = this.#known.get(key);
      if (known) known.failures = 0;
      const peer = this.#attach(socket, host, port, handshake, rest, false, sharedReads);
      if (peer && sharedReads) route = (chunk) => peer.receive(chunk, true);
    } catch (err) {
      this.#connecting.delete(key);
      // The remote hung up (or the socket failed) mid-handshake: a lost connection, not a protocol
      // fault (libtorrent drops a duplicate or surplus connection this way).
      const lost = socket.destroyed;
      socket.destroy();
      const known = this.#known.get(key);
      if (known) {
        known.failures++;
        // Back off exponentially, up to five minutes.
        known.retryAt = Date.now() + Math.min(300_000, 1_000 * 2 ** known.failures);
      }
      if (err instanceof ProtocolError && !lost) this.protocolErrors++;
      if (!(err instanceof AbortError))
        this.#log.debug({ peer: key, err: describe(err) }, 'outbound connection failed');
    }
  }

  /**
   * An inbound connection whose handshake named this torrent (read by the Client). We answer
   * with our handshake and take the connection over.
   */
  acceptInbound(socket: Socket, handshake: Handshake, rest: Buffer): void {
    const host = normaliseHost(socket.remoteAddress ?? '?');
    const port = socket.remotePort ?? 0;
    if (this.#stopped || handshake.peerId.equals(this.peerId)) {
      socket.destroy();
      return;
    }
    if (this.#peers.size >= (this.#init.maxConnections ?? DEFAULT_MAX_CONNECTIONS) + 5) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.write(encodeHandshake(this.meta.infoHash, this.peerId, this.#reserved));
    this.#attach(socket, host, port, handshake, rest, true);
  }

  #attach(
    socket: Socket,
    host: string,
    port: number,
    handshake: Handshake,
    rest: Buffer,
    inbound: boolean,
    sharedReads = false,
  ): RemotePeer | undefined {
    for (const other of this.#peers.values()) {
      if (other.peerId.equals(handshake.peerId)) {
        // Both sides dialled each other: keep the older connection.
        socket.destroy();
        return undefined;
      }
    }
    const fast = handshake.fast && (this.#init.fast ?? true);
    const extensions = handshake.extensions && (this.#init.extensionProtocol ?? true);
    const peer = new RemotePeer(this, {
      id: `${addressKey(host, port)}#${this.#nextPeerNumber++}`,
      socket,
      host,
      port,
      handshake,
      inbound,
      fast,
      extensions,
      now: Date.now(),
      link: this.link,
    });
    this.#peers.set(peer.id, peer);
    peer.stats.recordOut(0, 68); // kind 0 = handshake
    peer.stats.recordIn(0, 68);
    // Sockets reading into the shared buffer deliver through their `onread` route instead.
    const link = this.link;
    const deliver = (chunk: Buffer): void => peer.receive(chunk);
    if (link.holdsChunks) socket.on('data', (chunk: Buffer) => link.receive(socket, chunk, deliver));
    else if (!sharedReads) socket.on('data', deliver);
    socket.on('error', (err) => this.closePeer(peer, err));
    socket.on('close', () => this.closePeer(peer));
    // The first message: what we have.
    if (fast && this.stored.complete) peer.writer.haveAll();
    else if (fast && this.stored.empty) peer.writer.haveNone();
    else peer.writer.bitfield(this.stored.bytes);
    if (extensions) this.#sendExtendedHandshake(peer);
    if (fast) {
      for (const index of allowedFastSet(host, this.meta.infoHash, this.pieceCount)) {
        if (!this.stored.has(index)) continue;
        peer.allowedFastOut.add(index);
        peer.writer.allowedFast(index);
      }
    }
    this.#log.debug({ peer: peer.id, inbound, fast, extensions }, 'peer connected');
    this.emit('peer', peer);
    if (rest.length > 0) link.receive(socket, rest, deliver);
    socket.resume();
    this.#scheduleRechoke();
    return peer;
  }

  #sendExtendedHandshake(peer: RemotePeer): void {
    const fields: Record<string, unknown> = {};
    for (const ext of this.extensionRegistry.extensions) Object.assign(fields, ext.handshakeFields?.() ?? {});
    const handshake = {
      ...(fields as Record<string, never>),
      m: this.extensionRegistry.handshakeM(),
      v: this.#init.clientName ?? 'seedstream',
      p: this.#init.listenPort,
      reqq: MAX_QUEUED_REQUESTS,
    };
    peer.writer.extended(0, encode(handshake), 0);
  }

  closePeer(peer: RemotePeer, error?: Error): void {
    if (peer.closed) return;
    peer.closed = true;
    this.#rememberDelay(peer);
    peer.decoder.destroy();
    peer.socket.destroy();
    this.#peers.delete(peer.id);
    this.table.removePeerPieces(peer.have);
    for (const key of peer.outstanding.keys()) {
      this.table.release(RemotePeer.pieceOfKey(key), RemotePeer.beginOfKey(key), peer.id);
    }
    peer.outstanding.clear();
    for (const [key, id] of this.#receiving) if (id === peer.id) this.#receiving.delete(key);
    peer.requestQueue.length = 0;
    for (const ext of this.extensionRegistry.extensions) ext.onClose?.(peer);
    if (error instanceof ProtocolError) {
      this.protocolErrors++;
      this.#log.warn(
        { peer: peer.id, code: error.code, err: error.message },
        'peer misbehaved; disconnected',
      );
    } else if (error !== undefined && (error as NodeJS.ErrnoException).code === undefined) {
      // Not a socket error and not the remote's fault: a bug of ours, made loud.
      this.#log.error(
        { peer: peer.id, err: error.stack ?? describe(error) },
        'internal error on a connection',
      );
    } else if (error !== undefined) {
      this.#log.debug({ peer: peer.id, err: describe(error) }, 'peer connection failed');
    }
    if (!peer.inbound) {
      const known = this.#known.get(addressKey(peer.host, peer.port));
      if (known) {
        if (error !== undefined) known.failures++;
        known.retryAt = Date.now() + Math.min(300_000, 1_000 * 2 ** Math.max(1, known.failures));
      }
    }
    this.emit('peer-closed', { id: peer.id, host: peer.host, port: peer.port, error });
    if (!peer.amChoking) this.#scheduleRechoke();
    // Other peers may now get the blocks this one held.
    if (!this.#stopped) {
      for (const other of this.#peers.values()) this.#requestMore(other);
      this.#connectKnown();
    }
  }

  // ---- PeerHost: availability and interest ----

  kindOfLocalExtensionId(id: number): number {
    return this.extensionRegistry.kindOfLocalId(id);
  }

  onBitfield(peer: RemotePeer): void {
    this.table.addPeerPieces(peer.have);
    if (this.#bothSeeds(peer)) return;
    this.#updateInterest(peer);
  }

  onHave(peer: RemotePeer, index: number): void {
    this.table.addPeerPiece(index, peer.have);
    if (this.#bothSeeds(peer)) return;
    if (!peer.amInterested && this.table.needs(index)) this.#updateInterest(peer);
    this.#requestMore(peer);
  }

  /** Two seeds have nothing to say to each other. */
  #bothSeeds(peer: RemotePeer): boolean {
    if (!(this.complete && peer.seed)) return false;
    for (const port of [peer.listenPort, peer.inbound ? undefined : peer.port]) {
      const known = port === undefined ? undefined : this.#known.get(addressKey(peer.host, port));
      if (known) known.seed = true;
    }
    this.closePeer(peer);
    return true;
  }

  #updateInterest(peer: RemotePeer): void {
    const interested = this.#wantsFrom(peer);
    if (interested === peer.amInterested) return;
    peer.amInterested = interested;
    if (interested) {
      peer.writer.interested();
      this.#requestMore(peer);
    } else {
      peer.writer.notInterested();
    }
  }

  /** The peer has a piece we still need. */
  #wantsFrom(peer: RemotePeer): boolean {
    const table = this.table;
    if (table.have.count === table.pieceCount) return false;
    const theirs = peer.have.bytes;
    const ours = table.have.bytes;
    const wanted = table.wanted.bytes;
    for (let i = 0; i < theirs.length; i++) if ((theirs[i] & ~ours[i] & wanted[i]) !== 0) return true;
    return false;
  }

  onChoked(peer: RemotePeer): void {
    // Without BEP 6 a choke discards our requests; with it the peer rejects them explicitly.
    if (!peer.fast) this.#releaseAll(peer);
  }

  onUnchoked(peer: RemotePeer): void {
    this.#requestMore(peer);
  }

  onInterestChanged(peer: RemotePeer): void {
    if (peer.peerInterested || !peer.amChoking) this.#scheduleRechoke();
  }

  onAllowedFast(peer: RemotePeer, index: number): void {
    if (!this.table.needs(index)) return;
    if (!peer.amInterested) this.#updateInterest(peer);
    this.#requestMore(peer);
  }

  #releaseAll(peer: RemotePeer): void {
    for (const key of peer.outstanding.keys()) {
      this.table.release(RemotePeer.pieceOfKey(key), RemotePeer.beginOfKey(key), peer.id);
    }
    peer.outstanding.clear();
  }

  // ---- PeerHost: downloading ----

  #requestMore(peer: RemotePeer): void {
    if (peer.closed || !peer.amInterested || this.#stopped) return;
    const choked = peer.peerChoking;
    if (choked && peer.allowedFastIn.size === 0) return;
    const target = Math.min(peer.pipelineTarget, peer.remoteRequestQueue);
    const deficit = target - peer.outstanding.size;
    if (deficit <= 0) return;
    if (peer.outstanding.size > 0 && deficit < this.#requestBatch(peer, target)) return;
    const blocks = this.picker.pick(peer, deficit, choked ? { onlyPieces: peer.allowedFastIn } : undefined);
    if (blocks.length === 0) {
      if (peer.outstanding.size === 0) this.#updateInterest(peer);
      return;
    }
    const now = Date.now();
    // Nothing else outstanding: this request's answer measures the round trip (RttEstimator).
    if (peer.outstanding.size === 0)
      peer.rtt.probe(RemotePeer.blockKey(blocks[0].piece, blocks[0].begin), now);
    for (const b of blocks) peer.outstanding.set(RemotePeer.blockKey(b.piece, b.begin), now);
    if (this.#speaksRange(peer)) this.#sendRangeRequests(peer, blocks);
    else peer.writer.requests(blocks);
  }

  onPieceStart(peer: RemotePeer, index: number, begin: number, length: number): Uint8Array | null {
    const key = RemotePeer.blockKey(index, begin);
    if (!peer.outstanding.has(key)) {
      peer.unrequestedBlocks++;
      if (peer.unrequestedBlocks > MAX_UNREQUESTED_BLOCKS) {
        throw new FloodError(`${peer.unrequestedBlocks} blocks sent that we never requested`);
      }
      return null;
    }
    const dl = this.table.sinkFor(index, begin, length);
    // An end-game duplicate arriving while another peer is still delivering the block is dropped.
    if (dl === undefined || this.#receiving.has(key)) return null;
    this.#receiving.set(key, peer.id);
    return dl.buffer;
  }

  onPieceEnd(
    peer: RemotePeer,
    index: number,
    begin: number,
    length: number,
    target: Uint8Array | null,
  ): void {
    const key = RemotePeer.blockKey(index, begin);
    if (target === null) {
      // Counted once the block is in, like the message accounting.
      this.wastedBytes += length;
      // A requested block we could not take goes back to the table, or it stays requested forever.
      if (peer.outstanding.delete(key)) this.table.release(index, begin, peer.id);
      this.#requestMore(peer);
      return;
    }
    this.#receiving.delete(key);
    peer.outstanding.delete(key);
    const others = this.table.markReceived(index, begin, peer.id);
    if (others === undefined) {
      this.wastedBytes += length;
      return;
    }
    const now = Date.now();
    this.firstPayloadAt ??= now;
    peer.download.add(length, now);
    peer.lastBlockAt = now;
    this.downloaded += length;
    this.bytesBySource[peer.seed ? 'seed' : 'peer'] += length;
    for (const id of others) {
      const other = this.#peers.get(id);
      if (other === undefined || !other.outstanding.delete(key)) continue;
      other.writer.cancel(index, begin, length);
    }
    const dl = this.table.downloads.get(index);
    if (dl?.complete) this.#finishPiece(dl);
    if (peer.download.total % (PIPELINE_TUNE_BLOCKS * BLOCK_LENGTH) < length) this.#tunePipeline(peer, now);
    this.#requestMore(peer);
  }

  // ---- sources outside the peer wire (BEP 19 web seeds, a BASS media server) ----

  /**
   * Claims every free block of a needed piece for an external source (identified by `sourceId`),
   * so peers do not request it meanwhile. Returns false when the piece is not needed or fully
   * claimed already.
   */
  claimExternal(sourceId: string, index: number): boolean {
    if (index < 0 || index >= this.pieceCount) return false;
    const claimed: BlockRef[] = [];
    return this.table.claim(index, sourceId, Number.MAX_SAFE_INTEGER, claimed) > 0;
  }

  /** Gives back what `claimExternal` took (the fetch failed or was abandoned). */
  releaseExternal(sourceId: string, index: number): void {
    const dl = this.table.downloads.get(index);
    if (dl === undefined) return;
    for (let b = 0; b < dl.blockCount; b++) this.table.release(index, b * BLOCK_LENGTH, sourceId);
    for (const peer of this.#peers.values()) this.#requestMore(peer);
  }

  /**
   * A whole piece fetched by an external source. Blocks not yet received are taken (peers still
   * requesting them are cancelled), accounted to `source`, and the piece is verified as usual.
   * Returns false when the data does not fit the piece (wrong size) or the piece is not wanted.
   */
  deliverExternal(sourceId: string, source: ByteSource, index: number, data: Uint8Array): boolean {
    const dl = this.table.downloads.get(index);
    if (dl === undefined || data.length !== dl.size) {
      this.releaseExternal(sourceId, index);
      return false;
    }
    let taken = 0;
    for (let b = 0; b < dl.blockCount; b++) {
      const begin = b * BLOCK_LENGTH;
      const length = dl.blockLength(b);
      const key = RemotePeer.blockKey(index, begin);
      if (this.#receiving.has(key)) continue; // a peer is writing this block right now
      dl.buffer.set(data.subarray(begin, begin + length), begin);
      const others = this.table.markReceived(index, begin, sourceId);
      if (others === undefined) continue;
      taken += length;
      for (const id of others) {
        const other = this.#peers.get(id);
        if (other === undefined || !other.outstanding.delete(key)) continue;
        other.writer.cancel(index, begin, length);
      }
    }
    const now = Date.now();
    this.firstPayloadAt ??= now;
    this.downloaded += taken;
    this.bytesBySource[source] += taken;
    if (dl.complete) this.#finishPiece(dl);
    return true;
  }

  #tunePipeline(peer: RemotePeer, now: number): void {
    const blocksPerSecond = peer.download.rate(now) / BLOCK_LENGTH;
    let target = Math.ceil(blocksPerSecond * PIPELINE_SECONDS);
    let floor = MIN_PIPELINE;
    const maxDelayMs = this.#localQos.maxDelayMs;
    if (maxDelayMs !== undefined) {
      // We declared a max response delay: queue no more than the peer sends in that time, or it
      // rejects the rest.
      target = Math.min(target, Math.ceil((blocksPerSecond * maxDelayMs) / 1000));
      floor = MIN_DEADLINE_PIPELINE;
    }
    peer.pipelineTarget = Math.max(floor, Math.min(MAX_PIPELINE, target));
  }

  #finishPiece(dl: PieceDownload): void {
    const index = dl.index;
    // While hashing, the download stays in the table with every block received, so nothing
    // requests or writes into it (a worker hasher has the buffer meanwhile).
    this.#hasher.hash(dl.buffer).then(
      ({ digest, data }) => {
        if (this.#stopped) return;
        if (!digest.equals(pieceHash(this.meta, index))) {
          this.#hashFailed(dl);
          return;
        }
        this.table.completePiece(index);
        return this.storage.write(index, data).then(
          () => {
            if (!this.storage.keepsWrittenData) this.table.pool.give(data);
            this.#pieceStored(index);
          },
          (err: unknown) =>
            this.#fail(new StorageFailureError(`could not store piece ${index}: ${describe(err)}`, err)),
        );
      },
      (err: unknown) => {
        if (!this.#stopped)
          this.#fail(new StorageFailureError(`could not hash piece ${index}: ${describe(err)}`, err));
      },
    );
  }

  #pieceStored(index: number): void {
    if (this.#stopped) return;
    this.stored.set(index);
    this.#everStored.set(index);
    let rangePeers = false;
    for (const peer of this.#peers.values()) {
      // `ss_range` peers get this piece in a run with its neighbours, at the end of the turn.
      if (this.#speaksRange(peer)) rangePeers = true;
      else peer.writer.have(index);
      if (peer.amInterested && !this.#wantsFrom(peer)) this.#updateInterest(peer);
    }
    if (rangePeers) this.#queueHave(index);
    this.emit('piece', index);
    if (this.stored.complete) this.#markComplete();
  }

  #markComplete(): void {
    if (this.#completeEmitted) return;
    this.#completeEmitted = true;
    this.completedAt = Date.now();
    this.#log.info({ downloaded: this.downloaded }, 'torrent complete');
    this.emit('complete');
    for (const peer of this.#peers.values()) this.#bothSeeds(peer);
    this.#announceCompleteToRangePeers();
    if (this.#started && this.downloaded > 0) {
      for (const a of this.#announcers) {
        // Still in flight when stop() aborts it, or failing: never an unhandled rejection.
        this.#announceOnce(a, 'completed', this.#abort.signal).catch((err: unknown) => {
          if (!this.#stopped) this.#log.warn({ tracker: a.url, err: describe(err) }, 'announce failed');
        });
      }
    }
  }

  #hashFailed(dl: PieceDownload): void {
    this.hashFailures++;
    this.table.failPiece(dl.index);
    const contributors = [...dl.contributors];
    this.emit('hash-failure', { piece: dl.index, contributors });
    this.#log.warn({ piece: dl.index, contributors }, 'piece failed its hash check');
    for (const id of contributors) {
      const peer = this.#peers.get(id);
      if (peer === undefined) continue;
      peer.hashFailures++;
      if (contributors.length === 1 || peer.hashFailures >= MAX_HASH_FAILURES) {
        this.closePeer(
          peer,
          new HashFailureError(`sent data for piece ${dl.index} that failed its hash check`),
        );
      }
    }
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#log.error({ err: err.message }, 'torrent failed');
    this.emit('failed', err);
  }

  onReject(peer: RemotePeer, index: number, begin: number): void {
    const key = RemotePeer.blockKey(index, begin);
    if (peer.outstanding.delete(key)) this.table.release(index, begin, peer.id);
  }

  // ---- PeerHost: uploading ----

  onRequest(peer: RemotePeer, index: number, begin: number, length: number): void {
    peer.noteRequest(index);
    if (index >= this.pieceCount)
      throw new BadRequestError(`request for piece ${index} of ${this.pieceCount}`);
    if (length === 0 || length > MAX_REQUEST_LENGTH) throw new BadRequestError(`request of ${length} bytes`);
    if (begin + length > this.table.pieceSize(index)) {
      throw new BadRequestError(`request for bytes ${begin}+${length} past the end of piece ${index}`);
    }
    if (!this.stored.has(index)) {
      if (!this.#everStored.has(index))
        throw new BadRequestError(`request for piece ${index}, which we never had`);
      if (peer.fast) peer.writer.reject(index, begin, length);
      return;
    }
    if (peer.amChoking && !peer.allowedFastOut.has(index)) {
      // Requests while choked are dropped (BEP 3) or rejected (BEP 6).
      if (peer.fast) peer.writer.reject(index, begin, length);
      return;
    }
    if (peer.requestQueue.length >= MAX_QUEUED_REQUESTS) {
      if (!peer.fast) throw new FloodError(`more than ${MAX_QUEUED_REQUESTS} queued requests`);
      peer.writer.reject(index, begin, length);
      return;
    }
    if (peer.fast && this.#missesDeadline(peer, length)) {
      // It declared (ss_qos max_delay) that it would rather re-request elsewhere than wait this long.
      peer.writer.reject(index, begin, length);
      return;
    }
    peer.requestQueue.push({ index, begin, length });
    this.#scheduleServe(peer);
  }

  onCancel(peer: RemotePeer, index: number, begin: number, length: number): void {
    const q = peer.requestQueue;
    for (let i = 0; i < q.length; i++) {
      const r = q[i];
      if (r.index === index && r.begin === begin && r.length === length) {
        q.splice(i, 1);
        return;
      }
    }
  }

  /**
   * Starts serving once the current socket chunk is decoded (a microtask later), so every request
   * of the chunk is queued first: flood and deadline checks see the whole burst, and the blocks go
   * out in one batch.
   */
  #scheduleServe(peer: RemotePeer): void {
    if (peer.serving) return;
    peer.serving = true;
    queueMicrotask(() => void this.#serve(peer));
  }

  /** Serves queued requests whose blocks `readSync` has, in order, until one needs I/O. */
  #serveFromMemory(peer: RemotePeer): void {
    const readSync = this.storage.readSync?.bind(this.storage);
    if (readSync === undefined) return;
    const q = peer.requestQueue;
    let served = 0;
    let bytes = 0;
    // Bounded by the queue; the writer's high-water mark stops it early.
    while (served < q.length && !peer.writer.congested) {
      const r = q[served];
      const block = readSync(r.index, r.begin, r.length);
      if (block === undefined) break;
      peer.writer.piece(r.index, r.begin, block);
      bytes += r.length;
      served++;
    }
    if (served === 0) return;
    q.splice(0, served);
    peer.upload.add(bytes, Date.now());
    this.uploaded += bytes;
  }

  async #serve(peer: RemotePeer): Promise<void> {
    peer.serving = true;
    const q = peer.requestQueue;
    try {
      // Each iteration sends blocks or waits for I/O or drain; the queue is bounded by
      // MAX_QUEUED_REQUESTS and only shrinks here (or by cancel/choke).
      while (q.length > 0 && !peer.closed) {
        this.#serveFromMemory(peer);
        if (q.length === 0 || peer.closed) break;
        if (peer.writer.congested) {
          await peer.writer.drained();
          continue;
        }
        // The front block needs I/O. Load it, and meanwhile the next few distinct pieces the
        // queue asks for, in parallel on the thread pool; requests stay queued (cancellable)
        // until sent.
        const front = q[0];
        const loads = new Map<number, Promise<Buffer>>();
        for (let i = 0; i < q.length && loads.size < SERVE_PREFETCH_PIECES; i++) {
          const r = q[i];
          if (loads.has(r.index) || this.storage.readSync?.(r.index, r.begin, r.length) !== undefined)
            continue;
          const load = this.storage.read(r.index, r.begin, r.length);
          load.catch(() => {}); // only the front's outcome matters; others are retried when due
          loads.set(r.index, load);
        }
        let block: Buffer;
        try {
          block = await (loads.get(front.index) ?? this.storage.read(front.index, front.begin, front.length));
        } catch (err) {
          this.#log.warn({ piece: front.index, err: describe(err) }, 'could not read a requested block');
          if (q[0] === front) q.shift();
          if (peer.fast) peer.writer.reject(front.index, front.begin, front.length);
          continue;
        }
        // Cancelled, or choked away, while reading: nothing to send for it.
        if (q[0] !== front || peer.closed) continue;
        if (this.storage.readSync === undefined) {
          // A storage without an in-memory view: send what was read, one block per read.
          q.shift();
          peer.writer.piece(front.index, front.begin, block);
          peer.upload.add(front.length, Date.now());
          this.uploaded += front.length;
        }
      }
    } finally {
      peer.serving = false;
    }
  }

  // ---- PeerHost: extensions ----

  onExtended(peer: RemotePeer, extendedId: number, payload: Buffer): void {
    if (extendedId === 0) {
      this.#onExtendedHandshake(peer, payload);
      return;
    }
    const ext = this.extensionRegistry.byLocalId(extendedId);
    // Unknown extended ids are ignored, as BEP 10 asks.
    if (ext === undefined) return;
    ext.onMessage(peer, payload);
  }

  #onExtendedHandshake(peer: RemotePeer, payload: Buffer): void {
    let dict: ReturnType<typeof asDict>;
    try {
      dict = asDict(decode(payload, { allowUnsortedKeys: true }), 'extended handshake');
    } catch (err) {
      throw new BadMessageError(`malformed extended handshake: ${describe(err)}`);
    }
    const m = dict.m;
    if (isDict(m)) {
      for (const [name, value] of Object.entries(m)) {
        if (typeof value !== 'number' || value < 0 || value > 255) continue;
        if (value === 0) peer.remoteExtensions.delete(name);
        else peer.remoteExtensions.set(name, value);
      }
    }
    if (typeof dict.p === 'number' && dict.p > 0 && dict.p < 65_536) peer.listenPort = dict.p;
    if (typeof dict.reqq === 'number') {
      peer.remoteRequestQueue = Math.max(1, Math.min(MAX_PIPELINE, asInt(dict.reqq, 'reqq')));
    }
    if (Buffer.isBuffer(dict.v)) peer.clientName = dict.v.toString('utf8').slice(0, 64);
    for (const ext of this.extensionRegistry.extensions) ext.onHandshake?.(peer, dict);
  }

  sendExtension(peer: RemotePeer, name: string, payload: Uint8Array): boolean {
    const remoteId = peer.remoteExtensions.get(name);
    if (remoteId === undefined || peer.closed) return false;
    peer.writer.extended(remoteId, payload, this.extensionRegistry.kindOf(name));
    return true;
  }

  // ---- streaming extensions: lt_donthave, ss_range, ss_qos (wire/extensions/EXTENSIONS.md) ----

  #registerStreamingExtensions(): void {
    const registry = this.extensionRegistry;
    registry.register(
      new DontHaveExtension(this.pieceCount, {
        onDontHave: (p, index) => {
          const peer = this.#remote(p);
          if (peer !== undefined) this.#piecesLost(peer, index, 1);
        },
      }),
    );
    if (this.#rangeMessages) {
      registry.register(
        new RangeExtension(this.pieceCount, {
          onRangeHave: (p, first, count) => {
            const peer = this.#remote(p);
            if (peer !== undefined) this.#piecesGained(peer, first, count);
          },
          onRangeNoHave: (p, first, count) => {
            const peer = this.#remote(p);
            if (peer !== undefined) this.#piecesLost(peer, first, count);
          },
          onRangeRequest: (p, first, count) => {
            const peer = this.#remote(p);
            if (peer !== undefined) this.#rangeRequested(peer, first, count);
          },
        }),
      );
    }
    registry.register(
      new QosExtension({
        local: () => this.#localQos,
        onQos: (p, qos) => {
          const peer = this.#remote(p);
          if (peer === undefined) return;
          peer.qos = qos;
          this.emit('peer-qos', peer);
          this.#scheduleRechoke();
        },
        onRemoteHandshake: (p) => {
          const peer = this.#remote(p);
          if (peer === undefined) return;
          this.#extendedHandshakeSeen.add(peer);
          if (this.#qosUpdateOwed.delete(peer))
            this.sendExtension(peer, SS_QOS, encodeQosMessage(this.#localQos));
        },
      }),
    );
  }

  /** The connection an extension message arrived on (extensions see it as an ExtensionPeer). */
  #remote(p: ExtensionPeer): RemotePeer | undefined {
    const peer = this.#peers.get(p.id);
    return peer === undefined || peer.closed ? undefined : peer;
  }

  #speaksRange(peer: RemotePeer): boolean {
    return this.#rangeMessages && peer.supports(SS_RANGE);
  }

  /** What we declare in `ss_qos`: our `require` and upstream capacity. */
  get localQos(): PeerQos {
    return this.#localQos;
  }

  /** Changes our `require` and sends it (an `ss_qos` message) to the peers that negotiated ss_qos. */
  setRequirement(require: QosRequirement): void {
    this.#localQos = { ...require, upstreamBytesPerSec: this.#localQos.upstreamBytesPerSec };
    const payload = encodeQosMessage(this.#localQos);
    for (const peer of this.#peers.values()) {
      if (this.sendExtension(peer, SS_QOS, payload)) continue;
      // Our handshake went out with the old values and we do not know its ids yet: send on arrival.
      if (peer.extensions && !this.#extendedHandshakeSeen.has(peer)) this.#qosUpdateOwed.add(peer);
    }
  }

  /**
   * Missing blocks below this wait for more to free up. An `ss_range` peer waits for a whole
   * piece (one range request instead of a piece's worth of requests) when the pipeline holds two.
   */
  #requestBatch(peer: RemotePeer, target: number): number {
    const pieceBlocks = this.table.blockCount(0);
    if (pieceBlocks > REQUEST_BATCH && target >= 2 * pieceBlocks && this.#speaksRange(peer))
      return pieceBlocks;
    return target > REQUEST_BATCH ? REQUEST_BATCH : 0;
  }

  /**
   * Requests to an `ss_range` peer: each run of whole consecutive pieces goes as one range
   * request, the other blocks as BEP 3 requests, in the picker's order. The outstanding-block
   * bookkeeping is the same either way.
   */
  #sendRangeRequests(peer: RemotePeer, blocks: readonly BlockRef[]): void {
    let sent = 0;
    let k = 0;
    // Each iteration advances k by at least one block.
    while (k < blocks.length) {
      let end = k + this.#wholePieceAt(blocks, k);
      if (end === k) {
        k++;
        continue;
      }
      const first = blocks[k].piece;
      let count = 1;
      while (end < blocks.length && blocks[end].piece === first + count) {
        const n = this.#wholePieceAt(blocks, end);
        if (n === 0) break;
        end += n;
        count++;
      }
      if (k > sent) peer.writer.requests(blocks.slice(sent, k));
      this.sendExtension(peer, SS_RANGE, encodeRange('request', first, count));
      sent = end;
      k = end;
    }
    if (sent < blocks.length) peer.writer.requests(sent === 0 ? blocks : blocks.slice(sent));
  }

  /** Number of blocks of one whole piece starting at `blocks[k]` (every block, in order), or 0. */
  #wholePieceAt(blocks: readonly BlockRef[], k: number): number {
    const piece = blocks[k].piece;
    const n = this.table.blockCount(piece);
    if (k + n > blocks.length) return 0;
    for (let j = 0; j < n; j++) {
      const b = blocks[k + j];
      if (b.piece !== piece || b.begin !== j * BLOCK_LENGTH) return 0;
    }
    return n;
  }

  #queueHave(index: number): void {
    this.#pendingHaves.push(index);
    if (this.#haveFlushScheduled) return;
    this.#haveFlushScheduled = true;
    const delayMs = this.#init.rangeHaveDelayMs ?? 0;
    if (delayMs > 0) setTimeout(this.#onHaveFlush, delayMs).unref();
    else setImmediate(this.#onHaveFlush);
  }

  readonly #onHaveFlush = (): void => {
    this.#haveFlushScheduled = false;
    this.#flushHaves();
  };

  /**
   * Sends the gathered haves to `ss_range` peers as runs, skipping pieces a peer announced itself
   * (it cannot want them; should it drop one, its nohave makes us announce ours again).
   */
  #flushHaves(): void {
    if (this.#pendingHaves.length === 0) return;
    const pending = [...new Set(this.#pendingHaves)].filter((i) => this.stored.has(i)).sort((a, b) => a - b);
    this.#pendingHaves.length = 0;
    if (this.#stopped) return;
    // A run may re-announce pieces we announced before: one range is cheaper than two messages.
    const held = (i: number): boolean => this.stored.has(i);
    for (const peer of this.#peers.values()) {
      if (!this.#speaksRange(peer)) continue;
      this.#sendHaveRuns(
        peer,
        pieceRuns(
          pending.filter((i) => !peer.have.has(i)),
          held,
        ),
      );
    }
  }

  /** Each run as a range have, or as plain haves when that is smaller (a lone piece: 9 bytes, not 15). */
  #sendHaveRuns(peer: RemotePeer, runs: readonly PieceRun[]): void {
    for (const run of runs) {
      if (run.count * HAVE_FRAME_LENGTH <= RANGE_FRAME_LENGTH) {
        for (let i = run.first; i < run.first + run.count; i++) peer.writer.have(i);
      } else {
        this.sendExtension(peer, SS_RANGE, encodeRange('have', run.first, run.count));
      }
    }
  }

  /** `ss_range` peers were not told of the pieces they had: one range tells them we are a seed. */
  #announceCompleteToRangePeers(): void {
    this.#pendingHaves.length = 0;
    for (const peer of this.#peers.values()) {
      if (this.#speaksRange(peer))
        this.sendExtension(peer, SS_RANGE, encodeRange('have', 0, this.pieceCount));
    }
  }

  /** A range have: that many haves, with one interest and request update. */
  #piecesGained(peer: RemotePeer, first: number, count: number): void {
    peer.markFirstMessageSeen();
    let gained = false;
    let needed = false;
    for (let i = first; i < first + count; i++) {
      if (peer.have.has(i)) continue;
      peer.have.set(i);
      this.table.addPeerPiece(i, peer.have);
      gained = true;
      if (!needed && this.table.needs(i)) needed = true;
    }
    if (!gained || this.#bothSeeds(peer)) return;
    if (!peer.amInterested && needed) this.#updateInterest(peer);
    this.#requestMore(peer);
  }

  /**
   * The peer dropped pieces (lt_donthave, range nohave): availability drops at once, our requests
   * for them count as rejected (BEP 54) and go back to the table, and interest is re-evaluated.
   * A nohave for a piece it never announced is ignored.
   */
  #piecesLost(peer: RemotePeer, first: number, count: number): void {
    const end = first + count;
    const lost: number[] = [];
    for (let i = first; i < end; i++) {
      if (!peer.have.has(i)) continue;
      this.table.removePeerPiece(i, peer.have);
      peer.have.clear(i);
      peer.suggested.delete(i);
      lost.push(i);
    }
    let released = false;
    for (const key of peer.outstanding.keys()) {
      const piece = RemotePeer.pieceOfKey(key);
      if (piece < first || piece >= end) continue;
      peer.outstanding.delete(key);
      this.table.release(piece, RemotePeer.beginOfKey(key), peer.id);
      released = true;
    }
    if (lost.length === 0 && !released) return;
    if (this.#speaksRange(peer)) {
      this.#sendHaveRuns(peer, pieceRuns(lost.filter((i) => this.stored.has(i))));
    }
    if (lost.length > 0) this.emit('nohave', peer, lost);
    if (peer.closed || this.#stopped) return;
    if (peer.amInterested && !this.#wantsFrom(peer)) this.#updateInterest(peer);
    if (released) for (const other of this.#peers.values()) if (other !== peer) this.#requestMore(other);
    this.#requestMore(peer);
  }

  /** A range request: every block of every piece, through the same checks as a BEP 3 request. */
  #rangeRequested(peer: RemotePeer, first: number, count: number): void {
    peer.markFirstMessageSeen();
    let blocks = 0;
    for (let i = first; i < first + count && blocks <= MAX_QUEUED_REQUESTS; i++)
      blocks += this.table.blockCount(i);
    if (blocks > MAX_QUEUED_REQUESTS) {
      throw new FloodError(
        `range request for pieces ${first}+${count}: more than ${MAX_QUEUED_REQUESTS} blocks (our reqq)`,
      );
    }
    for (let i = first; i < first + count; i++) {
      const size = this.table.pieceSize(i);
      for (let begin = 0; begin < size; begin += BLOCK_LENGTH) {
        this.onRequest(peer, i, begin, Math.min(BLOCK_LENGTH, size - begin));
      }
    }
  }

  /**
   * The peer declared a max response delay (`ss_qos`) and a block requested now would wait longer
   * than that: bytes ahead of it (queue, reads in flight, socket buffer) over our rate to it.
   * Without a rate estimate nothing is rejected.
   */
  #missesDeadline(peer: RemotePeer, length: number): boolean {
    const maxDelayMs = peer.qos.maxDelayMs;
    if (maxDelayMs === undefined) return false;
    const rate = this.#uploadRateEstimate(peer);
    if (!(rate > 0)) return false;
    // Queued, being read, and (while serving) the one being sent.
    const blocksAhead = peer.requestQueue.length + (peer.serving ? 1 : 0);
    const bytes = blocksAhead * BLOCK_LENGTH + peer.socket.writableLength + length;
    return (bytes * 1000) / rate > maxDelayMs;
  }

  /** Bytes/s we can send `peer`: as measured, or our declared capacity shared by the unchoked. */
  #uploadRateEstimate(peer: RemotePeer): number {
    const measured = peer.upload.total >= RATE_SAMPLE_MIN_BYTES ? peer.upload.rate(Date.now()) : 0;
    const capacity = this.#init.upstreamBps;
    if (capacity === undefined || capacity <= 0) return measured;
    let unchoked = 0;
    for (const p of this.#peers.values()) if (!p.amChoking) unchoked++;
    return Math.max(measured, capacity / Math.max(1, unchoked));
  }

  /**
   * Starts or stops wanting pieces (a bounded cache wants only what it can keep), then
   * re-evaluates interest and requests with every peer.
   */
  setWanted(pieces: Iterable<number>, wanted: boolean): void {
    let changed = false;
    for (const i of pieces) {
      if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount) continue;
      if (this.table.wanted.has(i) === wanted) continue;
      this.table.setWanted(i, wanted);
      changed = true;
    }
    if (!changed || this.#stopped) return;
    for (const peer of this.#peers.values()) {
      this.#updateInterest(peer);
      this.#requestMore(peer);
    }
  }

  /** Evicts one piece; see `evictPieces`. Resolves with whether we held it. */
  async evictPiece(index: number): Promise<boolean> {
    return (await this.evictPieces([index])).length > 0;
  }

  /**
   * Drops pieces we hold (a bounded cache): they leave storage and the set we serve, and the
   * peers that negotiated lt_donthave or ss_range are told at once (runs as a range nohave, a
   * lone piece as lt_donthave). Other peers are told nothing; their later requests for the pieces
   * are rejected (BEP 6) or left unanswered. A piece still wanted is downloaded again.
   * Resolves with the pieces evicted (sorted), once storage dropped them.
   */
  async evictPieces(pieces: Iterable<number>): Promise<number[]> {
    const gone = new Set<number>();
    for (const i of pieces) if (Number.isInteger(i) && this.stored.has(i)) gone.add(i);
    const evicted = [...gone].sort((a, b) => a - b);
    if (evicted.length === 0) return evicted;
    // Pending haves go out first: no peer may see a have after the nohave that revokes it.
    this.#flushHaves();
    let stillWanted = false;
    for (const i of evicted) {
      this.stored.clear(i);
      this.table.dropPiece(i);
      if (this.table.wanted.has(i)) stillWanted = true;
    }
    for (const peer of this.#peers.values()) {
      this.#dropQueuedRequests(peer, gone);
      this.#announceLost(peer, evicted);
      if (stillWanted && !peer.amInterested) this.#updateInterest(peer);
    }
    await Promise.all(
      evicted.map((i) =>
        this.storage.delete(i).catch((err: unknown) => {
          this.#log.warn({ piece: i, err: describe(err) }, 'could not delete an evicted piece');
        }),
      ),
    );
    return evicted;
  }

  /** Queued requests for pieces we no longer hold are rejected (BEP 6) or dropped. */
  #dropQueuedRequests(peer: RemotePeer, gone: ReadonlySet<number>): void {
    const queue = peer.requestQueue;
    let kept = 0;
    for (const r of queue) {
      if (!gone.has(r.index)) queue[kept++] = r;
      else if (peer.fast) peer.writer.reject(r.index, r.begin, r.length);
    }
    queue.length = kept;
  }

  /** Tells `peer` that we dropped `evicted` (sorted), in the smallest messages it negotiated. */
  #announceLost(peer: RemotePeer, evicted: readonly number[]): void {
    const dontHave = peer.supports(LT_DONTHAVE);
    if (this.#speaksRange(peer)) {
      // A run may span pieces we do not hold: a nohave for a piece never announced is ignored.
      for (const run of pieceRuns(evicted, (i) => !this.stored.has(i))) {
        // A lone piece: lt_donthave is 10 bytes, a range 15.
        if (run.count === 1 && dontHave) this.sendExtension(peer, LT_DONTHAVE, encodeDontHave(run.first));
        else this.sendExtension(peer, SS_RANGE, encodeRange('nohave', run.first, run.count));
      }
    } else if (dontHave) {
      for (const i of evicted) this.sendExtension(peer, LT_DONTHAVE, encodeDontHave(i));
    }
  }

  // ---- choking ----

  #scheduleRechoke(): void {
    if (this.#rechokeScheduled || this.#stopped) return;
    this.#rechokeScheduled = true;
    setImmediate(() => {
      this.#rechokeScheduled = false;
      this.#rechoke();
    });
  }

  #rechoke(): void {
    if (this.#stopped) return;
    const peers = [...this.#peers.values()];
    const unchoke = this.choker.rechoke(peers, { seeding: this.complete, now: Date.now() });
    for (const peer of peers) {
      const should = unchoke.has(peer.id);
      if (should && peer.amChoking) {
        peer.amChoking = false;
        peer.writer.unchoke();
        peer.rtt.unchoked(Date.now());
      } else if (!should && !peer.amChoking) {
        this.#choke(peer);
      }
    }
  }

  #choke(peer: RemotePeer): void {
    peer.amChoking = true;
    peer.writer.choke();
    peer.rtt.choked();
    const keep = peer.requestQueue.filter((r) => peer.allowedFastOut.has(r.index));
    if (peer.fast) {
      for (const r of peer.requestQueue)
        if (!peer.allowedFastOut.has(r.index)) peer.writer.reject(r.index, r.begin, r.length);
    }
    peer.requestQueue.length = 0;
    peer.requestQueue.push(...keep);
  }

  // ---- housekeeping ----

  #maintain(): void {
    if (this.#stopped) return;
    const now = Date.now();
    for (const peer of this.#peers.values()) {
      if (now - peer.lastReceiveAt > IDLE_TIMEOUT_MS) {
        this.closePeer(peer, new TimeoutError(`nothing received for ${IDLE_TIMEOUT_MS} ms`));
        continue;
      }
      if (now - peer.writer.lastWriteAt > KEEPALIVE_INTERVAL_MS) peer.writer.keepAlive();
      let expired = false;
      let trickling = false;
      for (const [key, sentAt] of peer.outstanding) {
        if (now - sentAt < REQUEST_TIMEOUT_MS) continue;
        peer.outstanding.delete(key);
        this.table.release(RemotePeer.pieceOfKey(key), RemotePeer.beginOfKey(key), peer.id);
        expired = true;
        if (this.#receiving.get(key) === peer.id) trickling = true;
      }
      // Still sending a block it started long ago: it holds that block against every other peer.
      if (trickling) {
        this.closePeer(peer, new TimeoutError(`a block took over ${REQUEST_TIMEOUT_MS} ms to arrive`));
        continue;
      }
      if (expired) {
        peer.pipelineTarget = MIN_PIPELINE;
        for (const other of this.#peers.values()) if (other !== peer) this.#requestMore(other);
      }
      this.#requestMore(peer);
    }
    this.#connectKnown();
  }

  // ---- trackers ----

  async #announceLoop(announcer: Announcer): Promise<void> {
    let event: AnnounceEvent | undefined = 'started';
    let failures = 0;
    // Runs until the torrent stops; each iteration waits at least the tracker's interval or a backoff.
    while (!this.#stopped) {
      let waitMs: number;
      try {
        const interval = await this.#announceOnce(announcer, event, this.#abort.signal);
        event = undefined;
        failures = 0;
        waitMs = interval * 1000;
      } catch (err) {
        if (this.#stopped) return;
        failures++;
        waitMs = Math.min(300_000, 5_000 * 2 ** Math.min(failures, 6));
        const warning = new SeedstreamError(
          'ERR_ANNOUNCE_FAILED',
          `announce to ${announcer.url} failed: ${describe(err)}`,
          {
            cause: err,
          },
        );
        this.#log.warn({ tracker: announcer.url, err: describe(err) }, 'announce failed');
        this.emit('warning', warning);
      }
      try {
        await sleep(waitMs, this.#abort.signal);
      } catch {
        return;
      }
    }
  }

  /** One announce; adds the returned peers. Returns the interval in seconds. */
  async #announceOnce(
    announcer: Announcer,
    event: AnnounceEvent | undefined,
    signal: AbortSignal,
  ): Promise<number> {
    const timeout = AbortSignal.timeout(ANNOUNCE_TIMEOUT_MS);
    const res = await announcer.announce(
      {
        infoHash: this.meta.infoHash,
        peerId: this.peerId,
        port: this.#init.listenPort ?? 0,
        uploaded: this.uploaded,
        downloaded: this.downloaded,
        left: this.left,
        event,
        numwant: event === 'stopped' ? 0 : 50,
        upstreamBps: this.#init.upstreamBps,
        delays: this.#measuredDelays(),
      },
      AbortSignal.any([signal, timeout]),
    );
    if (event !== 'stopped') for (const p of res.peers) this.addPeer(p.host, p.port);
    return Math.max(res.minInterval ?? 0, res.interval, 1);
  }

  #measuredDelays(): Array<{ host: string; port: number; delayMs: number }> | undefined {
    for (const peer of this.#peers.values()) this.#rememberDelay(peer);
    const now = Date.now();
    const out: Array<{ host: string; port: number; delayMs: number }> = [];
    for (const [key, d] of this.#delays) {
      if (now - d.at > DELAY_REPORT_TTL_MS) this.#delays.delete(key);
      else out.push({ host: d.host, port: d.port, delayMs: d.delayMs });
    }
    return out.length > 0 ? out : undefined;
  }

  /**
   * Keeps the delay measured to a peer's listening endpoint, also after it disconnects (a
   * leecher that completed has closed its connections by its next announce, yet what it measured
   * still tells the tracker something).
   */
  #rememberDelay(peer: RemotePeer): void {
    const port = peer.listenPort ?? (peer.inbound ? undefined : peer.port);
    if (peer.rttMs === undefined || port === undefined) return;
    const key = addressKey(peer.host, port);
    this.#delays.delete(key);
    this.#delays.set(key, { host: peer.host, port, delayMs: peer.rttMs, at: Date.now() });
    if (this.#delays.size > MAX_DELAY_REPORTS)
      this.#delays.delete(this.#delays.keys().next().value as string);
  }
}

/** Hosts as `host:port`, IPv6 in brackets. */
export function addressKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Strips the IPv4-mapped prefix Node reports for dual-stack sockets. */
export function normaliseHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ? `${err.message}` : err.message;
  return String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export type { BlockRef };
