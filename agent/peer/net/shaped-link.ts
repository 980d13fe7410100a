import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Random, type Seed } from '../random.js';
import { LinkInitError } from './errors.js';
import type { Link } from './link.js';

/** Unit of the round robin between a peer's connections: one block message (BEP 3 piece). */
export const ROUND_ROBIN_QUANTUM_BYTES = 16_384 + 13;
/** Default bucket depth: this long at the rate, and never less than MIN_BURST_BYTES. */
export const DEFAULT_BURST_MS = 10;
export const MIN_BURST_BYTES = 2 * ROUND_ROBIN_QUANTUM_BYTES;
/**
 * Default queueing the upload side allows (ms at the upload rate, shared by the active
 * connections) before a connection's writer counts as congested: enough to keep the pipe busy
 * between two serving turns, short enough not to add latency to what is sent next.
 */
export const DEFAULT_QUEUE_MS = 100;
/** A connection's send queue never counts as congested below this many bytes. */
export const MIN_QUEUE_HIGH_WATER_BYTES = 2 * ROUND_ROBIN_QUANTUM_BYTES;
/** Bytes released to a socket but not yet taken by the kernel, or in the delay line, that count as congested. */
export const MIN_IN_FLIGHT_HIGH_WATER_BYTES = 256 * 1024;
/** Without an upload rate, what a delayed connection may have in flight (a TCP window of sorts). */
export const UNLIMITED_IN_FLIGHT_HIGH_WATER_BYTES = 8 * 1_048_576;
/** Receive side: a connection whose held inbound bytes exceed its window stops reading its socket. */
export const MIN_RECEIVE_WINDOW_BYTES = 256 * 1024;
export const UNLIMITED_RECEIVE_WINDOW_BYTES = 8 * 1_048_576;

export interface ShapedLinkInit {
  /** Upload rate in bytes/s; absent or Infinity: not limited. */
  readonly uploadBytesPerSecond?: number;
  /** Download rate in bytes/s; absent or Infinity: not limited. */
  readonly downloadBytesPerSecond?: number;
  /** Upload bucket depth; default max(MIN_BURST_BYTES, DEFAULT_BURST_MS at the rate). */
  readonly uploadBurstBytes?: number;
  readonly downloadBurstBytes?: number;
  /**
   * One-way delay added in each direction: data sent is released to the socket `delayMs` after
   * it left the upload bucket, data read is delivered `delayMs` after it left the download
   * bucket. Between two shaped peers the one-way delay is the sum of both; the round trip twice it.
   */
  readonly delayMs?: number;
  /** Each chunk's delay varies uniformly by ±jitterMs (never below 0; order kept per connection). */
  readonly jitterMs?: number;
  /** Seeds the jitter. Default 0. */
  readonly seed?: Seed;
  /** See DEFAULT_QUEUE_MS. */
  readonly queueMs?: number;
}

/** Traffic of one socket in one direction: a queue waiting for tokens, then a delay line. */
interface Item {
  data: Uint8Array;
  offset: number;
  done: (() => void) | undefined;
}

interface Delayed {
  readonly at: number;
  readonly data: Uint8Array;
  readonly done: (() => void) | undefined;
}

class Queue {
  readonly items: Item[] = [];
  head = 0;
  queuedBytes = 0;
  readonly delayed: Delayed[] = [];
  delayedHead = 0;
  delayedBytes = 0;
  lastReleaseAt = 0;
  inRoundRobin = false;
  inDelayLine = false;
  readonly release: (data: Uint8Array, done: (() => void) | undefined) => void;

  constructor(release: (data: Uint8Array, done: (() => void) | undefined) => void) {
    this.release = release;
  }

  get empty(): boolean {
    return this.head === this.items.length;
  }

  /** Up to `max` bytes from the head of the queue; `done` goes with the last part of an item. */
  take(max: number): Delayed {
    const item = this.items[this.head];
    const rest = item.data.length - item.offset;
    if (rest <= max) {
      this.items[this.head] = undefined as unknown as Item; // let the buffer go
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      this.queuedBytes -= rest;
      const data = item.offset === 0 ? item.data : item.data.subarray(item.offset);
      return { at: 0, data, done: item.done };
    }
    const data = item.data.subarray(item.offset, item.offset + max);
    item.offset += max;
    this.queuedBytes -= max;
    return { at: 0, data, done: undefined };
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    this.delayed.length = 0;
    this.delayedHead = 0;
    this.delayedBytes = 0;
  }
}

