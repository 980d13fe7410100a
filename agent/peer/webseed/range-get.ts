import http from 'node:http';
import https from 'node:https';
import { AbortError } from '../errors.js';
import {
  WebSeedConnectionError,
  type WebSeedError,
  WebSeedHttpStatusError,
  WebSeedLengthError,
  WebSeedRangeError,
  WebSeedShortBodyError,
  WebSeedTimeoutError,
} from './errors.js';

export interface RangeGetRequest {
  readonly url: URL;
  /** The piece this range belongs to (named in errors). */
  readonly piece: number;
  /** First byte of the file to fetch. */
  readonly offset: number;
  /** Bytes to fetch (> 0). */
  readonly length: number;
  /** Length of the whole file: a 200 answer is acceptable only when the range is the whole file. */
  readonly fileLength: number;
  /** The bytes are written here, at `targetOffset`. */
  readonly target: Buffer;
  readonly targetOffset: number;
}

export interface RangeGetOptions {
  /** Whole exchange, connect to last byte. */
  readonly timeoutMs: number;
  readonly agent?: http.Agent;
  readonly signal?: AbortSignal;
  readonly userAgent?: string;
}

const CONTENT_RANGE = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i;

/**
 * One HTTP range GET of exactly `length` bytes, written straight into `target`. node:http rather
 * than fetch: a keep-alive Agent keeps a web seed on few connections, and the body is copied into
 * the piece buffer as it arrives instead of being collected first.
 *
 * Every way the server can fail us is a typed WebSeedError; a connection that failed is destroyed
 * rather than returned to the agent's pool.
 */
export function rangeGet(request: RangeGetRequest, opts: RangeGetOptions): Promise<void> {
  const { url, piece, offset, length, target, targetOffset } = request;
  const urlText = url.href;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new AbortError(`${urlText}: aborted`, { cause: opts.signal.reason }));
      return;
    }
    let settled = false;
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve();
        return;
      }
      req.destroy();
      reject(err);
    };
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method: 'GET',
      agent: opts.agent,
      headers: {
        Range: `bytes=${offset}-${offset + length - 1}`,
        'Accept-Encoding': 'identity',
        'User-Agent': opts.userAgent ?? 'seedstream',
      },
    });
    const timer = setTimeout(
      () => finish(new WebSeedTimeoutError(urlText, piece, opts.timeoutMs)),
      opts.timeoutMs,
    );
    const onAbort = (): void => finish(new AbortError(`${urlText}: aborted`, { cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(new WebSeedConnectionError(urlText, piece, err)));
    req.on('response', (res) => {
      const problem = checkHeaders(res, request, urlText);
      if (problem !== undefined) {
        finish(problem);
        return;
      }
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (received + chunk.length > length) {
          finish(new WebSeedLengthError(urlText, piece, length, received + chunk.length));
          return;
        }
        chunk.copy(target, targetOffset + received);
        received += chunk.length;
      });
      res.on('end', () => {
        if (received < length) finish(new WebSeedShortBodyError(urlText, piece, length, received));
        else finish(undefined);
      });
      res.on('error', (err) => finish(new WebSeedShortBodyError(urlText, piece, length, received, err)));
      res.on('close', () => {
        if (!res.complete) finish(new WebSeedShortBodyError(urlText, piece, length, received));
      });
    });
    req.end();
  });
}

/** The status and headers promise exactly the bytes asked for, or the reason they do not. */
function checkHeaders(
  res: http.IncomingMessage,
  request: RangeGetRequest,
  urlText: string,
): WebSeedError | undefined {
  const { piece, offset, length, fileLength } = request;
  const status = res.statusCode ?? 0;
  if (status === 200) {
    // A server without range support sends the whole file: usable only if that is what we asked.
    if (offset !== 0 || length !== fileLength) {
      return new WebSeedRangeError(urlText, piece, 'the server ignored the Range header (200, not 206)');
    }
  } else if (status === 206) {
    const header = res.headers['content-range'];
    const match = header === undefined ? null : CONTENT_RANGE.exec(header);
    if (match === null) {
      return new WebSeedRangeError(
        urlText,
        piece,
        `206 with a missing or malformed Content-Range "${header ?? ''}"`,
      );
    }
    const first = Number(match[1]);
    const last = Number(match[2]);
    if (first !== offset || last !== offset + length - 1) {
      return new WebSeedRangeError(
        urlText,
        piece,
        `asked for bytes ${offset}-${offset + length - 1}, got ${first}-${last}`,
      );
    }
    if (match[3] !== '*' && Number(match[3]) !== fileLength) {
      return new WebSeedLengthError(urlText, piece, fileLength, Number(match[3]), 'file');
    }
  } else {
    return new WebSeedHttpStatusError(urlText, piece, status);
  }
  const declared = res.headers['content-length'];
  if (declared !== undefined && Number(declared) !== length) {
    return new WebSeedLengthError(urlText, piece, length, Number(declared), 'Content-Length');
  }
  return undefined;
}
