import type { Socket } from 'node:net';
import { AbortError } from '../errors.js';
import { HANDSHAKE_LENGTH, PROTOCOL_NAME, RESERVED_EXTENSION_PROTOCOL, RESERVED_FAST } from './constants.js';
import { BadHandshakeError, TimeoutError } from './errors.js';

/** The first 20 bytes of every BEP 3 handshake: the length byte and the protocol string. */
const PROTOCOL_PREFIX = Buffer.concat([
  Buffer.from([PROTOCOL_NAME.length]),
  Buffer.from(PROTOCOL_NAME, 'latin1'),
]);

export interface Handshake {
  readonly reserved: Buffer;
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  /** BEP 10 extension protocol. */
  readonly extensions: boolean;
  /** BEP 6 fast extension. */
  readonly fast: boolean;
}

export function parseHandshake(frame: Buffer): Handshake {
  if (frame[0] !== PROTOCOL_NAME.length || frame.toString('latin1', 1, 20) !== PROTOCOL_NAME) {
    throw new BadHandshakeError('not a BitTorrent handshake (protocol string mismatch)');
  }
  const reserved = Buffer.from(frame.subarray(20, 28));
  return {
    reserved,
    infoHash: Buffer.from(frame.subarray(28, 48)),
    peerId: Buffer.from(frame.subarray(48, 68)),
    extensions: (reserved[RESERVED_EXTENSION_PROTOCOL.byte] & RESERVED_EXTENSION_PROTOCOL.mask) !== 0,
    fast: (reserved[RESERVED_FAST.byte] & RESERVED_FAST.mask) !== 0,
  };
}

/**
 * Incremental handshake parser. Copies what it keeps, so it works on chunks that are only valid
 * during the call (a socket reading into a shared buffer). Checks the protocol prefix byte by
 * byte, so garbage fails on its first byte.
 */
export class HandshakeParser {
  #buffer = Buffer.allocUnsafe(HANDSHAKE_LENGTH);
  received = 0;

  /** Returns the handshake and a copy of the bytes after it once complete; throws BadHandshakeError. */
  push(chunk: Buffer): { handshake: Handshake; rest: Buffer } | undefined {
    const take = Math.min(chunk.length, HANDSHAKE_LENGTH - this.received);
    chunk.copy(this.#buffer, this.received, 0, take);
    const before = this.received;
    this.received += take;
    const prefixEnd = Math.min(this.received, PROTOCOL_PREFIX.length);
    if (
      prefixEnd > before &&
      this.#buffer.compare(PROTOCOL_PREFIX, before, prefixEnd, before, prefixEnd) !== 0
    ) {
      throw new BadHandshakeError('not a BitTorrent handshake (protocol string mismatch)');
    }
    if (this.received < HANDSHAKE_LENGTH) return undefined;
    return { handshake: parseHandshake(this.#buffer), rest: Buffer.from(chunk.subarray(take)) };
  }
}

/** Where handshake bytes come from: socket `data` events by default, or a custom feed. */
export type ChunkSubscription = (onChunk: (chunk: Buffer) => void) => () => void;

/**
 * Reads the 68-byte handshake from a socket. Resolves with it and any bytes that followed (the
 * start of the message stream); rejects on a bad protocol string, early close, timeout or abort.
 * `subscribe` feeds chunks for sockets that read into their own buffer (`onread`); by default
 * the socket's `data` events are used, and the socket is paused once the handshake is in so no
 * message is lost before the caller attaches its reader.
 */
export function readHandshake(
  socket: Socket,
  timeoutMs: number,
  signal?: AbortSignal,
  subscribe?: ChunkSubscription,
): Promise<{ handshake: Handshake; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const parser = new HandshakeParser();
    let unsubscribe: () => void = () => {};
    const finish = (err: Error | null, value?: { handshake: Handshake; rest: Buffer }): void => {
      clearTimeout(timer);
      unsubscribe();
      socket.off('close', onClose);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const onChunk = (chunk: Buffer): void => {
      let result: { handshake: Handshake; rest: Buffer } | undefined;
      try {
        result = parser.push(chunk);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (result === undefined) return;
      if (subscribe === undefined) socket.pause();
      finish(null, result);
    };
    const onClose = (): void =>
      finish(new BadHandshakeError(`connection closed after ${parser.received} handshake bytes`));
    const onError = (err: Error): void =>
      finish(new BadHandshakeError(`socket error during handshake: ${err.message}`));
    const onAbort = (): void => finish(new AbortError('handshake aborted', { cause: signal?.reason }));
    const timer = setTimeout(
      () => finish(new TimeoutError(`no handshake within ${timeoutMs} ms (got ${parser.received} bytes)`)),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (subscribe) unsubscribe = subscribe(onChunk);
    else {
      socket.on('data', onChunk);
      unsubscribe = () => socket.off('data', onChunk);
    }
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}