/** A token bucket that may run into debt by one quantum, so the long-run rate holds exactly. */
class Bucket {
  readonly rate: number;
  readonly burst: number;
  tokens: number;
  #at: number;

  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.#at = now;
  }

  get limited(): boolean {
    return this.rate !== Number.POSITIVE_INFINITY;
  }

  refill(now: number): void {
    if (!this.limited) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.#at) * this.rate) / 1000);
    this.#at = now;
  }

  /** Milliseconds until the bucket holds a positive amount again. */
  get waitMs(): number {
    return this.tokens > 0 ? 0 : (-this.tokens / this.rate) * 1000 + 0.05;
  }
}

/** One direction of the link: a bucket shared round-robin by its connections, then the delay line. */
class Lane {
  readonly bucket: Bucket;
  readonly #delayMs: number;
  readonly #jitterMs: number;
  readonly #random: Random;
  readonly #roundRobin: Queue[] = [];
  #next = 0;
  readonly #delaying = new Set<Queue>();
  movedBytes = 0;

  constructor(bucket: Bucket, delayMs: number, jitterMs: number, random: Random) {
    this.bucket = bucket;
    this.#delayMs = delayMs;
    this.#jitterMs = jitterMs;
    this.#random = random;
  }

  get activeCount(): number {
    return this.#roundRobin.length;
  }

  push(q: Queue, data: Uint8Array, done: (() => void) | undefined): void {
    q.items.push({ data, offset: 0, done });
    q.queuedBytes += data.length;
    if (!q.inRoundRobin) {
      q.inRoundRobin = true;
      this.#roundRobin.push(q);
    }
  }

  /** Moves what the bucket allows into the delay line and releases what is due. */
  pump(now: number): void {
    const bucket = this.bucket;
    bucket.refill(now);
    const rr = this.#roundRobin;
    while (rr.length > 0 && bucket.tokens > 0) {
      if (this.#next >= rr.length) this.#next = 0;
      const q = rr[this.#next];
      const part = q.take(bucket.limited ? ROUND_ROBIN_QUANTUM_BYTES : Number.POSITIVE_INFINITY);
      if (bucket.limited) bucket.tokens -= part.data.length;
      this.movedBytes += part.data.length;
      this.#enterDelayLine(q, part, now);
      if (q.empty) {
        q.inRoundRobin = false;
        rr.splice(this.#next, 1);
      } else {
        this.#next++;
      }
    }
    for (const q of this.#delaying) {
      while (q.delayedHead < q.delayed.length && q.delayed[q.delayedHead].at <= now) {
        const d = q.delayed[q.delayedHead];
        q.delayed[q.delayedHead] = undefined as unknown as Delayed;
        q.delayedHead++;
        q.delayedBytes -= d.data.length;
        q.release(d.data, d.done);
      }
      if (q.delayedHead === q.delayed.length) {
        q.delayed.length = 0;
        q.delayedHead = 0;
        q.inDelayLine = false;
        this.#delaying.delete(q);
      }
    }
  }

  #enterDelayLine(q: Queue, part: Delayed, now: number): void {
    if (this.#delayMs === 0 && this.#jitterMs === 0) {
      q.release(part.data, part.done);
      return;
    }
    const jitter = this.#jitterMs === 0 ? 0 : (this.#random.next() * 2 - 1) * this.#jitterMs;
    // A connection is a byte stream: jitter never lets a later chunk overtake an earlier one.
    const at = Math.max(now + Math.max(0, this.#delayMs + jitter), q.lastReleaseAt);
    q.lastReleaseAt = at;
    q.delayed.push({ at, data: part.data, done: part.done });
    q.delayedBytes += part.data.length;
    if (!q.inDelayLine) {
      q.inDelayLine = true;
      this.#delaying.add(q);
    }
  }

  /** When this lane next has something to do; Infinity when idle. */
  nextWakeAt(now: number): number {
    let at = this.#roundRobin.length > 0 ? now + this.bucket.waitMs : Number.POSITIVE_INFINITY;
    for (const q of this.#delaying) {
      if (q.delayedHead < q.delayed.length) at = Math.min(at, q.delayed[q.delayedHead].at);
    }
    return at;
  }

  drop(q: Queue): void {
    if (q.inRoundRobin) {
      const i = this.#roundRobin.indexOf(q);
      if (i >= 0) {
        this.#roundRobin.splice(i, 1);
        if (this.#next > i) this.#next--;
      }
      q.inRoundRobin = false;
    }
    this.#delaying.delete(q);
    q.inDelayLine = false;
    q.clear();
  }
}

/** One socket's state on the link. */
class Channel {
  readonly socket: Socket;
  readonly up: Queue;
  readonly down: Queue;
  deliver: (chunk: Buffer) => void = () => {};
  paused = false;
  readonly waiters: Array<() => void> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    this.up = new Queue((data, done) => {
      if (socket.destroyed) return;
      socket.write(data, done);
    });
    this.down = new Queue((data) => {
      // A connection closed by its torrent takes no more input.
      if (!socket.destroyed) this.deliver(data as Buffer);
    });
  }
}

function checkRate(name: string, value: number | undefined): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (!(Number.isFinite(value) && value > 0))
    throw new LinkInitError(`${name} must be a positive number of bytes/s or Infinity, got ${value}`);
  return value;
}

function checkNonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= 0))
    throw new LinkInitError(`${name} must be a finite number >= 0, got ${value}`);
  return value;
}

