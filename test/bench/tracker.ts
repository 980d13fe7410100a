/*
 * `npm run bench -- tracker`: announces per second and latency of our HTTP tracker against
 * opentracker, in the same run, from the same bounded load generator on loopback.
 *
 * The generator is a minimal HTTP/1.1 client over raw sockets (one request in flight per
 * connection, N connections), because node:http's client costs more CPU per request than the
 * trackers under test and would measure itself. Each tracker runs in its own process; the
 * generator checks every reply (status 200, a bencoded dict with peers and no failure reason)
 * and counts anything else as an error. opentracker closes the connection after every reply, so
 * it is driven with a new connection per announce; ours is measured both ways.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentEncodeBytes } from '../../agent/peer/tracker/http-announcer.js';

export interface TrackerBenchOptions {
  readonly json: boolean;
  /** Distinct peers in the one swarm. Default 10,000. */
  readonly peers?: number;
  /** Announces per measured run, after every peer has registered. Default 30,000. */
  readonly announces?: number;
  /** Runs per row; the median is reported. Default 3. */
  readonly rounds?: number;
  /** Concurrent connections. Default 32. */
  readonly connections?: number;
}

export interface TargetResult {
  readonly name: string;
  readonly keepAlive: boolean;
  /** Peers registered (started) before measuring, and the swarm size the tracker then scraped. */
  readonly registered: number;
  readonly scrapedPeers: number | undefined;
  readonly announces: number;
  /** Of the median run. */
  readonly announcesPerSec: number;
  /** Every run, in order. */
  readonly runsPerSec: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly firstError?: string;
}

export interface TrackerBenchResult {
  readonly bench: 'tracker';
  readonly peers: number;
  readonly announces: number;
  readonly rounds: number;
  readonly connections: number;
  readonly targets: TargetResult[];
  /**
   * Our rate over opentracker's. `keepAlive`: ours with keep-alive connections, as clients can
   * use it, against opentracker, which closes every connection; `newConnection`: both with a new
   * connection per announce.
   */
  readonly ratioToOpentracker?: { readonly keepAlive: number; readonly newConnection: number };
  readonly opentrackerSkipped?: string;
}

const OPENTRACKER = '/usr/bin/opentracker';
const START_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;
const NUMWANT = 50;
const DELAYS_PER_ANNOUNCE = 10;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const INFO_HASH = createHash('sha1').update('seedstream tracker bench').digest();

class BenchError extends Error {}

interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

/** One socket speaking just enough HTTP/1.1 to send a GET and read a Content-Length reply. */
class RawConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  #closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => {
      this.#closed = true;
      this.#fail(new BenchError('connection closed before the reply was complete'));
    });
  }

  static open(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get usable(): boolean {
    return !this.#closed && !this.#socket.destroyed;
  }

  exchange(request: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #fail(err: Error): void {
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(err);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd === -1) return;
    const head = this.#buffer.subarray(0, headEnd).toString('latin1');
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (match === null) {
      this.#fail(new BenchError('reply without Content-Length'));
      this.#socket.destroy();
      return;
    }
    const total = headEnd + 4 + Number(match[1]);
    if (this.#buffer.length < total) return;
    const status = Number(head.slice(9, 12));
    const body = this.#buffer.subarray(headEnd + 4, total);
    this.#buffer = this.#buffer.subarray(total);
    const p = this.#pending;
    this.#pending = undefined;
    p?.resolve({ status, body });
  }
}

interface DriveResult {
  readonly elapsedMs: number;
  readonly latenciesMs: Float64Array;
  readonly errors: number;
  readonly firstError?: string;
}

function replyError(reply: Reply): string | undefined {
  if (reply.status !== 200) return `HTTP ${reply.status}: ${reply.body.toString('latin1').slice(0, 120)}`;
  if (reply.body[0] !== 0x64 || reply.body.includes('failure reason')) {
    return `bad reply: ${reply.body.toString('latin1').slice(0, 120)}`;
  }
  if (!reply.body.includes('5:peers')) return 'reply without peers';
  return undefined;
}

