import http from 'node:http';
import type { Socket } from 'node:net';
import type { Encodable } from '../peer/bencode/index.js';
import { encode } from '../peer/bencode/index.js';
import { throwIfAborted } from '../peer/errors.js';
import type { Logger } from '../peer/logger.js';
import { parseIp } from './address.js';
import type { AnnounceLog } from './announce-log.js';
import { type AnnounceParams, parseAnnounceQuery, parseScrapeQuery } from './announce-params.js';
import {
  TrackerConfigError,
  TrackerListenError,
  TrackerRequestError,
  UnsupportedRequestError,
} from './errors.js';
import type { PeerSelector } from './peer-selector.js';
import type { PeerView, Swarm, SwarmRegistry } from './swarm-registry.js';
import { Tracker, type TrackerDeps, type TrackerInit } from './tracker.js';

export interface TrackerServerInit extends TrackerInit {
  /** Address to bind; `::` takes IPv4 and IPv6 on dual-stack hosts. */
  readonly host: string;
  /** 0 picks a free port; `start()` returns the one bound. */
  readonly port: number;
}

export type TrackerServerDeps = TrackerDeps;

/** Request line plus headers; room for a full `ss_delay` list (200 IPv6 entries). */
export const MAX_REQUEST_HEAD_BYTES = 32 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const SWEEP_PERIOD_MAX_MS = 60_000;
const CONTENT_HEADERS = { 'Content-Type': 'text/plain' };

export interface TrackerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TrackerStats {
  readonly announces: number;
  readonly scrapes: number;
  readonly failures: number;
  readonly swarms: number;
}

/** The HTTP tracker: BEP 3 announce, BEP 23/7 compact peers, BEP 48 scrape, plus the extension. */
export class TrackerServer {
  readonly #init: TrackerServerInit;
  readonly #tracker: Tracker;
  readonly #logger: Logger;
  #server: http.Server | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #address: TrackerAddress | undefined;
  #announces = 0;
  #scrapes = 0;
  #failures = 0;

  constructor(init: TrackerServerInit, deps: TrackerServerDeps = {}) {
    if (!(Number.isInteger(init.port) && init.port >= 0 && init.port <= 65_535)) {
      throw new TrackerConfigError(`port must be an integer 0-65535, got ${init.port}`);
    }
    this.#init = init;
    this.#tracker = new Tracker(init, deps);
    this.#logger = this.#tracker.logger;
  }

  /** The tracker state behind this front end; hand it to a UdpTrackerServer to share it. */
  get tracker(): Tracker {
    return this.#tracker;
  }

  get announceLog(): AnnounceLog {
    return this.#tracker.announceLog;
  }

  get registry(): SwarmRegistry {
    return this.#tracker.registry;
  }

  get selector(): PeerSelector {
    return this.#tracker.selector;
  }

  get address(): TrackerAddress | undefined {
    return this.#address;
  }

