import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';
import { MessageId } from '../../agent/peer/wire/constants.js';
import { WireDecoder } from '../../agent/peer/wire/decoder.js';
import {
  encodeBitfield,
  encodeBlockFrame,
  encodeHandshake,
  PIECE_HEADER_LENGTH,
  reservedBytes,
  writePieceHeader,
} from '../../agent/peer/wire/encoder.js';
import { type Handshake, readHandshake } from '../../agent/peer/wire/handshake.js';
import { WAIT_MS } from './peer-node.js';
import { type WireEvent, WireRecorder } from './wire-recorder.js';

/**
 * A hand-driven BitTorrent peer for hostile-peer tests: it writes a handshake and then whatever
 * frames a test gives it, byte-exact, and decodes what the other side sends (block data discarded).
 */
export class RawPeer {
  readonly socket: Socket;
  readonly recorder = new WireRecorder(() => null);
  readonly decoder: WireDecoder;
  /** The other side's handshake, once read. */
  handshake: Handshake | undefined;
  /** A decode error of what the other side sent (it should never send garbage). */
  decodeError: unknown;
  readonly #closed: Promise<void>;
  readonly #waiters = new Set<() => void>();

  constructor(socket: Socket, pieceCount: number) {
    this.socket = socket;
    this.decoder = new WireDecoder(this.recorder, { pieceCount });
    socket.on('error', () => {});
    // Not events.once: it rejects on 'error', and a reset connection is an expected end here.
    this.#closed = new Promise<void>((resolve) => socket.once('close', () => resolve())).then(() =>
      this.#notify(),
    );
  }

  /** Dials `port` on 127.0.0.1 and sends a handshake; closed in t.teardown. */
  static async connect(
    t: ExecutionContext,
    port: number,
    opts: RawHandshakeInit & { pieceCount: number; readHandshake?: boolean },
  ): Promise<RawPeer> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const peer = new RawPeer(socket, opts.pieceCount);
    t.teardown(() => socket.destroy());
    await once(socket, 'connect');
    socket.write(rawHandshake(opts));
    if (opts.readHandshake !== false) await peer.readHandshake();
    return peer;
  }

  /** Reads the other side's handshake, then decodes everything after it. */
  async readHandshake(): Promise<Handshake> {
    const { handshake, rest } = await readHandshake(this.socket, WAIT_MS);
    this.handshake = handshake;
    this.socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    this.#receive(rest);
    this.socket.resume();
    return handshake;
  }

  #receive(chunk: Buffer): void {
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.decodeError ??= err;
    }
    this.#notify();
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  get events(): readonly WireEvent[] {
    return this.recorder.events;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  send(...frames: Uint8Array[]): void {
    if (!this.socket.destroyed) this.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }

  /** Resolves once `condition` holds (checked as messages arrive); rejects on close or timeout. */
  waitUntil(condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition()) finish(null);
        else if (this.socket.destroyed) finish(new Error('connection closed before the condition held'));
      };
      const timer = setTimeout(
        () => finish(new Error(`condition not met within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (err: Error | null): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the first received message of `kind` (and matching `match`); rejects on close or timeout. */
  async waitFor(
    kind: string,
    match: (e: WireEvent) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<WireEvent> {
    const find = (): WireEvent | undefined => this.recorder.events.find((e) => e[0] === kind && match(e));
    await this.waitUntil(() => find() !== undefined, timeoutMs);
    return find()!;
  }

  /** Resolves when the other side closed the connection; rejects after `timeoutMs`. */
  async whenClosed(timeoutMs = WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.#closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface RawHandshakeInit {
  readonly infoHash: Uint8Array;
  readonly peerId?: Uint8Array;
  readonly fast?: boolean;
  readonly extensions?: boolean;
}

let rawPeerNumber = 0;

export function rawHandshake(opts: RawHandshakeInit): Buffer {
  const peerId = opts.peerId ?? Buffer.from(`-RW0001-${String(rawPeerNumber++).padStart(12, '0')}`);
  return encodeHandshake(
    opts.infoHash,
    peerId,
    reservedBytes({ extensions: opts.extensions ?? false, fast: opts.fast ?? false }),
  );
}

/** A piece message carrying `block`. */
export function pieceMessage(index: number, begin: number, block: Uint8Array): Buffer {
  const frame = Buffer.alloc(PIECE_HEADER_LENGTH + block.length);
  writePieceHeader(frame, 0, index, begin, block.length);
  frame.set(block, PIECE_HEADER_LENGTH);
  return frame;
}

export const requestMessage = (index: number, begin: number, length: number): Buffer =>
  encodeBlockFrame(MessageId.request, index, begin, length);

/** A bitfield message with every one of `pieceCount` pieces set. */
export function fullBitfield(pieceCount: number): Buffer {
  const bytes = Buffer.alloc(Math.ceil(pieceCount / 8), 0xff);
  const spare = bytes.length * 8 - pieceCount;
  if (spare > 0) bytes[bytes.length - 1] &= 0xff << spare;
  return encodeBitfield(bytes);
}

/**
 * A listening raw peer: every inbound connection gets our handshake back and is handed to
 * `onPeer`, already decoding. Closed in t.teardown.
 */
export async function rawListener(
  t: ExecutionContext,
  opts: RawHandshakeInit & { pieceCount: number },
  onPeer: (peer: RawPeer) => void,
): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const peer = new RawPeer(socket, opts.pieceCount);
    peer.readHandshake().then(
      () => {
        socket.write(rawHandshake(opts));
        onPeer(peer);
      },
      () => socket.destroy(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, port: (server.address() as AddressInfo).port };
}
