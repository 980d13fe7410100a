import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { createMetainfo } from '../../../agent/peer/metainfo/index.js';
import { Random } from '../../../agent/peer/random.js';

// `seedstream seed` and `seedstream get` as a user runs them: child processes on 127.0.0.1.

const BIN = fileURLToPath(new URL('../../../controller/cli/bin.mjs', import.meta.url));
/** Bound of every wait on a child: a hang fails the test instead of stalling the suite. */
const CHILD_TIMEOUT_MS = 30_000;

interface Exited {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  /** JSON-lines events printed on stdout so far. */
  readonly events: Array<Record<string, unknown>>;
  readonly exited: Promise<Exited>;
  /** Resolves with the first event named `name`. */
  event(name: string): Promise<Record<string, unknown>>;
}

/** Spawns `seedstream ARGS`; the child is killed (and awaited) in t.teardown. */
function cli(t: ExecutionContext, args: readonly string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout += `${line}\n`;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not an event line; kept in stdout.
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<Exited>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
      for (const w of waiters) w();
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  void exited.then(() => clearTimeout(timer));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    events,
    exited,
    event(name: string) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find((e) => e.event === name);
          if (found) {
            waiters.delete(check);
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`seedstream ${args[0]} exited before '${name}'; stderr: ${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seedstream-get-seed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A seed directory holding `files` (seeded random bytes) and its .torrent. */
async function fixture(
  t: ExecutionContext,
  files: Record<string, number>,
  single: boolean,
): Promise<{ root: string; seedDir: string; torrentPath: string; data: Map<string, Buffer> }> {
  const root = await tempDir(t);
  const seedDir = join(root, 'seed');
  const contentRoot = single ? seedDir : join(seedDir, 'album');
  await mkdir(contentRoot, { recursive: true });
  const rng = new Random(`get-seed/${Object.keys(files).join(',')}`);
  const data = new Map<string, Buffer>();
  for (const [name, size] of Object.entries(files)) {
    const bytes = Buffer.from(rng.fill(new Uint8Array(size)));
    await mkdir(join(contentRoot, name, '..'), { recursive: true });
    await writeFile(join(contentRoot, name), bytes);
    data.set(name, bytes);
  }
  const source = single ? join(seedDir, Object.keys(files)[0]) : contentRoot;
  const { torrent } = await createMetainfo({ path: source, pieceLength: 32_768, creationDate: null });
  const torrentPath = join(root, 'content.torrent');
  await writeFile(torrentPath, torrent);
  return { root, seedDir, torrentPath, data };
}

for (const layout of ['single-file', 'multi-file'] as const) {
  test(`seed and get (${layout}): exit 0 and identical files`, async (t) => {
    const single = layout === 'single-file';
    const files: Record<string, number> = single
      ? { 'movie.bin': 300_001 }
      : { 'a.bin': 70_000, 'sub/b.bin': 1, 'sub/c.bin': 150_000 };
    const fx = await fixture(t, files, single);
    const seed = cli(t, ['seed', fx.torrentPath, '--dir', fx.seedDir, '--json', '--port', '0']);
    const listening = await seed.event('listening');
    t.is(typeof listening.port, 'number');
    t.is(listening.pieces, listening.pieceCount);

    const dl = join(fx.root, 'download');
    const get = cli(t, [
      'get',
      fx.torrentPath,
      '--dir',
      dl,
      '--json',
      '--peer',
      `127.0.0.1:${listening.port}`,
    ]);
    const done = await get.exited;
    t.is(done.code, 0, done.stderr);
    const complete = get.events.find((e) => e.event === 'complete');
    t.truthy(complete);
    t.is(complete?.protocolErrors, 0);
    t.is(complete?.hashFailures, 0);
    for (const [name, bytes] of fx.data) {
      const got = await readFile(single ? join(dl, name) : join(dl, 'album', name));
      t.true(got.equals(bytes), name);
    }

    // The seed stops cleanly on SIGTERM and reports what it uploaded.
    seed.child.kill('SIGTERM');
    const stopped = await seed.exited;
    t.is(stopped.code, 0, stopped.stderr);
    const total = [...fx.data.values()].reduce((sum, b) => sum + b.length, 0);
    t.is(seed.events.find((e) => e.event === 'stopped')?.uploaded, total);
  });
}

test('get with a torrent path that does not exist: non-zero, `seedstream: <path>: ...`, no stack', async (t) => {
  const root = await tempDir(t);
  const missing = join(root, 'nope.torrent');
  const res = await cli(t, ['get', missing, '--dir', join(root, 'dl')]).exited;
  t.not(res.code, 0);
  t.true(res.stderr.startsWith(`seedstream: ${missing}: `), res.stderr);
  t.notRegex(res.stderr, /\n\s+at /);
});

test('get with a file that is not a torrent: non-zero, names the file, no stack', async (t) => {
  const root = await tempDir(t);
  const bogus = join(root, 'bogus.torrent');
  await writeFile(bogus, 'this is not bencode');
  const res = await cli(t, ['get', bogus, '--dir', join(root, 'dl')]).exited;
  t.not(res.code, 0);
  t.true(res.stderr.startsWith(`seedstream: ${bogus}: `), res.stderr);
  t.notRegex(res.stderr, /\n\s+at /);
});

test('get --timeout 2 with no peers: non-zero, naming the timeout', async (t) => {
  const fx = await fixture(t, { 'x.bin': 100_000 }, true);
  const started = Date.now();
  const res = await cli(t, [
    'get',
    fx.torrentPath,
    '--dir',
    join(fx.root, 'dl'),
    '--timeout',
    '2',
    '--no-announce',
  ]).exited;
  t.not(res.code, 0);
  t.regex(res.stderr, /^seedstream: timed out after 2 s with 0 of \d+ pieces/);
  t.notRegex(res.stderr, /\n\s+at /);
  t.true(Date.now() - started >= 2_000);
});

test('get with a bad --peer value exits 2 and names the option', async (t) => {
  const fx = await fixture(t, { 'x.bin': 1_000 }, true);
  for (const bad of ['nonsense', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '[::1]']) {
    const res = await cli(t, ['get', fx.torrentPath, '--dir', join(fx.root, 'dl'), '--peer', bad]).exited;
    t.is(res.code, 2, `${bad}: ${res.stderr}`);
    t.regex(res.stderr, /--peer/);
    t.notRegex(res.stderr, /\n\s+at /);
  }
});

test('seed with a directory missing the content: non-zero, naming the directory', async (t) => {
  const fx = await fixture(t, { 'x.bin': 100_000 }, true);
  const empty = join(fx.root, 'empty');
  await mkdir(empty);
  const res = await cli(t, ['seed', fx.torrentPath, '--dir', empty, '--port', '0']).exited;
  t.is(res.code, 1);
  t.true(res.stderr.startsWith(`seedstream: ${empty}: only 0 of`), res.stderr);
});
