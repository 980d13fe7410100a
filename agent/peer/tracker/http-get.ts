import http from 'node:http';
import https from 'node:https';
import { AbortError } from '../errors.js';
import { TrackerNetworkError, TrackerResponseError, TrackerTimeoutError } from './errors.js';

export interface HttpGetOptions {
  /** Whole exchange, connect to last byte. */
  readonly timeoutMs: number;
  /** Bodies larger than this are refused rather than buffered. */
  readonly maxBytes: number;
  readonly agent?: http.Agent;
  readonly signal?: AbortSignal;
}

export interface HttpGetResult {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * One GET of `path` (already percent-encoded, sent byte for byte) on the host of `base`. node:http
 * rather than fetch: the query carries binary percent-escapes that must not be re-encoded, and a
 * keep-alive Agent keeps announces to the same tracker on one connection.
 */
export function httpGet(
  base: URL,
  path: string,
  urlText: string,
  opts: HttpGetOptions,
): Promise<HttpGetResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new AbortError(`${urlText}: aborted`, { cause: opts.signal.reason }));
      return;
    }
    let settled = false;
    const finish = (err: Error | undefined, result?: HttpGetResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(result!);
    };
    const lib = base.protocol === 'https:' ? https : http;
    const req = lib.request({
      protocol: base.protocol,
      hostname: base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname,
      port: base.port === '' ? undefined : Number(base.port),
      path,
      method: 'GET',
      agent: opts.agent,
      headers: { 'Accept-Encoding': 'identity' },
    });
    const timer = setTimeout(() => {
      const err = new TrackerTimeoutError(urlText, opts.timeoutMs);
      finish(err);
      req.destroy(err);
    }, opts.timeoutMs);
    const onAbort = (): void => {
      const err = new AbortError(`${urlText}: aborted`, { cause: opts.signal?.reason });
      finish(err);
      req.destroy(err);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(new TrackerNetworkError(urlText, { cause: err })));
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > opts.maxBytes) {
        finish(new TrackerResponseError(urlText, `response of ${declared} bytes exceeds ${opts.maxBytes}`));
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) {
          finish(new TrackerResponseError(urlText, `response exceeds ${opts.maxBytes} bytes`));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks, size) }),
      );
      res.on('error', (err) => finish(new TrackerNetworkError(urlText, { cause: err })));
      res.on('aborted', () =>
        finish(new TrackerNetworkError(urlText, { cause: new Error('response aborted') })),
      );
    });
    req.end();
  });
}
