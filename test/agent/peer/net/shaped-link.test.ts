import { performance } from 'node:perf_hooks';
import test from 'ava';
import { ShapedLink } from '../../../../agent/peer/net/shaped-link.js';
import { socketPair } from '../../../support/socket-pair.js';

// ShapedLink on real loopback sockets: rates, delay, order, fairness, backpressure, shutdown.

const MiB = 1_048_576;
const WAIT_MS = 10_000;

/** Resolves with the time (performance.now) at which `socket` has delivered `total` bytes. */
function receiveAll(
  socket: import('node:net').Socket,
  total: number,
  onChunk: (chunk: Buffer) => void = () => {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(
      () => reject(new Error(`only ${got} of ${total} bytes in ${WAIT_MS} ms`)),
      WAIT_MS,
    );
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      onChunk(chunk);
      if (got >= total) {
        clearTimeout(timer);
        resolve(performance.now());
      }
    });
  });
}

function linkFor(t: import('ava').ExecutionContext, init: ConstructorParameters<typeof ShapedLink>[0]) {
  const link = new ShapedLink(init);
  t.teardown(() => link.close());
  return link;
}

test('upload: 4 MiB at 4 MiB/s takes about a second', async (t) => {
  const { client, server } = await socketPair(t);
  const rate = 4 * MiB;
  const link = linkFor(t, { uploadBytesPerSecond: rate });
  const total = 4 * MiB;
  const done = receiveAll(server, total);
  const start = performance.now();
  // Sixteen 256 KiB writes, as a WireWriter's batches would come.
  for (let i = 0; i < 16; i++) link.send(client, Buffer.alloc(total / 16, i));
  const end = await done;
  const achieved = total / ((end - start) / 1000);
  t.true(Math.abs(achieved - rate) / rate < 0.1, `achieved ${(achieved / MiB).toFixed(2)} MiB/s`);
  t.is(link.sentBytes, total);
});

