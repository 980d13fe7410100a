import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortError, hasCode, throwIfAborted } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Metainfo } from '../metainfo/types.js';
import { FileStorage } from '../storage/file-storage.js';
import { pieceSize, type Storage } from '../storage/storage.js';
import { type ByteRange, interpretRange } from './byte-range.js';
import { ContentPaths } from './content-paths.js';
import { MediaServerInitError, MediaServerListenError, MediaServerStoppedError } from './errors.js';
import { TokenBucket } from './token-bucket.js';

/** Responses in progress at once; more get 503 so a burst of clients cannot exhaust memory. */
export const DEFAULT_MAX_CONCURRENT_RESPONSES = 32;
/** Largest storage read per write: large enough for loopback speed, small enough to interleave. */
export const READ_CHUNK_BYTES = 256 * 1024;
/** Told to clients turned away with 503. */
export const RETRY_AFTER_SECONDS = 1;

export interface MediaServerInit {
  readonly meta: Metainfo;
  /** Serve from this directory (the usual `dir/name[/path]` layout) instead of `deps.storage`. */
  readonly dir?: string;
  /** Most responses in progress at once. Default DEFAULT_MAX_CONCURRENT_RESPONSES. */
  readonly maxConcurrent?: number;
  /** Upload limit over all responses, bytes/s (a token bucket); default unlimited. */
  readonly uploadBytesPerSecond?: number;
  /** Burst of the upload limit, bytes. Default: a tenth of a second's worth. */
  readonly uploadBurstBytes?: number;
}

export interface MediaServerDeps {
  /** Where the content is read from (not opened or closed by the server). Exclusive with `dir`. */
  readonly storage?: Storage;
  readonly logger?: Logger;
}

export interface MediaServerListen {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
}

export interface MediaServerAddress {
  readonly host: string;
  readonly port: number;
  /** Base URL to use as a BEP 19 `url-list` entry (ends with `/`). */
  readonly url: string;
}

export interface MediaServerStats {
  /** Requests received (every method, every outcome). */
  readonly requests: number;
  /** Payload bytes handed to sockets. */
  readonly bytesServed: number;
  /** Responses with a 4xx/5xx status, and bodies cut short by a failure of ours. */
  readonly errors: number;
  /** Turned away with 503 because `maxConcurrent` responses were in progress. */
  readonly rejected: number;
  /** Bodies the client stopped reading before the end (it closed the connection). */
  readonly aborted: number;
  /** Responses in progress now. */
  readonly active: number;
}

/** One finished request, for experiments that log what the server sent. */
export interface MediaServerResponseEvent {
  readonly status: number;
  readonly path: string;
  /** File of `meta.files`, when the path named one. */
  readonly file?: number;
  /** The bytes of the file that were asked for (206 and 200 responses). */
  readonly range?: ByteRange;
  /** Payload bytes handed to the socket. */
  readonly bytes: number;
}

export interface MediaServerEvents {
  response: [event: MediaServerResponseEvent];
}

/**
 * A plain HTTP/1.1 server offering a torrent's content with byte ranges (RFC 9110), laid out as a
 * BEP 19 web seed expects, so any web-seeding client (ours, libtorrent) can stream from it. It is
 * the media server of BASS: every byte it sends is counted, and an upload limit makes it the
 * bottleneck an experiment wants.
 *
 * Bad requests get a status (400, 404, 405, 416) and never an exception; a storage failure in the
 * middle of a body cuts the connection, which a client detects as a short body.
 */
export class MediaServer extends EventEmitter<MediaServerEvents> {
  readonly meta: Metainfo;
  readonly maxConcurrent: number;
  readonly #paths: ContentPaths;
  readonly #storage: Storage;
  readonly #ownsStorage: boolean;
  readonly #bucket: TokenBucket | undefined;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  #server: http.Server | undefined;
  #starting: Promise<MediaServerAddress> | undefined;
  #stopped = false;
  #requests = 0;
  #bytesServed = 0;
  #errors = 0;
  #rejected = 0;
  #aborted = 0;
  #active = 0;

