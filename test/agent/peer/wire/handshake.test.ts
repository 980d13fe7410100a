import { once } from 'node:events';
import test from 'ava';
import { HANDSHAKE_LENGTH } from '../../../../agent/peer/wire/constants.js';
import { encodeHandshake, encodeHave, reservedBytes } from '../../../../agent/peer/wire/encoder.js';
import { BadHandshakeError } from '../../../../agent/peer/wire/errors.js';
import { parseHandshake, readHandshake } from '../../../../agent/peer/wire/handshake.js';
import { socketPair } from '../../../support/socket-pair.js';

const INFO_HASH = Buffer.alloc(20, 0xab);
const PEER_ID = Buffer.from('-XX0001-abcdefghijkl');
/** Long enough that a test relying on it fails visibly rather than passing late. */
const SLOW_MS = 5_000;

function handshakeFrame(opts = { extensions: true, fast: true }): Buffer {
  return encodeHandshake(INFO_HASH, PEER_ID, reservedBytes(opts));
}

test('parseHandshake reads the fields and the BEP 6 / BEP 10 reserved bits', (t) => {
  for (const extensions of [false, true]) {
    for (const fast of [false, true]) {
      const h = parseHandshake(handshakeFrame({ extensions, fast }));
      t.deepEqual(h.infoHash, INFO_HASH);
      t.deepEqual(h.peerId, PEER_ID);
      t.is(h.extensions, extensions);
      t.is(h.fast, fast);
      t.is(h.reserved.length, 8);
    }
  }
  const bad = handshakeFrame();
  bad[3] ^= 0x20;
  t.throws(() => parseHandshake(bad), { instanceOf: BadHandshakeError });
});

test('readHandshake: a good handshake, and bytes after it come back in `rest`', async (t) => {
  const { client, server } = await socketPair(t);
  const after = Buffer.concat([encodeHave(1), encodeHave(2)]);
  client.write(Buffer.concat([handshakeFrame(), after]));
  const { handshake, rest } = await readHandshake(server, SLOW_MS);
  t.deepEqual(handshake.infoHash, INFO_HASH);
  t.deepEqual(handshake.peerId, PEER_ID);
  t.true(handshake.fast);
  t.true(handshake.extensions);
  // TCP may deliver the trailing bytes with the handshake or later; none may be lost.
  const later: Buffer[] = [rest];
  const total = after.length;
  server.on('data', (chunk: Buffer) => later.push(chunk));
  server.resume();
  const deadline = AbortSignal.timeout(SLOW_MS);
  while (Buffer.concat(later).length < total && !deadline.aborted) {
    await Promise.race([once(server, 'data'), once(deadline, 'abort')]);
  }
  t.deepEqual(Buffer.concat(later), after);
});

test('readHandshake: a handshake arriving in small pieces', async (t) => {
  const { client, server } = await socketPair(t);
  const frame = handshakeFrame({ extensions: false, fast: true });
  const result = readHandshake(server, SLOW_MS);
  for (let i = 0; i < HANDSHAKE_LENGTH; i += 7) {
    client.write(frame.subarray(i, i + 7));
    // Let each piece reach the other side separately.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const { handshake, rest } = await result;
  t.false(handshake.extensions);
  t.true(handshake.fast);
  t.is(rest.length, 0);
});

test('readHandshake: the socket is paused after the handshake, so no message is lost before the caller reads', async (t) => {
  const { client, server } = await socketPair(t);
  client.write(handshakeFrame());
  await readHandshake(server, SLOW_MS);
  t.true(server.isPaused());
  client.write(encodeHave(7));
  const [chunk] = (await once(server.resume(), 'data')) as [Buffer];
  t.deepEqual(chunk, encodeHave(7));
});

test('readHandshake: a wrong protocol string is rejected as soon as its first bad byte arrives', async (t) => {
  for (const garbage of ['G', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', '\x13BitTorrent protocoX']) {
    const { client, server } = await socketPair(t);
    const started = Date.now();
    const result = readHandshake(server, SLOW_MS);
    // The connection stays open: only the early check can reject before the timeout.
    client.write(garbage, 'latin1');
    const err = await t.throwsAsync(result, { instanceOf: BadHandshakeError });
    t.is(err?.code, 'ERR_BAD_HANDSHAKE', JSON.stringify(garbage));
    t.regex(err?.message ?? '', /protocol string/);
    t.true(Date.now() - started < SLOW_MS);
  }
});

test('readHandshake: a protocol-string prefix is not rejected while the rest is pending', async (t) => {
  const { client, server } = await socketPair(t);
  const frame = handshakeFrame();
  const result = readHandshake(server, 300);
  client.write(frame.subarray(0, 10));
  // A correct prefix must wait for more, and so end in the timeout rather than a bad handshake.
  const err = await t.throwsAsync(result);
  t.is((err as { code?: string }).code, 'ERR_TIMEOUT');
  t.regex(err?.message ?? '', /got 10 bytes/);
});

test('readHandshake: nothing arrives -> ERR_TIMEOUT', async (t) => {
  const { server } = await socketPair(t);
  const err = await t.throwsAsync(readHandshake(server, 100));
  t.is((err as { code?: string }).code, 'ERR_TIMEOUT');
  t.regex(err?.message ?? '', /100 ms \(got 0 bytes\)/);
});

test('readHandshake: the remote closes half-way -> ERR_BAD_HANDSHAKE naming the bytes received', async (t) => {
  const { client, server } = await socketPair(t);
  const result = readHandshake(server, SLOW_MS);
  client.end(handshakeFrame().subarray(0, 30));
  const err = await t.throwsAsync(result, { instanceOf: BadHandshakeError });
  t.regex(err?.message ?? '', /closed after 30 handshake bytes/);
});

test('readHandshake: abort rejects with ERR_ABORTED, before or during the read', async (t) => {
  const { server } = await socketPair(t);
  const early = await t.throwsAsync(readHandshake(server, SLOW_MS, AbortSignal.abort()));
  t.is((early as { code?: string }).code, 'ERR_ABORTED');
  const controller = new AbortController();
  const result = readHandshake(server, SLOW_MS, controller.signal);
  controller.abort();
  const late = await t.throwsAsync(result);
  t.is((late as { code?: string }).code, 'ERR_ABORTED');
  // No listener is left behind on the socket.
  t.is(server.listenerCount('data'), 0);
});