/** Sends `count` requests over `connections` workers; every request and every wait is bounded. */
async function drive(
  host: string,
  port: number,
  keepAlive: boolean,
  count: number,
  connections: number,
  requestAt: (i: number) => Buffer,
): Promise<DriveResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const noteError = (why: string): void => {
    errors++;
    firstError ??= why;
  };
  const worker = async (): Promise<void> => {
    let conn: RawConnection | undefined;
    while (next < count) {
      const i = next++;
      const started = performance.now();
      try {
        if (conn === undefined || !conn.usable) conn = await RawConnection.open(host, port);
        let timer: NodeJS.Timeout | undefined;
        const reply = await Promise.race([
          conn.exchange(requestAt(i)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new BenchError(`no reply in ${REQUEST_TIMEOUT_MS} ms`)),
              REQUEST_TIMEOUT_MS,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        const why = replyError(reply);
        if (why !== undefined) noteError(why);
      } catch (err) {
        noteError((err as Error).message);
        conn?.close();
        conn = undefined;
      }
      latencies[i] = performance.now() - started;
      if (!keepAlive) {
        conn?.close();
        conn = undefined;
      }
    }
    conn?.close();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  return { elapsedMs: performance.now() - t0, latenciesMs: latencies, errors, firstError };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Swarm {
  readonly peerIds: string[];
  readonly ports: number[];
}

function makeSwarm(peers: number): Swarm {
  const peerIds: string[] = [];
  const ports: number[] = [];
  for (let i = 0; i < peers; i++) {
    peerIds.push(percentEncodeBytes(Buffer.from(`-SB0001-${String(i).padStart(12, '0')}`)));
    // Distinct ports: opentracker tells peers apart by address and port, not by peer id.
    ports.push(10_000 + i);
  }
  return { peerIds, ports };
}

function requestBuilder(
  host: string,
  port: number,
  keepAlive: boolean,
  swarm: Swarm,
  extension: boolean,
): (peer: number, event?: string) => Buffer {
  const infoHash = percentEncodeBytes(INFO_HASH);
  const hostHeader = `Host: ${host}:${port}\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`;
  const n = swarm.peerIds.length;
  return (peer, event) => {
    const left = peer % 10 === 0 ? 0 : 1_000_000;
    let query =
      `info_hash=${infoHash}&peer_id=${swarm.peerIds[peer]}&port=${swarm.ports[peer]}` +
      `&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=${NUMWANT}`;
    if (event !== undefined) query += `&event=${event}`;
    if (extension) {
      const delays: string[] = [];
      for (let k = 1; k <= DELAYS_PER_ANNOUNCE; k++) {
        const other = (peer + k * 97) % n;
        delays.push(`127.0.0.1:${swarm.ports[other]}:${(other % 50) + 1}`);
      }
      query += `&ss_up=${1_000_000 + (peer % 7) * 500_000}&ss_delay=${delays.join(',')}`;
    }
    return Buffer.from(`GET /announce?${query} HTTP/1.1\r\n${hostHeader}`, 'latin1');
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new BenchError(`exited with code ${child.exitCode} before listening`);
    try {
      (await RawConnection.open(host, port)).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new BenchError(`not listening on ${host}:${port} after ${START_TIMEOUT_MS} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Our tracker through its CLI, in its own process like opentracker. */
async function startOurs(policy: 'random' | 'qos'): Promise<{ child: ChildProcess; port: number }> {
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
      '--policy',
      policy,
      '--interval',
      '1800',
      '--log-level',
      'warn',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BenchError('our tracker did not report listening')),
      START_TIMEOUT_MS,
    );
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.includes('"listening"'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new BenchError(`our tracker exited with code ${code}`));
    });
  });
  return { child, port };
}

/** Debian's opentracker: whitelist-only build, `-w` relative to the `-d` chroot directory. */
async function startOpentracker(dir: string): Promise<{ child: ChildProcess; port: number }> {
  // It reads the whitelist after dropping privileges to `nobody`, so both must be world-readable.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'whitelist'), `${INFO_HASH.toString('hex')}\n`, { mode: 0o644 });
  const port = await freePort();
  const args = ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-w', 'whitelist'];
  const child = spawn(OPENTRACKER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  try {
    await waitForPort('127.0.0.1', port, child);
    await waitForWhitelist(port);
  } catch (err) {
    await stopChild(child);
    throw new BenchError(`opentracker: ${(err as Error).message} ${stderr.trim()}`);
  }
  return { child, port };
}

/** The whitelist is loaded by a background thread: probe until the bench torrent is accepted. */
async function waitForWhitelist(port: number): Promise<void> {
  const probe = Buffer.from(
    `GET /announce?info_hash=${percentEncodeBytes(INFO_HASH)}&peer_id=-SB0001-probeprobepr&port=9&left=1&event=stopped` +
      ' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
  );
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const conn = await RawConnection.open('127.0.0.1', port);
    try {
      const reply = await conn.exchange(probe);
      if (reply.status === 200 && !reply.body.includes('failure reason')) return;
      last = reply.body.toString('latin1');
    } finally {
      conn.close();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new BenchError(`whitelist not in effect after ${START_TIMEOUT_MS} ms: ${last}`);
}

/** complete + incomplete of the bench torrent, from a scrape. */
async function scrapedPeers(port: number): Promise<number | undefined> {
  const conn = await RawConnection.open('127.0.0.1', port);
  try {
    const reply = await conn.exchange(
      Buffer.from(
        `GET /scrape?info_hash=${percentEncodeBytes(INFO_HASH)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      ),
    );
    const text = reply.body.toString('latin1');
    const complete = /8:completei(\d+)e/.exec(text);
    const incomplete = /10:incompletei(\d+)e/.exec(text);
    if (complete === null || incomplete === null) return undefined;
    return Number(complete[1]) + Number(incomplete[1]);
  } finally {
    conn.close();
  }
}

/** One row of the table: a tracker process driven one way. */
interface Row {
  readonly name: string;
  readonly port: number;
  readonly keepAlive: boolean;
  readonly extension: boolean;
  registration?: DriveResult;
  scraped?: number;
  readonly runs: DriveResult[];
}

/** Every peer announces `started` once, then the swarm size is checked by a scrape. */
async function register(row: Row, swarm: Swarm, connections: number): Promise<void> {
  const build = requestBuilder('127.0.0.1', row.port, row.keepAlive, swarm, row.extension);
  row.registration = await drive(
    '127.0.0.1',
    row.port,
    row.keepAlive,
    swarm.peerIds.length,
    connections,
    (i) => build(i, 'started'),
  );
  row.scraped = await scrapedPeers(row.port);
}

async function measureOnce(row: Row, swarm: Swarm, announces: number, connections: number): Promise<void> {
  const build = requestBuilder('127.0.0.1', row.port, row.keepAlive, swarm, row.extension);
  const peers = swarm.peerIds.length;
  row.runs.push(
    await drive('127.0.0.1', row.port, row.keepAlive, announces, connections, (i) => build(i % peers)),
  );
}

/** The row's median run by rate: background load on a shared machine hits runs unevenly. */
function summarize(row: Row, announces: number): TargetResult {
  const rate = (r: DriveResult): number => announces / r.elapsedMs;
  const runs = [...row.runs].sort((a, b) => rate(a) - rate(b));
  const median = runs[runs.length >> 1];
  const sorted = median.latenciesMs.slice().sort();
  const registrationErrors = row.registration?.errors ?? 0;
  const firstError = row.registration?.firstError ?? row.runs.find((r) => r.firstError)?.firstError;
  return {
    name: row.name,
    keepAlive: row.keepAlive,
    registered:
      (row.registration === undefined ? 0 : row.registration.latenciesMs.length) - registrationErrors,
    scrapedPeers: row.scraped,
    announces,
    announcesPerSec: Math.round(rate(median) * 1000),
    runsPerSec: row.runs.map((r) => Math.round(rate(r) * 1000)),
    p50Ms: Number(percentile(sorted, 50).toFixed(3)),
    p99Ms: Number(percentile(sorted, 99).toFixed(3)),
    errors: registrationErrors + row.runs.reduce((n, r) => n + r.errors, 0),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

function table(result: TrackerBenchResult): string {
  const rows = [['target', 'connections', 'announces/s', 'runs', 'p50 ms', 'p99 ms', 'errors', 'swarm']];
  for (const t of result.targets) {
    rows.push([
      t.name,
      t.keepAlive ? 'keep-alive' : 'one per announce',
      String(t.announcesPerSec),
      t.runsPerSec.join(' '),
      t.p50Ms.toFixed(3),
      t.p99Ms.toFixed(3),
      String(t.errors),
      String(t.scrapedPeers ?? '?'),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const header =
    `tracker bench: ${result.peers} distinct peers in one swarm, ${result.connections} connections, ` +
    `numwant ${NUMWANT}; median of ${result.rounds} interleaved runs of ${result.announces} announces per row`;
  const r = result.ratioToOpentracker;
  const tail =
    r !== undefined
      ? `ours / opentracker (target >= 0.5): ${r.keepAlive.toFixed(2)} with keep-alive, ` +
        `${r.newConnection.toFixed(2)} with a new connection per announce on both sides`
      : `opentracker skipped: ${result.opentrackerSkipped}`;
  return [header, ...lines, tail].join('\n');
}

export async function runTrackerBench(opts: TrackerBenchOptions): Promise<TrackerBenchResult> {
  const peers = opts.peers ?? 10_000;
  const announces = opts.announces ?? 30_000;
  const connections = opts.connections ?? 32;
  const rounds = opts.rounds ?? 3;
  const swarm = makeSwarm(peers);
  const children: ChildProcess[] = [];
  const rows: Row[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'seedstream-tracker-bench-'));
  let opentrackerSkipped: string | undefined;
  try {
    const ours = await startOurs('random');
    children.push(ours.child);
    const qos = await startOurs('qos');
    children.push(qos.child);
    rows.push(
      { name: 'seedstream (random)', port: ours.port, keepAlive: true, extension: false, runs: [] },
      { name: 'seedstream (random)', port: ours.port, keepAlive: false, extension: false, runs: [] },
      { name: 'seedstream (qos + ss_*)', port: qos.port, keepAlive: true, extension: true, runs: [] },
    );
    if (!existsSync(OPENTRACKER)) {
      opentrackerSkipped = `${OPENTRACKER} is not installed`;
    } else {
      try {
        const ot = await startOpentracker(dir);
        children.push(ot.child);
        rows.push({ name: 'opentracker', port: ot.port, keepAlive: false, extension: false, runs: [] });
      } catch (err) {
        if (!(err instanceof BenchError)) throw err;
        opentrackerSkipped = err.message;
      }
    }
    // Each tracker process registers the swarm once (the second row of ours shares the first's).
    for (const row of rows) {
      const twin = rows.find((r) => r !== row && r.port === row.port && r.registration !== undefined);
      if (twin === undefined) await register(row, swarm, connections);
      else {
        row.registration = twin.registration;
        row.scraped = twin.scraped;
      }
    }
    // Rounds interleave the rows, so a burst of background load does not land on one tracker only.
    for (let round = 0; round < rounds; round++) {
      for (const row of rows) await measureOnce(row, swarm, announces, connections);
    }
  } finally {
    await Promise.all(children.map(stopChild));
    await rm(dir, { recursive: true, force: true });
  }
  const targets = rows.map((row) => summarize(row, announces));
  const ot = targets.find((t) => t.name === 'opentracker');
  const ours = (keepAlive: boolean): TargetResult | undefined =>
    targets.find((t) => t.name === 'seedstream (random)' && t.keepAlive === keepAlive);
  const ratio = (t: TargetResult | undefined): number =>
    t === undefined || ot === undefined
      ? Number.NaN
      : Number((t.announcesPerSec / ot.announcesPerSec).toFixed(3));
  const result: TrackerBenchResult = {
    bench: 'tracker',
    peers,
    announces,
    rounds,
    connections,
    targets,
    ...(ot === undefined
      ? {}
      : { ratioToOpentracker: { keepAlive: ratio(ours(true)), newConnection: ratio(ours(false)) } }),
    ...(opentrackerSkipped === undefined ? {} : { opentrackerSkipped }),
  };
  process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${table(result)}\n`);
  return result;
}

// Run directly: `node --import tsx test/bench/tracker.ts [--json]`.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runTrackerBench({ json: process.argv.includes('--json') });
}
