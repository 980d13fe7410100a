import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { SeedstreamError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { Random, type Seed } from './random.js';
import { HANDSHAKE_TIMEOUT_MS, type Torrent } from './torrent/torrent.js';
import { UnknownTorrentError } from './wire/errors.js';
import { readHandshake } from './wire/handshake.js';

/** Azureus-style peer id prefix: seedstream 0.1. */
export const PEER_ID_PREFIX = '-SS0100-';

export class ListenError extends SeedstreamError {
  constructor(host: string, port: number, cause: unknown) {
    super('ERR_LISTEN', `cannot listen on ${host}:${port}: ${(cause as Error).message ?? cause}`, { cause });
  }
}

/** A 20-byte peer id; deterministic when a seed is given. */
export function makePeerId(seed?: Seed): Buffer {
  const tail = Buffer.alloc(12);
  if (seed === undefined) randomBytes(12).copy(tail);
  else new Random(seed).fork('peer-id').fill(tail);
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX, 'latin1'), tail]);
}

export interface ClientInit {
  /** Address to listen on (default 127.0.0.1 — pass 0.0.0.0 or :: deliberately). */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port?: number;
  readonly handshakeTimeoutMs?: number;
  /** Most half-open inbound connections (handshake not yet read). */
  readonly maxPendingHandshakes?: number;
}

/**
 * Accepts peer connections for a set of torrents: reads each inbound handshake, then hands the
 * connection to the torrent it names. Unknown torrents and garbage are dropped.
 */
export class Client {
  readonly #init: ClientInit;
  readonly #log: Logger;
  readonly #torrents = new Map<string, Torrent>();
  readonly #pending = new Set<Socket>();
  #server: Server | undefined;
  rejectedConnections = 0;

  constructor(init: ClientInit = {}, deps: { logger?: Logger } = {}) {
    this.#init = init;
    this.#log = deps.logger ?? silentLogger;
  }

  get address(): { host: string; port: number } | undefined {
    const addr = this.#server?.address() as AddressInfo | null | undefined;
    return addr ? { host: addr.address, port: addr.port } : undefined;
  }

  async start(signal?: AbortSignal): Promise<{ host: string; port: number }> {
    if (this.#server) return this.address!;
    const host = this.#init.host ?? '127.0.0.1';
    const port = this.#init.port ?? 0;
    const server = createServer({ pauseOnConnect: false, noDelay: true }, (socket) =>
      this.#onConnection(socket),
    );
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new ListenError(host, port, err));
      server.once('error', onError);
      server.listen({ host, port, signal }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.#log.error({ err: err.message }, 'listener error'));
    this.#server = server;
    return this.address!;
  }

  add(torrent: Torrent): void {
    this.#torrents.set(torrent.meta.infoHashHex, torrent);
    const addr = this.address;
    if (addr) {
      torrent.addSelfAddress(addr.host, addr.port);
      if (addr.host === '0.0.0.0' || addr.host === '::') torrent.addSelfAddress('127.0.0.1', addr.port);
    }
  }

  remove(torrent: Torrent): void {
    this.#torrents.delete(torrent.meta.infoHashHex);
  }

  async stop(): Promise<void> {
    for (const socket of this.#pending) socket.destroy();
    this.#pending.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #onConnection(socket: Socket): void {
    if (this.#pending.size >= (this.#init.maxPendingHandshakes ?? 256)) {
      this.rejectedConnections++;
      socket.destroy();
      return;
    }
    this.#pending.add(socket);
    socket.on('error', () => {}); // reported through readHandshake or the torrent
    readHandshake(socket, this.#init.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS).then(
      ({ handshake, rest }) => {
        this.#pending.delete(socket);
        const torrent = this.#torrents.get(handshake.infoHash.toString('hex'));
        if (torrent === undefined) {
          this.rejectedConnections++;
          const err = new UnknownTorrentError(handshake.infoHash.toString('hex'));
          this.#log.debug({ peer: socket.remoteAddress, code: err.code }, err.message);
          socket.destroy();
          return;
        }
        torrent.acceptInbound(socket, handshake, rest);
      },
      (err: Error) => {
        this.#pending.delete(socket);
        this.rejectedConnections++;
        this.#log.debug({ peer: socket.remoteAddress, err: err.message }, 'inbound handshake failed');
        socket.destroy();
      },
    );
  }
}
