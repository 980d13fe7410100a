import { createServer } from 'node:net';
import test from 'ava';
import { getFreePort } from '../../../agent/third-party/free-port.js';
import { testIf } from '../../support/components.js';
import { createLab } from '../../support/netns.js';

test('getFreePort returns a port that can then be bound on loopback', async (t) => {
  const port = await getFreePort('127.0.0.1');
  t.true(port > 0 && port < 65_536);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, resolve);
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.pass();
});

test('getFreePort on an address this host lacks is a typed error', async (t) => {
  await t.throwsAsync(getFreePort('192.0.2.123'), {
    code: 'ERR_THIRD_PARTY_START',
    message: /192\.0\.2\.123/,
  });
});

testIf('netns')('getFreePort probes inside a namespace, on an address only it has', async (t) => {
  const lab = await createLab({ nodes: 1 });
  t.teardown(() => lab.destroy());
  const port = await getFreePort(lab.address(0), { netns: lab.namespace(0) });
  t.true(port > 0 && port < 65_536);
  await t.throwsAsync(getFreePort(lab.address(0)), { code: 'ERR_THIRD_PARTY_START' });
});
