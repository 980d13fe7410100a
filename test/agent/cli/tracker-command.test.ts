import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { trackerCommand } from '../../../agent/cli/tracker-command.js';
import { silentLogger } from '../../../agent/peer/logger.js';
import { HttpAnnouncer } from '../../../agent/peer/tracker/http-announcer.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const ALLOWED = 'ab'.repeat(20);

function announce(url: string, infoHashHex: string) {
  return new HttpAnnouncer({ url }).announce({
    infoHash: Buffer.from(infoHashHex, 'hex'),
    peerId: Buffer.alloc(20, 1),
    port: 6881,
    uploaded: 0,
    downloaded: 0,
    left: 1,
  });
}

/** Runs the command in-process until `stop` resolves; returns the JSON lines it printed. */
function runInProcess(args: string[]): {
  lines: Promise<Record<string, unknown>>[];
  stop: () => void;
  done: Promise<void>;
} {
  let release!: () => void;
  const stopped = new Promise<void>((resolve) => (release = resolve));
  const resolvers: ((v: Record<string, unknown>) => void)[] = [];
  const lines = [0, 1].map(() => new Promise<Record<string, unknown>>((resolve) => resolvers.push(resolve)));
  let n = 0;
  const command = trackerCommand({
    stdout: (text) => resolvers[n++]?.(JSON.parse(text) as Record<string, unknown>),
    logger: silentLogger,
    stopWhen: () => stopped,
  });
  const done = command.parseAsync(args, { from: 'user' }).then(() => undefined);
  return { lines, stop: release, done };
}

test('prints one listening line, serves a closed tracker with its allow list, then a stopped line', async (t) => {
  const run = runInProcess([
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--closed',
    '--allow',
    ALLOWED,
    '--policy',
    'qos',
    '--udp-port',
    '0',
  ]);
  const listening = await run.lines[0];
  t.like(listening, { event: 'listening', host: '127.0.0.1', policy: 'qos' });
  t.true(typeof listening.udpPort === 'number' && listening.udpPort > 0);
  const url = `http://127.0.0.1:${String(listening.port)}/announce`;
  t.is((await announce(url, ALLOWED)).interval, 60);
  const refused = await t.throwsAsync(announce(url, 'cd'.repeat(20)));
  t.regex(refused.message, /unknown torrent/);
  run.stop();
  await run.done;
  t.like(await run.lines[1], { event: 'stopped', announces: 1, failures: 1, udp: { announces: 0 } });
});

test('options are validated', async (t) => {
  for (const args of [
    ['--port', '70000'],
    ['--port', '1', '--policy', 'best'],
    ['--port', '1', '--allow', 'xyz'],
    ['--port', '1', '--random-share', '2'],
    [],
  ]) {
    const command = trackerCommand({ logger: silentLogger, stopWhen: () => Promise.resolve() })
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} });
    await t.throwsAsync(command.parseAsync(args, { from: 'user' }), undefined, args.join(' '));
  }
});

test('as a process: ready line on stdout, clean exit on SIGTERM', async (t) => {
  const script =
    "import { trackerCommand } from './agent/cli/tracker-command.ts';" +
    'await trackerCommand().parseAsync(process.argv.slice(1), { from: "user" });';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
      '--',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = await new Promise<{ port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), START_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const line = stdout.split('\n').find((l) => l.includes('"listening"'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number });
      }
    });
    void exited.then(() => reject(new Error(`exited early: ${stderr}`)));
  });
  t.is((await announce(`http://127.0.0.1:${listening.port}/announce`, ALLOWED)).peers.length, 0);
  child.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), START_TIMEOUT_MS)),
  ]);
  t.is(code, 0, stderr);
  t.regex(stdout, /"event":"stopped"/);
});