test('download: reading through a 2 MiB/s link delivers at 2 MiB/s, holding a bounded amount', async (t) => {
  const { client, server } = await socketPair(t);
  const rate = 2 * MiB;
  const link = linkFor(t, { downloadBytesPerSecond: rate });
  const total = 3 * MiB;
  let delivered = 0;
  let maxHeld = 0;
  let received = 0;
  const start = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${delivered} bytes delivered`)), WAIT_MS);
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
      maxHeld = Math.max(maxHeld, received - delivered);
      link.receive(client, chunk, (c) => {
        delivered += c.length;
        if (delivered === total) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      });
    });
  });
  // The sender writes everything at once, as fast as loopback takes it.
  server.write(Buffer.alloc(total, 7));
  const end = await done;
  const achieved = total / ((end - start) / 1000);
  t.true(Math.abs(achieved - rate) / rate < 0.1, `achieved ${(achieved / MiB).toFixed(2)} MiB/s`);
  // The link paused the socket instead of buffering the whole transfer.
  t.true(maxHeld < 1.5 * MiB, `held up to ${maxHeld} bytes`);
});

test('delay: a ping through links of 25 ms on both ends comes back after about 100 ms', async (t) => {
  const { client, server } = await socketPair(t);
  const a = linkFor(t, { delayMs: 25 });
  const b = linkFor(t, { delayMs: 25 });
  server.on('data', (chunk: Buffer) => b.receive(server, chunk, (c) => b.send(server, c)));
  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const back = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        a.receive(client, chunk, () => {
          client.off('data', onData);
          resolve();
        });
      };
      client.on('data', onData);
    });
    a.send(client, Buffer.from([i]));
    await back;
    rtts.push(performance.now() - start);
  }
  for (const rtt of rtts) t.true(rtt >= 99 && rtt < 125, `rtt ${rtt.toFixed(1)} ms`);
});

test('jitter varies the delay but never reorders a connection', async (t) => {
  const { client, server } = await socketPair(t);
  const link = linkFor(t, { delayMs: 10, jitterMs: 8, seed: 'jitter' });
  const count = 200;
  const received: number[] = [];
  const done = receiveAll(server, count * 4, (chunk) => {
    for (let i = 0; i + 4 <= chunk.length; i += 4) received.push(chunk.readUInt32BE(i));
  });
  for (let i = 0; i < count; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i);
    link.send(client, b);
    if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await done;
  t.deepEqual(
    received,
    Array.from({ length: count }, (_, i) => i),
  );
});

test('two connections through one upload share it about equally', async (t) => {
  const one = await socketPair(t);
  const two = await socketPair(t);
  const rate = 2 * MiB;
  const link = linkFor(t, { uploadBytesPerSecond: rate });
  const each = 2 * MiB;
  let first = 0;
  let second = 0;
  let atFirstDone = -1;
  const doneOne = receiveAll(one.server, each, (c) => {
    first += c.length;
    if (first >= each) atFirstDone = second;
  });
  const doneTwo = receiveAll(two.server, each, (c) => {
    second += c.length;
  });
  for (let i = 0; i < 8; i++) {
    link.send(one.client, Buffer.alloc(each / 8));
    link.send(two.client, Buffer.alloc(each / 8));
  }
  const start = performance.now();
  const ends = await Promise.all([doneOne, doneTwo]);
  // Round robin: when one connection finished, the other had about as much.
  t.true(atFirstDone > 0.85 * each, `other connection had ${atFirstDone} bytes`);
  const total = (Math.max(...ends) - start) / 1000;
  t.true(
    Math.abs((2 * each) / total - rate) / rate < 0.1,
    `together ${((2 * each) / total / MiB).toFixed(2)} MiB/s`,
  );
});

test('a connection is congested while its queue is long, and drained() waits for it', async (t) => {
  const { client, server } = await socketPair(t);
  const link = linkFor(t, { uploadBytesPerSecond: 1 * MiB });
  server.resume();
  t.false(link.congested(client));
  link.send(client, Buffer.alloc(512 * 1024));
  t.true(link.congested(client));
  t.true(link.heldBytes(client) > 400 * 1024);
  const start = performance.now();
  await link.drained(client);
  t.false(link.congested(client));
  // About (512 KiB - burst - high water) at 1 MiB/s.
  t.true(performance.now() - start > 200, `drained after ${performance.now() - start} ms`);
  // A closed socket releases its waiters at once.
  link.send(client, Buffer.alloc(512 * 1024));
  const waiting = link.drained(client);
  client.destroy();
  await waiting;
  t.is(link.heldBytes(client), 0);
});

test('close() drops what the link holds and stops its timer; later traffic passes straight through', async (t) => {
  const { client, server } = await socketPair(t);
  const link = new ShapedLink({ uploadBytesPerSecond: 64 * 1024, delayMs: 50 });
  link.send(client, Buffer.alloc(256 * 1024));
  t.true(link.busy);
  link.close();
  t.false(link.busy);
  t.is(link.heldBytes(client), 0);
  const got = receiveAll(server, 3);
  const start = performance.now();
  link.send(client, Buffer.from('abc'));
  await got;
  t.true(performance.now() - start < 40);
  let delivered = false;
  link.receive(client, Buffer.from('x'), () => {
    delivered = true;
  });
  t.true(delivered);
});

test('an idle link arms no timer', async (t) => {
  const { client, server } = await socketPair(t);
  const link = linkFor(t, { uploadBytesPerSecond: MiB, downloadBytesPerSecond: MiB, delayMs: 5 });
  t.false(link.busy);
  const got = receiveAll(server, 10);
  link.send(client, Buffer.alloc(10));
  t.true(link.busy, 'armed while the delay line holds data');
  await got;
  await new Promise((resolve) => setImmediate(resolve));
  t.false(link.busy, 'disarmed once empty');
});

test('impossible settings are refused with ERR_LINK_BAD_INIT', (t) => {
  for (const init of [
    { uploadBytesPerSecond: 0 },
    { uploadBytesPerSecond: -1 },
    { downloadBytesPerSecond: Number.NaN },
    { delayMs: -5 },
    { delayMs: Number.POSITIVE_INFINITY },
    { jitterMs: Number.NaN },
    { uploadBytesPerSecond: 1000, uploadBurstBytes: 0 },
    { queueMs: -1 },
  ]) {
    t.throws(() => new ShapedLink(init), { code: 'ERR_LINK_BAD_INIT' }, JSON.stringify(init));
  }
  t.notThrows(() => new ShapedLink({ uploadBytesPerSecond: Number.POSITIVE_INFINITY }).close());
});