function burstOf(name: string, rate: number, burst: number | undefined): number {
  if (burst !== undefined) {
    if (!(Number.isFinite(burst) && burst >= 1))
      throw new LinkInitError(`${name} must be a finite number >= 1, got ${burst}`);
    return burst;
  }
  if (rate === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return Math.max(MIN_BURST_BYTES, (rate * DEFAULT_BURST_MS) / 1000);
}

/**
 * Application-level shaping of one peer's access link. Every connection of the peer sends
 * through one upload token bucket and reads through one download token bucket (the buckets are
 * served round-robin by connection, a quantum at a time, as TCP flows share a bottleneck), and
 * then through a delay line. Writers see congestion when their share of the queue grows long;
 * readers stop reading their socket when the link holds more than a window of their input, so
 * the remote's writes back up as with TCP flow control.
 *
 * One timer per link, armed only while something is queued or delayed.
 */
export class ShapedLink implements Link {
  readonly name = 'shaped';
  readonly holdsChunks = true;
  readonly uploadBytesPerSecond: number;
  readonly downloadBytesPerSecond: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly #queueMs: number;
  readonly #up: Lane;
  readonly #down: Lane;
  readonly #channels = new Map<Socket, Channel>();
  /** Channels with paused sockets or waiting writers: checked after every pump. */
  readonly #watched = new Set<Channel>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #pumping = false;
  #again = false;
  #closed = false;

  constructor(init: ShapedLinkInit = {}) {
    this.uploadBytesPerSecond = checkRate('uploadBytesPerSecond', init.uploadBytesPerSecond);
    this.downloadBytesPerSecond = checkRate('downloadBytesPerSecond', init.downloadBytesPerSecond);
    this.delayMs = checkNonNegative('delayMs', init.delayMs, 0);
    this.jitterMs = checkNonNegative('jitterMs', init.jitterMs, 0);
    this.#queueMs = checkNonNegative('queueMs', init.queueMs, DEFAULT_QUEUE_MS);
    const now = performance.now();
    const random = new Random(init.seed ?? 0).fork('link-jitter');
    this.#up = new Lane(
      new Bucket(
        this.uploadBytesPerSecond,
        burstOf('uploadBurstBytes', this.uploadBytesPerSecond, init.uploadBurstBytes),
        now,
      ),
      this.delayMs,
      this.jitterMs,
      random.fork('up'),
    );
    this.#down = new Lane(
      new Bucket(
        this.downloadBytesPerSecond,
        burstOf('downloadBurstBytes', this.downloadBytesPerSecond, init.downloadBurstBytes),
        now,
      ),
      this.delayMs,
      this.jitterMs,
      random.fork('down'),
    );
  }

  /** Bytes that went through the upload bucket (sent, or in the delay line). */
  get sentBytes(): number {
    return this.#up.movedBytes;
  }

  /** Bytes that went through the download bucket (delivered, or in the delay line). */
  get receivedBytes(): number {
    return this.#down.movedBytes;
  }

  /** The link's timer is armed (something is queued or delayed). */
  get busy(): boolean {
    return this.#timer !== undefined;
  }

  send(socket: Socket, data: Uint8Array, done?: () => void): void {
    if (this.#closed) {
      socket.write(data, done);
      return;
    }
    if (socket.destroyed || data.length === 0) return;
    const ch = this.#channel(socket);
    this.#up.push(ch.up, data, done);
    this.#pump();
  }

  receive(socket: Socket, chunk: Buffer, deliver: (chunk: Buffer) => void): void {
    if (this.#closed) {
      deliver(chunk);
      return;
    }
    if (socket.destroyed || chunk.length === 0) return;
    const ch = this.#channel(socket);
    ch.deliver = deliver;
    this.#down.push(ch.down, chunk, undefined);
    this.#pump();
    if (!ch.paused && this.#inboundHeld(ch) > this.#receiveWindow) {
      ch.paused = true;
      socket.pause();
      this.#watched.add(ch);
    }
  }

  heldBytes(socket: Socket): number {
    const ch = this.#channels.get(socket);
    return ch === undefined ? 0 : ch.up.queuedBytes + ch.up.delayedBytes;
  }

  congested(socket: Socket, unsentBytes = 0): boolean {
    const ch = this.#channels.get(socket);
    if (ch === undefined || this.#closed) return false;
    if (ch.up.queuedBytes + unsentBytes > this.#queueHighWater) return true;
    return ch.up.delayedBytes + socket.writableLength > this.#inFlightHighWater;
  }

  drained(socket: Socket): Promise<void> {
    const ch = this.#channels.get(socket);
    if (ch === undefined || socket.destroyed || !this.congested(socket)) return Promise.resolve();
    return new Promise((resolve) => {
      ch.waiters.push(resolve);
      this.#watched.add(ch);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const ch of [...this.#channels.values()]) this.#forget(ch);
  }

  /** Writers may queue this much each before they count as congested (the active ones share it). */
  get #queueHighWater(): number {
    const rate = this.uploadBytesPerSecond;
    if (rate === Number.POSITIVE_INFINITY) return MIN_QUEUE_HIGH_WATER_BYTES;
    const share = (rate * this.#queueMs) / 1000 / Math.max(1, this.#up.activeCount);
    return Math.max(MIN_QUEUE_HIGH_WATER_BYTES, share);
  }

  get #inFlightHighWater(): number {
    const rate = this.uploadBytesPerSecond;
    if (rate === Number.POSITIVE_INFINITY) return UNLIMITED_IN_FLIGHT_HIGH_WATER_BYTES;
    const bdp = (rate * (this.delayMs + this.jitterMs + this.#queueMs)) / 1000;
    return Math.max(MIN_IN_FLIGHT_HIGH_WATER_BYTES, 2 * bdp);
  }

  get #receiveWindow(): number {
    const rate = this.downloadBytesPerSecond;
    if (rate === Number.POSITIVE_INFINITY) return UNLIMITED_RECEIVE_WINDOW_BYTES;
    const bdp = (rate * (this.delayMs + this.jitterMs + this.#queueMs)) / 1000;
    return Math.max(MIN_RECEIVE_WINDOW_BYTES, 2 * bdp);
  }

  #inboundHeld(ch: Channel): number {
    return ch.down.queuedBytes + ch.down.delayedBytes;
  }

  #channel(socket: Socket): Channel {
    let ch = this.#channels.get(socket);
    if (ch !== undefined) return ch;
    const created = new Channel(socket);
    ch = created;
    this.#channels.set(socket, created);
    socket.once('close', () => this.#forget(created));
    // The kernel took what the socket buffered: a writer waiting on that may go on.
    socket.on('drain', () => {
      if (created.waiters.length > 0) this.#checkWatched();
    });
    return created;
  }

  #forget(ch: Channel): void {
    if (this.#channels.get(ch.socket) !== ch) return;
    this.#channels.delete(ch.socket);
    this.#up.drop(ch.up);
    this.#down.drop(ch.down);
    this.#watched.delete(ch);
    for (const resolve of ch.waiters.splice(0)) resolve();
  }

  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      // Releasing data runs peer code that may send or receive more: repeat until quiet.
      // Bounded: each round either moves queued bytes or finds nothing due.
      do {
        this.#again = false;
        const now = performance.now();
        this.#up.pump(now);
        this.#down.pump(now);
      } while (this.#again && !this.#closed);
    } finally {
      this.#pumping = false;
    }
    if (this.#closed) return;
    if (this.#watched.size > 0) this.#checkWatched();
    this.#arm();
  }

  #checkWatched(): void {
    for (const ch of this.#watched) {
      if (ch.paused && this.#inboundHeld(ch) <= this.#receiveWindow / 2) {
        ch.paused = false;
        if (!ch.socket.destroyed) ch.socket.resume();
      }
      if (ch.waiters.length > 0 && !this.congested(ch.socket)) {
        for (const resolve of ch.waiters.splice(0)) resolve();
      }
      if (!ch.paused && ch.waiters.length === 0) this.#watched.delete(ch);
    }
  }

  #arm(): void {
    const now = performance.now();
    const at = Math.min(this.#up.nextWakeAt(now), this.#down.nextWakeAt(now));
    if (at === Number.POSITIVE_INFINITY) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(at - now)));
    // The sockets keep the process alive while they matter; a lone link timer must not.
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#pump();
  };
}
