import type { Socket } from 'node:net';

/**
 * What carries one peer's wire traffic: every connection of a peer writes and reads through its
 * `Link`, so that an application-level link can impose the peer's access-link properties (rates,
 * one-way delay) on all of them together, as one pipe.
 *
 * Implementations: `UnlimitedLink` (unlimited-link.ts, the default: writes and delivers at once,
 * no state, no timers) and `ShapedLink` (shaped-link.ts: token buckets and a delay line).
 * A link outlives the torrents using it; its owner closes it.
 */
export interface Link {
  readonly name: string;
  /**
   * `receive` may keep a chunk past the call (it is delivered later): callers must hand it owned
   * buffers, never views into a shared read buffer.
   */
  readonly holdsChunks: boolean;
  /**
   * Writes `data` to `socket` when the link allows, in order per socket. `done` runs once the
   * socket took the bytes: only then may the caller reuse `data`.
   */
  send(socket: Socket, data: Uint8Array, done?: () => void): void;
  /** Hands a chunk read from `socket` to `deliver` when the link allows, in order per socket. */
  receive(socket: Socket, chunk: Buffer, deliver: (chunk: Buffer) => void): void;
  /** Bytes given to `send` for `socket` that the link still holds (queued or in its delay line). */
  heldBytes(socket: Socket): number;
  /**
   * The link holds so much for `socket` that whoever writes to it should pause. `unsentBytes`:
   * what the caller holds for the socket and will send next (a write batch).
   */
  congested(socket: Socket, unsentBytes?: number): boolean;
  /** Resolves once `socket` is no longer congested on this link, or is closed, or the link is. */
  drained(socket: Socket): Promise<void>;
  /** Drops whatever the link holds and stops its timers. */
  close(): void;
}