  /** `http://host:port/announce` once started. */
  get announceUrl(): string | undefined {
    if (this.#address === undefined) return undefined;
    const { host, port } = this.#address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/announce`;
  }

  stats(): TrackerStats {
    return {
      announces: this.#announces,
      scrapes: this.#scrapes,
      failures: this.#failures,
      swarms: this.#tracker.registry.swarmCount,
    };
  }

  /** Lets a closed tracker serve this torrent (hex string or 20 bytes). */
  allow(infoHash: string | Uint8Array): void {
    this.#tracker.allow(infoHash);
  }

  async start(signal?: AbortSignal): Promise<TrackerAddress> {
    throwIfAborted(signal);
    if (this.#address !== undefined) return this.#address;
    const server = http.createServer(
      {
        maxHeaderSize: MAX_REQUEST_HEAD_BYTES,
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: REQUEST_TIMEOUT_MS,
        noDelay: true,
      },
      (req, res) => this.#handle(req, res),
    );
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#clientError(err, socket));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(new TrackerListenError(this.#init.host, this.#init.port, { cause: err }));
      server.once('error', onError);
      server.listen(this.#init.port, this.#init.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.#logger.error({ err }, 'tracker server error'));
    this.#server = server;
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : this.#init.port;
    this.#address = { host: this.#init.host, port };
    const ttlMs = this.#tracker.peerTtlSec * 1000;
    this.#sweepTimer = setInterval(
      () => this.#tracker.registry.sweep(),
      Math.max(1000, Math.min(SWEEP_PERIOD_MAX_MS, ttlMs / 4)),
    );
    this.#sweepTimer.unref();
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.#logger.info({ ...this.#address, policy: this.#tracker.selector.name }, 'tracker listening');
    return this.#address;
  }

  async stop(): Promise<void> {
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    const server = this.#server;
    this.#server = undefined;
    this.#address = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let status = 200;
    let body: Buffer;
    let close = false;
    try {
      if (req.method !== 'GET') throw new UnsupportedRequestError(`method ${req.method} not supported`, 405);
      if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
        close = true;
        throw new UnsupportedRequestError('requests must not have a body', 413);
      }
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const query = q === -1 ? '' : url.slice(q + 1);
      if (path === '/announce') {
        body = this.#announce(query, req.socket);
        this.#announces++;
      } else if (path === '/scrape') {
        body = this.#scrape(query);
        this.#scrapes++;
      } else {
        throw new UnsupportedRequestError(`no such path ${JSON.stringify(path.slice(0, 100))}`, 404);
      }
    } catch (err) {
      this.#failures++;
      if (err instanceof TrackerRequestError) {
        if (err instanceof UnsupportedRequestError) status = err.statusCode;
        body = failureBody(err.message);
        this.#logger.debug({ code: err.code, url: req.url?.slice(0, 200) }, err.message);
      } else {
        status = 500;
        body = failureBody('internal tracker error');
        this.#logger.error({ err, url: req.url?.slice(0, 200) }, 'tracker request failed');
      }
    }
    try {
      res.writeHead(status, {
        ...CONTENT_HEADERS,
        'Content-Length': body.length,
        ...(close ? { Connection: 'close' } : {}),
      });
      res.end(body);
    } catch (err) {
      // The socket died under us; nothing left to answer.
      this.#logger.debug({ err }, 'tracker response not sent');
    }
  }

  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.#failures++;
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, text] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, `request larger than ${MAX_REQUEST_HEAD_BYTES} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request timed out']
          : [400, 'malformed HTTP request'];
    const body = failureBody(text);
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString('latin1')}`,
      'latin1',
    );
  }

  #announce(query: string, socket: Socket): Buffer {
    const p = parseAnnounceQuery(query);
    const { swarm, selected } = this.#tracker.announce(p, sourceAddress(socket));
    return encode(this.#announceResponse(swarm, selected, p));
  }

  #announceResponse(swarm: Swarm, selected: readonly PeerView[], p: AnnounceParams): Encodable {
    const response: Record<string, Encodable | undefined> = {
      interval: this.#tracker.intervalSec,
      'min interval': this.#tracker.minIntervalSec,
      complete: swarm.complete,
      incomplete: swarm.incomplete,
      downloaded: swarm.downloaded,
    };
    if (p.compact) {
      response.peers = swarm.compactPeers(selected, 'v4');
      const v6 = swarm.compactPeers(selected, 'v6');
      if (v6.length > 0) response.peers6 = v6;
    } else {
      const list: Encodable[] = [];
      for (const peer of selected) {
        for (const ep of [peer.v4, peer.v6]) {
          if (ep === undefined) continue;
          list.push(
            p.noPeerId
              ? { ip: ep.host, port: ep.port }
              : { 'peer id': peer.peerId, ip: ep.host, port: ep.port },
          );
        }
      }
      response.peers = list;
    }
    return response;
  }

  #scrape(query: string): Buffer {
    // Keyed by the hash as a latin1 string, which encode() writes back byte for byte, so a hash
    // named twice is one dictionary key rather than a duplicate.
    const files = new Map<string, Encodable>();
    for (const c of this.#tracker.scrape(parseScrapeQuery(query))) {
      files.set(c.infoHash.toString('latin1'), {
        complete: c.complete,
        downloaded: c.downloaded,
        incomplete: c.incomplete,
      });
    }
    return encode({ files });
  }
}

/** The source address as bytes, parsed once per connection rather than once per announce. */
const socketAddresses = new WeakMap<Socket, Buffer | undefined>();

function sourceAddress(socket: Socket): Buffer | undefined {
  if (socketAddresses.has(socket)) return socketAddresses.get(socket);
  const address = socket.remoteAddress === undefined ? undefined : parseIp(socket.remoteAddress);
  socketAddresses.set(socket, address);
  return address;
}

function failureBody(reason: string): Buffer {
  return encode({ 'failure reason': reason });
}
