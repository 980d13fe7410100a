import type { Socket } from 'node:net';
import test from 'ava';
import { UNLIMITED_LINK, UnlimitedLink } from '../../../../agent/peer/net/unlimited-link.js';

/** A socket stand-in that records writes. */
function recordingSocket(): { socket: Socket; writes: Array<{ data: unknown; cb: unknown }> } {
  const writes: Array<{ data: unknown; cb: unknown }> = [];
  const socket = {
    write(data: unknown, cb: unknown) {
      writes.push({ data, cb });
      return true;
    },
  } as unknown as Socket;
  return { socket, writes };
}

test('send is a synchronous socket.write of the very buffer, with the caller callback', (t) => {
  const { socket, writes } = recordingSocket();
  const data = Buffer.from('payload');
  const done = (): void => {};
  UNLIMITED_LINK.send(socket, data, done);
  t.is(writes.length, 1);
  t.is(writes[0].data, data, 'not copied');
  t.is(writes[0].cb, done);
});

test('receive delivers the same chunk during the call; nothing is ever held or congested', async (t) => {
  const { socket } = recordingSocket();
  const chunk = Buffer.from('chunk');
  let got: Buffer | undefined;
  UNLIMITED_LINK.receive(socket, chunk, (c) => {
    got = c;
  });
  t.is(got, chunk, 'delivered synchronously, not copied');
  t.false(UNLIMITED_LINK.holdsChunks, 'a shared read buffer stays usable');
  t.is(UNLIMITED_LINK.heldBytes(socket), 0);
  t.false(UNLIMITED_LINK.congested(socket, 1e12));
  await UNLIMITED_LINK.drained(socket);
  t.true(UNLIMITED_LINK instanceof UnlimitedLink);
});
