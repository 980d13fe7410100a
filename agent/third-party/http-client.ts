import { type IncomingHttpHeaders, request } from 'node:http';
import { RpcError } from './errors.js';

/** Default bound of one RPC round trip. */
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
/** Replies larger than this are refused rather than buffered. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Where an HTTP server is reached: TCP, or a Unix socket (see NetnsTcpRelay). */
export type HttpEndpoint = { readonly host: string; readonly port: number } | { readonly socketPath: string };

export interface HttpRequestInit {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A URL-like name of `endpoint` + `path`, for error messages. */
export function describeEndpoint(endpoint: HttpEndpoint, path: string): string {
  if ('socketPath' in endpoint) return `http+unix://${endpoint.socketPath}${path}`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `http://${host}:${endpoint.port}${path}`;
}

/** One HTTP exchange; every failure (transport, timeout, oversize reply) is an RpcError. */
export function httpRequest(endpoint: HttpEndpoint, init: HttpRequestInit): Promise<HttpResponse> {
  const url = describeEndpoint(endpoint, init.path);
  const timeoutMs = init.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (init.signal?.aborted) {
      reject(new RpcError(url, 'aborted before the request was sent', { cause: init.signal.reason }));
      return;
    }
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    const headers: Record<string, string | number> = { ...init.headers };
    if (body !== undefined) headers['content-length'] = body.length;
    const target =
      'socketPath' in endpoint
        ? { socketPath: endpoint.socketPath }
        : { host: endpoint.host, port: endpoint.port };
    // A fresh connection per request: opentracker closes after every reply, and a kept-alive
    // socket reused just as the server closes it fails with "socket hang up".
    headers.connection = 'close';
    const req = request({
      ...target,
      agent: false,
      method: init.method,
      path: init.path,
      headers,
      signal: init.signal,
    });
    const timer = setTimeout(() => {
      req.destroy(new RpcError(url, `no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof RpcError ? err : new RpcError(url, err.message, { cause: err }));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new RpcError(url, `reply larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(new RpcError(url, err.message, { cause: err }));
      });
    });
    req.end(body);
  });
}

/** Parses a JSON reply body, turning a parse failure into an RpcError naming the URL. */
export function parseJsonBody(url: string, body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    const excerpt = body.subarray(0, 200).toString('utf8');
    throw new RpcError(url, `reply is not JSON: ${JSON.stringify(excerpt)}`, { cause: err });
  }
}
