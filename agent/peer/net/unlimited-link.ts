import type { Socket } from 'node:net';
import type { Link } from './link.js';

/**
 * No shaping: `send` is `socket.write`, `receive` delivers the chunk it was given during the call.
 * It holds nothing, so connections through it keep their zero-copy shared read buffer.
 */
export class UnlimitedLink implements Link {
  readonly name = 'unlimited';
  readonly holdsChunks = false;

  send(socket: Socket, data: Uint8Array, done?: () => void): void {
    socket.write(data, done);
  }

  receive(_socket: Socket, chunk: Buffer, deliver: (chunk: Buffer) => void): void {
    deliver(chunk);
  }

  heldBytes(_socket: Socket): number {
    return 0;
  }

  congested(_socket: Socket, _unsentBytes?: number): boolean {
    return false;
  }

  drained(_socket: Socket): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

/** The link of every peer that was given none. Stateless, so one instance serves them all. */
export const UNLIMITED_LINK: Link = new UnlimitedLink();
