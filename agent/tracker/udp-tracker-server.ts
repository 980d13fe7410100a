import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import { throwIfAborted } from '../peer/errors.js';
import type { Logger } from '../peer/logger.js';
import { Random, type Seed } from '../peer/random.js';
import { parseIp } from './address.js';
import {
  StaleConnectionError,
  TrackerConfigError,
  TrackerListenError,
  TrackerRequestError,
} from './errors.js';
import type { Tracker } from './tracker.js';
import type { TrackerAddress } from './tracker-server.js';
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  announceResponse,
  connectResponse,
  errorResponse,
  parseUdpRequest,
  scrapeResponse,
  transactionIdOf,
} from './udp-protocol.js';

/** BEP 15: a connection id is valid for at least one minute; we accept it for one to two. */
const CONNECTION_WINDOW_MS = 60_000;
const SECRET_BYTES = 32;
const CONNECTION_ID_BYTES = 8;

export interface UdpTrackerServerInit {
  /** Address to bind; an IPv6 address (`::`) makes a dual-stack udp6 socket. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Seeds the key that connection ids are derived from. Connection ids only stop spoofed source
   * addresses (BEP 15); a testbed wants runs to repeat, so the key comes from a seed too.
   */
  readonly seed?: Seed;
}

export interface UdpTrackerServerDeps {
  /** The tracker state to serve, usually `TrackerServer.tracker` so HTTP and UDP share swarms. */
  readonly tracker: Tracker;
  readonly logger?: Logger;
  /** Milliseconds clock for connection id windows. */
  readonly now?: () => number;
}

export interface UdpTrackerStats {
  readonly connects: number;
  readonly announces: number;
  readonly scrapes: number;
  readonly failures: number;
}

/** The UDP tracker protocol (BEP 15) in front of a `Tracker`; the extension rides in BEP 41 URL data. */
export class UdpTrackerServer {
  readonly #init: UdpTrackerServerInit;
  readonly #tracker: Tracker;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #secret: Buffer;
  #socket: dgram.Socket | undefined;
  #address: TrackerAddress | undefined;
  #connects = 0;
  #announces = 0;
  #scrapes = 0;
  #failures = 0;

  constructor(init: UdpTrackerServerInit, deps: UdpTrackerServerDeps) {
    if (!(Number.isInteger(init.port) && init.port >= 0 && init.port <= 65_535)) {
      throw new TrackerConfigError(`port must be an integer 0-65535, got ${init.port}`);
    }
    this.#init = init;
    this.#tracker = deps.tracker;
    this.#logger = deps.logger ?? deps.tracker.logger;
    this.#now = deps.now ?? Date.now;
    this.#secret = Buffer.from(
      new Random(init.seed ?? 0).fork('udp-connection-id').fill(new Uint8Array(SECRET_BYTES)),
    );
  }

  get address(): TrackerAddress | undefined {
    return this.#address;
  }

  /** `udp://host:port/announce` once started. */
  get announceUrl(): string | undefined {
    if (this.#address === undefined) return undefined;
    const { host, port } = this.#address;
    return `udp://${host.includes(':') ? `[${host}]` : host}:${port}/announce`;
  }

  stats(): UdpTrackerStats {
    return {
      connects: this.#connects,
      announces: this.#announces,
      scrapes: this.#scrapes,
      failures: this.#failures,
    };
  }

  async start(signal?: AbortSignal): Promise<TrackerAddress> {
    throwIfAborted(signal);
    if (this.#address !== undefined) return this.#address;
    const socket = dgram.createSocket({ type: this.#init.host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(new TrackerListenError(this.#init.host, this.#init.port, { cause: err }));
      };
      socket.once('error', onError);
      socket.bind(this.#init.port, this.#init.host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', (err) => this.#logger.error({ err }, 'udp tracker socket error'));
    socket.on('message', (packet, rinfo) => this.#onPacket(packet, rinfo));
    this.#socket = socket;
    this.#address = { host: this.#init.host, port: socket.address().port };
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.#logger.info({ ...this.#address }, 'udp tracker listening');
    return this.#address;
  }

  async stop(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#address = undefined;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** A keyed hash of the client's address and the time window: nothing to store per client. */
  #connectionId(address: string, port: number, window: number): Buffer {
    return createHmac('sha256', this.#secret)
      .update(`${window}/${address}/${port}`)
      .digest()
      .subarray(0, CONNECTION_ID_BYTES);
  }

  #validConnection(id: Buffer, address: string, port: number): boolean {
    const window = Math.floor(this.#now() / CONNECTION_WINDOW_MS);
    return (
      this.#connectionId(address, port, window).equals(id) ||
      this.#connectionId(address, port, window - 1).equals(id)
    );
  }

  #onPacket(packet: Buffer, rinfo: dgram.RemoteInfo): void {
    let reply: Buffer | undefined;
    try {
      reply = this.#answer(packet, rinfo);
    } catch (err) {
      this.#failures++;
      const transactionId = transactionIdOf(packet);
      if (err instanceof TrackerRequestError) {
        this.#logger.debug({ code: err.code, from: rinfo.address }, err.message);
      } else {
        this.#logger.error({ err, from: rinfo.address }, 'udp tracker request failed');
      }
      // Too short to carry a transaction id: nothing the client could match a reply to.
      if (transactionId !== undefined) {
        reply = errorResponse(
          transactionId,
          err instanceof TrackerRequestError ? err.message : 'internal tracker error',
        );
      }
    }
    if (reply !== undefined) this.#socket?.send(reply, rinfo.port, rinfo.address);
  }

  #answer(packet: Buffer, rinfo: dgram.RemoteInfo): Buffer {
    const request = parseUdpRequest(packet);
    if (request.action === ACTION_CONNECT) {
      this.#connects++;
      const window = Math.floor(this.#now() / CONNECTION_WINDOW_MS);
      return connectResponse(request.transactionId, this.#connectionId(rinfo.address, rinfo.port, window));
    }
    if (!this.#validConnection(request.connectionId, rinfo.address, rinfo.port)) {
      throw new StaleConnectionError();
    }
    if (request.action === ACTION_ANNOUNCE) {
      const source = parseIp(rinfo.address);
      const { swarm, selected } = this.#tracker.announce(request.params, source);
      this.#announces++;
      // Peers come in the family of the socket the request arrived on (BEP 15, IPv6 section).
      const peers = swarm.compactPeers(selected, source?.length === 16 ? 'v6' : 'v4');
      return announceResponse(
        request.transactionId,
        this.#tracker.intervalSec,
        swarm.incomplete,
        swarm.complete,
        peers,
      );
    }
    this.#scrapes++;
    // Unlike HTTP, a UDP scrape naming no torrent asks for nothing (there is no "full scrape").
    const counts = request.infoHashes.length === 0 ? [] : this.#tracker.scrape(request.infoHashes);
    return scrapeResponse(request.transactionId, counts);
  }
}