  constructor(init: MediaServerInit, deps: MediaServerDeps = {}) {
    super();
    if ((init.dir === undefined) === (deps.storage === undefined)) {
      throw new MediaServerInitError('give exactly one of init.dir and deps.storage');
    }
    const maxConcurrent = init.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_RESPONSES;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new MediaServerInitError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`);
    }
    if (deps.storage !== undefined && deps.storage.meta.infoHashHex !== init.meta.infoHashHex) {
      throw new MediaServerInitError('deps.storage holds a different torrent than init.meta');
    }
    this.meta = init.meta;
    this.maxConcurrent = maxConcurrent;
    this.#paths = new ContentPaths(init.meta);
    this.#storage = deps.storage ?? new FileStorage(init.meta, { dir: init.dir! });
    this.#ownsStorage = deps.storage === undefined;
    try {
      this.#bucket =
        init.uploadBytesPerSecond === undefined
          ? undefined
          : new TokenBucket({
              rateBytesPerSecond: init.uploadBytesPerSecond,
              burstBytes: init.uploadBurstBytes,
            });
    } catch (err) {
      throw new MediaServerInitError(`bad upload limit: ${(err as Error).message}`);
    }
    this.#log = (deps.logger ?? silentLogger).child({ component: 'media-server' });
  }

  get stats(): MediaServerStats {
    return {
      requests: this.#requests,
      bytesServed: this.#bytesServed,
      errors: this.#errors,
      rejected: this.#rejected,
      aborted: this.#aborted,
      active: this.#active,
    };
  }

  get address(): MediaServerAddress | undefined {
    const addr = this.#server?.address() as AddressInfo | null | undefined;
    if (!addr) return undefined;
    const host = addr.address;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return { host, port: addr.port, url: `http://${hostPart}:${addr.port}/` };
  }

  /** The URL of file `index` (BEP 19 layout) on this server. */
  fileUrl(index: number): string | undefined {
    const base = this.address?.url;
    return base === undefined ? undefined : base + ContentPaths.pathOf(this.meta, index).slice(1);
  }

