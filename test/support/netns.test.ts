import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { testIf } from './components.js';
import { cleanupStaleLabs, createLab, LabError } from './netns.js';

const test = testIf('netns');

// Node scripts run inside lab nodes: a one-shot TCP echo server and its client.
const SERVER = `
const s = require('node:net').createServer((c) => c.pipe(c));
s.listen(Number(process.argv[2]), process.argv[1], () => console.log('listening'));
`;
const CLIENT = `
const c = require('node:net').connect(Number(process.argv[2]), process.argv[1], () => c.end('ping'));
let got = ''; c.on('data', (d) => { got += d; }); c.on('end', () => { console.log(got); });
c.on('error', (e) => { console.error(e.message); process.exit(2); });
`;

function namespaces(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n !== '');
}

test('nodes reach each other over the bridge, nothing else is routed', async (t) => {
  const lab = await createLab({ nodes: 3 });
  t.teardown(() => lab.destroy());
  t.deepEqual(
    lab.nodes.map((n) => n.address),
    ['10.77.0.1', '10.77.0.2', '10.77.0.3'],
  );
  const server = lab.spawn(0, [process.execPath, '-e', SERVER, lab.address(0), '7000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(server.stdout!, 'data');
  for (const i of [1, 2]) {
    const { stdout } = await lab.exec(i, [process.execPath, '-e', CLIENT, lab.address(0), '7000']);
    t.is(stdout.trim(), 'ping');
  }
  for (const i of [0, 1, 2]) {
    const { stdout: routes } = await lab.exec(i, ['ip', '-4', 'route', 'show']);
    t.false(routes.includes('default'), `node ${i} has no default route`);
    t.regex(routes, /^10\.77\.0\.0\/24 dev eth0/m);
    const { stdout: lo } = await lab.exec(i, ['ip', '-4', 'addr', 'show', 'dev', 'lo']);
    t.regex(lo, /127\.0\.0\.1/);
    t.regex(lo, /UP/);
  }
  const root = spawnSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  t.false(root.includes('10.77.0.'), 'lab addresses exist only inside the lab');
  // An address outside the subnet is unreachable: no route, so connect fails at once.
  const err = await t.throwsAsync(lab.exec(1, [process.execPath, '-e', CLIENT, '192.0.2.1', '7000']));
  t.regex(err?.message ?? '', /ENETUNREACH/);
});

test('destroy kills what the lab spawned and deletes every namespace, idempotently', async (t) => {
  const lab = await createLab({ nodes: 2 });
  t.teardown(() => lab.destroy());
  const names = [...lab.nodes.map((n) => n.namespace), lab.switchNamespace];
  t.true(names.every((n) => namespaces().includes(n)));
  t.true(names.every((n) => n.length < 40));
  const child = lab.spawn(1, ['sleep', '600'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  await lab.destroy();
  const [, signal] = await exited;
  t.is(signal, 'SIGKILL');
  t.false(names.some((n) => namespaces().includes(n)));
  await t.notThrowsAsync(lab.destroy());
  t.throws(() => lab.spawn(0, ['true']), { instanceOf: LabError });
});

test('two labs get distinct namespaces and may reuse the same subnet', async (t) => {
  const a = await createLab({ nodes: 1 });
  t.teardown(() => a.destroy());
  const b = await createLab({ nodes: 1 });
  t.teardown(() => b.destroy());
  t.not(a.namespace(0), b.namespace(0));
  t.is(a.address(0), b.address(0));
});

test('cleanupStaleLabs deletes namespaces of dead processes only', async (t) => {
  const live = await createLab({ nodes: 1, prefix: 'sstale' });
  t.teardown(() => live.destroy());
  const dead = spawnSync('true').pid;
  t.truthy(dead);
  // A prefix of its own: other test processes clean up `sslab` leftovers concurrently.
  const stale = `sstale-${dead}-1-n0`;
  spawnSync('ip', ['netns', 'add', stale]);
  t.teardown(() => {
    spawnSync('ip', ['netns', 'del', stale], { stdio: 'ignore' });
  });
  const deleted = await cleanupStaleLabs('sstale');
  t.true(deleted.includes(stale));
  t.false(namespaces().includes(stale));
  t.true(namespaces().includes(live.namespace(0)));
});

test('bad lab parameters are typed errors', async (t) => {
  await t.throwsAsync(createLab({ nodes: 0 }), { code: 'ERR_NETNS_LAB' });
  await t.throwsAsync(createLab({ nodes: 2, subnet: '10.0.0.0/16' }), { code: 'ERR_NETNS_LAB' });
  await t.throwsAsync(createLab({ nodes: 2, subnet: '10.300.0.0/24' }), { code: 'ERR_NETNS_LAB' });
  await t.throwsAsync(createLab({ nodes: 1, prefix: 'bad-prefix' }), { code: 'ERR_NETNS_LAB' });
});
