import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { ExecutionContext } from 'ava';
import { asDict, type BencodeDict, decode } from '../../../agent/peer/bencode/index.js';
import { percentEncodeBytes } from '../../../agent/peer/tracker/http-announcer.js';
import {
  TrackerServer,
  type TrackerServerDeps,
  type TrackerServerInit,
} from '../../../agent/tracker/index.js';

export const RAW_TIMEOUT_MS = 5_000;

/** A tracker on an ephemeral loopback port, stopped when the test ends. */
export async function startTracker(
  t: ExecutionContext,
  init: Partial<TrackerServerInit> = {},
  deps: TrackerServerDeps = {},
): Promise<{ server: TrackerServer; port: number; url: string }> {
  const server = new TrackerServer({ host: '127.0.0.1', port: 0, ...init }, deps);
  t.teardown(() => server.stop());
  const { port } = await server.start();
  return { server, port, url: server.announceUrl! };
}

/** 20 bytes derived from a number, with bytes that need escaping (0x00, 0xff, '%', '&', '+'). */
export function id20(n: number, tag = 0x41): Buffer {
  const b = Buffer.alloc(20, tag);
  b.writeUInt32BE(n >>> 0, 0);
  b[4] = 0x00;
  b[5] = 0xff;
  b[6] = 0x25;
  b[7] = 0x26;
  b[8] = 0x2b;
  return b;
}

export interface QueryFields {
  infoHash?: Buffer;
  peerId?: Buffer;
  port?: number | string;
  left?: number;
  [extra: string]: string | number | Buffer | undefined;
}

/** An announce query with binary fields percent-encoded; `undefined` drops a field. */
export function announceQuery(fields: QueryFields): string {
  const all: Record<string, string | number | Buffer | undefined> = {
    info_hash: fields.infoHash,
    peer_id: fields.peerId,
    port: fields.port,
    uploaded: 0,
    downloaded: 0,
    left: fields.left ?? 1000,
    ...Object.fromEntries(
      Object.entries(fields).filter(([k]) => !['infoHash', 'peerId', 'port', 'left'].includes(k)),
    ),
  };
  return Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? percentEncodeBytes(v) : String(v)}`)
    .join('&');
}

export interface RawReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A GET with the path sent exactly as given (node:http does not re-encode it). */
export function rawGet(port: number, path: string, host = '127.0.0.1', method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, agent: false, timeout: RAW_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no reply within ${RAW_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Writes raw bytes on a fresh connection and returns everything the server sends until it closes. */
export function rawExchange(port: number, bytes: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => socket.destroy(new Error(`server did not close within ${RAW_TIMEOUT_MS} ms`)),
      RAW_TIMEOUT_MS,
    );
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

export function bodyDict(reply: RawReply): BencodeDict {
  return asDict(decode(reply.body), 'reply');
}

/** The failure reason of a reply, or undefined when it has none. */
export function failureOf(reply: RawReply): string | undefined {
  const v = bodyDict(reply)['failure reason'];
  return Buffer.isBuffer(v) ? v.toString() : undefined;
}

/**
 * Whether ::1 is configured (it is missing in some containers). Synchronous, because ava needs
 * every test declared before the first await.
 */
export function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
}
