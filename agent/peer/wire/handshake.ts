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
 * Reads the 68-byte handshake from a socket. Resolves with it and any bytes that followed (the
 * start of the message stream); rejects on a bad protocol string, early close, timeout or abort.
 * The protocol string is checked as soon as its bytes arrive, so garbage is rejected early.
 */
export function readHandshake(
  socket: Socket,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ handshake: Handshake; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (err: Error | null, value?: { handshake: Handshake; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(all);
      // Compare whatever part of the 20-byte prefix is in, so garbage fails on its first byte.
      const prefixBytes = Math.min(received, PROTOCOL_PREFIX.length);
      if (all.compare(PROTOCOL_PREFIX, 0, prefixBytes, 0, prefixBytes) !== 0) {
        finish(new BadHandshakeError('not a BitTorrent handshake (protocol string mismatch)'));
        return;
      }
      if (received < HANDSHAKE_LENGTH) return;
      // Pause until the caller attaches its own reader, so no message is lost in between.
      socket.pause();
      try {
        finish(null, { handshake: parseHandshake(all), rest: all.subarray(HANDSHAKE_LENGTH) });
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = (): void =>
      finish(new BadHandshakeError(`connection closed after ${received} handshake bytes`));
    const onError = (err: Error): void =>
      finish(new BadHandshakeError(`socket error during handshake: ${err.message}`));
    const onAbort = (): void => finish(new AbortError('handshake aborted', { cause: signal?.reason }));
    const timer = setTimeout(
      () => finish(new TimeoutError(`no handshake within ${timeoutMs} ms (got ${received} bytes)`)),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}