  /** Listens (and opens the storage in `dir` mode); `signal` aborts starting, not the server. */
  start(listen: MediaServerListen = {}, signal?: AbortSignal): Promise<MediaServerAddress> {
    if (this.#stopped) return Promise.reject(new MediaServerStoppedError());
    this.#starting ??= this.#start(listen, signal).finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(listen: MediaServerListen, signal: AbortSignal | undefined): Promise<MediaServerAddress> {
    if (this.#server) return this.address!;
    const host = listen.host ?? '127.0.0.1';
    const port = listen.port ?? 0;
    throwIfAborted(signal);
    if (this.#ownsStorage) await this.#storage.open(signal);
    const server = http.createServer((req, res) => this.#handle(req, res));
    // A malformed request line or header never reaches #handle: answer it here.
    server.on('clientError', (err, socket) => {
      this.#requests++;
      this.#errors++;
      this.#log.debug({ err: err.message }, 'malformed HTTP request');
      if (socket.writable && !(err as NodeJS.ErrnoException).code?.startsWith('ECONN')) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      } else {
        socket.destroy();
      }
    });
    // The signal aborts starting only (not the running server), so it is not handed to listen().
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) {
          // Listening completed after an abort: do not leak the socket.
          if (err === undefined) server.close();
          return;
        }
        settled = true;
        server.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) {
          resolve();
          return;
        }
        server.close();
        reject(err);
      };
      const onError = (err: Error): void => settle(new MediaServerListenError(host, port, err));
      const onAbort = (): void =>
        settle(new AbortError('media server start aborted', { cause: signal?.reason }));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      server.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      server.listen({ host, port }, () => settle());
    });
    if (this.#stopped) {
      // stop() ran while we were starting: it had no server to close, so close this one.
      server.close();
      if (this.#ownsStorage) await this.#storage.close();
      throw new MediaServerStoppedError();
    }
    server.on('error', (err) => this.#log.error({ err: err.message }, 'media server error'));
    this.#server = server;
    const address = this.address!;
    this.#log.info({ url: address.url }, 'media server listening');
    return address;
  }

  /** Stops listening, cuts every connection and (in `dir` mode) closes the storage. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopping.abort(new AbortError('media server stopped'));
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    if (this.#ownsStorage) await this.#storage.close();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#requests++;
    const target = req.url ?? '';
    const path = target.length > 256 ? `${target.slice(0, 256)}...` : target;
    // Never let a request body we do not read hold the connection.
    req.resume();
    if (this.#active >= this.maxConcurrent) {
      this.#rejected++;
      this.#reply(res, path, 503, 'too many concurrent requests', {
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.#reply(res, path, 405, `method ${req.method} not allowed`, { Allow: 'GET, HEAD' });
      return;
    }
    const found = this.#paths.lookup(target);
    if (found.kind === 'bad') {
      this.#reply(res, path, 400, found.reason);
      return;
    }
    if (found.kind === 'not-found') {
      this.#reply(res, path, 404, 'no such file in this torrent');
      return;
    }
    const file = this.meta.files[found.file];
    // We send no validators, so an If-Range can never match: RFC 9110 says send everything.
    const rangeHeader = req.headers['if-range'] === undefined ? req.headers.range : undefined;
    const outcome = interpretRange(rangeHeader, file.length);
    if (outcome.kind === 'unsatisfiable') {
      this.#reply(res, path, 416, outcome.reason, { 'Content-Range': `bytes */${file.length}` });
      return;
    }
    const range: ByteRange = outcome.kind === 'partial' ? outcome.range : { first: 0, last: file.length - 1 };
    this.#active++;
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      this.#active--;
    };
    res.once('close', release);
    this.#sendFile(req, res, path, found.file, range, outcome.kind === 'partial').then(release, (err) => {
      // #sendFile handles its own failures; reaching here is a bug, made loud but not fatal.
      this.#errors++;
      this.#log.error({ err: (err as Error).stack ?? String(err) }, 'media server response failed');
      res.destroy();
      release();
    });
  }

  async #sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    fileIndex: number,
    range: ByteRange,
    partial: boolean,
  ): Promise<void> {
    const file = this.meta.files[fileIndex];
    const total = Math.max(0, range.last - range.first + 1);
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(total),
    };
    if (partial) headers['Content-Range'] = `bytes ${range.first}-${range.last}/${file.length}`;
    const status = partial ? 206 : 200;
    const gone = AbortSignal.any([this.#stopping.signal, closedSignal(res)]);
    let sent = 0;
    const done = (): void => {
      this.emit('response', { status, path, file: fileIndex, range, bytes: sent });
    };

    if (req.method === 'HEAD' || total === 0) {
      res.writeHead(status, headers);
      res.end();
      done();
      return;
    }
    let position = file.offset + range.first;
    let remaining = total;
    // The first chunk is read before the status line, so content we lack gets a proper status.
    let chunk: Buffer;
    try {
      chunk = await this.#read(position, remaining);
    } catch (err) {
      const notStored = hasCode(err, 'ERR_PIECE_NOT_STORED');
      this.#log.warn({ path, err: (err as Error).message }, 'could not read content');
      this.#reply(res, path, notStored ? 503 : 500, notStored ? 'content not available' : 'read failed');
      return;
    }
    if (gone.aborted) {
      this.#aborted++;
      return;
    }
    res.writeHead(status, headers);
    // Bounded: each iteration sends at least one byte of `remaining`.
    for (;;) {
      try {
        await this.#bucket?.take(chunk.length, gone);
      } catch {
        break;
      }
      if (gone.aborted) break;
      const flowing = res.write(chunk);
      sent += chunk.length;
      this.#bytesServed += chunk.length;
      position += chunk.length;
      remaining -= chunk.length;
      if (remaining === 0) break;
      // Read the next chunk while the socket drains.
      const next = this.#read(position, remaining);
      next.catch(() => {}); // awaited below; avoids an unhandled rejection if we stop first
      if (!flowing && !(await drained(res, gone))) break;
      try {
        chunk = await next;
      } catch (err) {
        this.#errors++;
        this.#log.warn({ path, err: (err as Error).message }, 'read failed in the middle of a body');
        res.destroy();
        done();
        return;
      }
    }
    if (remaining > 0) {
      // The client went away (or we are stopping): nothing more to send.
      this.#aborted++;
      res.destroy();
    } else {
      res.end();
    }
    done();
  }

  /** Up to `max` content bytes at `offset` (never across a piece boundary). */
  #read(offset: number, max: number): Promise<Buffer> {
    const piece = Math.floor(offset / this.meta.pieceLength);
    const inPiece = offset - piece * this.meta.pieceLength;
    const length = Math.min(max, READ_CHUNK_BYTES, pieceSize(this.meta, piece) - inPiece);
    return this.#storage.read(piece, inPiece, length);
  }

  #reply(
    res: ServerResponse,
    path: string,
    status: number,
    message: string,
    extra: Record<string, string> = {},
  ): void {
    if (status >= 400) this.#errors++;
    if (res.headersSent) {
      res.destroy();
    } else {
      const body = `${status} ${message}\n`;
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(body)),
        ...extra,
      });
      res.end(res.req.method === 'HEAD' ? undefined : body);
    }
    this.emit('response', { status, path, bytes: 0 });
  }
}

/** Aborts when the response's connection closes (client gone, or the response ended). */
function closedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  if (res.closed) controller.abort();
  else res.once('close', () => controller.abort());
  return controller.signal;
}

/** Resolves true on 'drain', false when `signal` aborts first. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      res.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = (): void => finish(true);
    const onAbort = (): void => finish(false);
    res.on('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
