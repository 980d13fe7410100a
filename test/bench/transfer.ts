/*
 * `npm run bench -- transfer` (issue 3): 256 MiB over loopback between two processes, for every
 * pairing of our peer and libtorrent, next to this machine's limits measured in the same run.
 *
 * Our peer runs through its CLI (`seed` / `get`), each in its own process, with peer-probe.ts
 * preloaded for its CPU time and JS-heap allocation; libtorrent runs through its harness
 * (agent/third-party/libtorrent.ts, profile `fast`: TCP only, high_performance_seed(), 100 ms
 * ticks). Seeds start once and serve every run; each run starts a fresh leecher into a fresh
 * directory (page cache), removed right after. Runs go round-robin over the pairs, so a drift of
 * the machine during the bench touches every pair alike; each figure is the median of the runs.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createMetainfo } from '../../agent/peer/metainfo/index.js';
import { Random } from '../../agent/peer/random.js';
import { LibtorrentPeer, type PeerAddress } from '../../agent/third-party/libtorrent.js';
import { boundedSignal } from '../../agent/third-party/wait.js';
import { detectComponent } from '../support/components.mjs';
import {
  BenchError,
  fixed,
  formatTable,
  JsonLineProcess,
  MIB,
  machineBusy,
  median,
  mibPerSecond,
  note,
  REPO_DIR,
  Resources,
} from './support.js';

export interface TransferBenchOptions {
  readonly json: boolean;
  /** Default 256 MiB. */
  readonly sizeBytes?: number;
  /** Runs per pair; default 3. */
  readonly runs?: number;
}

type Implementation = 'seedstream' | 'libtorrent';
type StorageKind = 'file' | 'memory';

interface PairSpec {
  readonly id: string;
  readonly label: string;
  readonly seed: Implementation;
  readonly leech: Implementation;
  /** Where the seed serves from and the leecher stores to. libtorrent: always files. */
  readonly storage: StorageKind;
  /** A headline row: both ends on files, comparable with libtorrent. */
  readonly headline: boolean;
}

const PAIRS: readonly PairSpec[] = [
  {
    id: 'seedstream->seedstream',
    label: 'seedstream -> seedstream',
    seed: 'seedstream',
    leech: 'seedstream',
    storage: 'file',
    headline: true,
  },
  {
    id: 'libtorrent->libtorrent',
    label: 'libtorrent -> libtorrent',
    seed: 'libtorrent',
    leech: 'libtorrent',
    storage: 'file',
    headline: true,
  },
  {
    id: 'seedstream->libtorrent',
    label: 'seedstream -> libtorrent',
    seed: 'seedstream',
    leech: 'libtorrent',
    storage: 'file',
    headline: true,
  },
  {
    id: 'libtorrent->seedstream',
    label: 'libtorrent -> seedstream',
    seed: 'libtorrent',
    leech: 'seedstream',
    storage: 'file',
    headline: true,
  },
  {
    id: 'seedstream->seedstream/memory',
    label: 'seedstream -> seedstream, memory storage (no files)',
    seed: 'seedstream',
    leech: 'seedstream',
    storage: 'memory',
    headline: false,
  },
];

export interface TransferRun {
  /** Leecher's first payload block to every piece verified. */
  readonly transferMs: number;
  /** Leecher's own clock: session start to content complete (every piece SHA-1-verified and written). */
  readonly elapsedMs: number;
  /** Spawn of the leecher to its completion report, runtime start-up included. */
  readonly wallMs: number;
  /** Leecher's CPU time (every thread) from listening to completion. */
  readonly cpuMs: number;
  /** Leecher's CPU time since it started, runtime start-up included. */
  readonly processCpuMs: number;
  /** Ours only: JS-heap bytes allocated from listening to completion. */
  readonly heapAllocatedBytes?: number;
}

export interface PairResult {
  readonly id: string;
  readonly label: string;
  readonly seed: Implementation;
  readonly leech: Implementation;
  readonly storage: StorageKind;
  readonly headline: boolean;
  readonly runs: TransferRun[];
  readonly transferMiBps: number;
  readonly endToEndMiBps: number;
  readonly wallMiBps: number;
  readonly cpuSeconds: number;
  readonly processCpuSeconds: number;
  readonly heapBytesPerBlock?: number;
}

export interface SeedAllocation {
  readonly seed: string;
  readonly blocksServed: number;
  readonly heapAllocatedBytes: number;
  readonly heapBytesPerBlock: number;
}

export interface MachineLimits {
  /** Raw TCP over loopback between two Node processes, 1 MiB writes: first byte to last. */
  readonly tcpLoopbackMiBps: number;
  readonly tcpReceiverCpuSeconds: number;
  /** SHA-1 of 256 KiB pieces, one thread of this process. */
  readonly sha1MiBps: number;
}

export interface TargetVerdict {
  readonly target: string;
  readonly met: boolean;
  readonly detail: string;
}

/** Other work on the machine skews every figure; this is how busy it was. */
export interface MachineLoad {
  readonly cpus: number;
  /** Fraction of all CPUs busy with other work just before and just after the bench (Linux). */
  readonly busyBefore: number | null;
  readonly busyAfter: number | null;
}

export interface TransferBenchResult {
  readonly bench: 'transfer';
  readonly machine: MachineLoad;
  readonly bytes: number;
  readonly pieceLength: number;
  readonly runsPerPair: number;
  readonly limits: MachineLimits;
  readonly pairs: PairResult[];
  readonly seedAllocation: SeedAllocation[];
  readonly targets: TargetVerdict[];
  readonly libtorrentSkipped?: string;
}

const DEFAULT_SIZE_BYTES = 256 * MIB;
const PIECE_LENGTH_BYTES = 256 * 1024;
const BLOCK_LENGTH_BYTES = 16 * 1024;
const DEFAULT_RUNS = 3;
const CONTENT_NAME = 'content.bin';
const CONTENT_SEED = 'seedstream transfer bench';
const CLI_BIN = join(REPO_DIR, 'controller/cli/bin.mjs');
const PROBE = join(REPO_DIR, 'test/bench/peer-probe.ts');
const BENCH_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 120_000;
const LIMIT_TIMEOUT_MS = 30_000;
/**
 * The allocation target, as a number: per-piece and per-connection costs are amortised over
 * the blocks too, so 0 is out of reach; 64 B per 16 KiB block is less than one small object
 * (a Buffer view alone is ~100 B) per block.
 */
const ALLOCATION_LIMIT_BYTES_PER_BLOCK = 64;
const BUSY_SAMPLE_MS = 1_000;
/** Other work above this share of the CPUs makes the figures unreliable. */
const BUSY_WARNING = 0.05;

// Plain JS run with `node -e`: argv[1] is the byte count (and host, port for the sender).
const TCP_RECEIVER = `
const net = require('node:net');
const total = Number(process.argv[1]);
const server = net.createServer((socket) => {
  let got = 0;
  let first;
  let cpu;
  socket.on('data', (chunk) => {
    if (first === undefined) { first = performance.now(); cpu = process.cpuUsage(); }
    got += chunk.length;
    if (got >= total) {
      const ms = performance.now() - first;
      const used = process.cpuUsage(cpu);
      console.log(JSON.stringify({ event: 'received', bytes: got, ms, cpuMs: (used.user + used.system) / 1000 }));
      socket.destroy();
      server.close();
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
`;
const TCP_SENDER = `
const net = require('node:net');
const { once } = require('node:events');
const [total, host, port] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3])];
const chunk = Buffer.alloc(1024 * 1024, 0x5a);
const socket = net.connect({ host, port }, async () => {
  for (let sent = 0; sent < total; ) {
    const n = Math.min(chunk.length, total - sent);
    if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(socket, 'drain');
    sent += n;
  }
  socket.end();
});
socket.on('error', () => {});
`;

export async function runTransferBench(opts: TransferBenchOptions): Promise<TransferBenchResult> {
  const size = opts.sizeBytes ?? DEFAULT_SIZE_BYTES;
  const runs = opts.runs ?? DEFAULT_RUNS;
  const signal = AbortSignal.timeout(BENCH_TIMEOUT_MS);
  const busyBefore = (await machineBusy(BUSY_SAMPLE_MS)) ?? null;
  const lt = detectComponent('libtorrent');
  const libtorrentSkipped = lt.available ? undefined : (lt.reason ?? 'libtorrent not detected');
  const pairs = PAIRS.filter(
    (p) => libtorrentSkipped === undefined || (p.seed !== 'libtorrent' && p.leech !== 'libtorrent'),
  );
  const resources = new Resources();
  try {
    const root = (await resources.tempDir('transfer-bench')).path;
    note(`transfer: generating ${size / MIB} MiB of content and its torrent`);
    const seedDir = join(root, 'seed');
    await mkdir(seedDir);
    const data = Buffer.from(new Random(CONTENT_SEED).fill(new Uint8Array(size)));
    await writeFile(join(seedDir, CONTENT_NAME), data);
    const { torrent } = await createMetainfo({
      content: { name: CONTENT_NAME, data },
      pieceLength: PIECE_LENGTH_BYTES,
      creationDate: null,
    });
    const torrentPath = join(root, `${CONTENT_NAME}.torrent`);
    await writeFile(torrentPath, torrent);

    note('transfer: measuring the machine limits');
    const limits = await measureLimits(data, runs, signal);

    note('transfer: starting the seeds');
    const seeds = await startSeeds(resources, torrentPath, seedDir, pairs, signal);
    const results = new Map<string, TransferRun[]>(pairs.map((p) => [p.id, []]));
    let runNumber = 0;
    for (let run = 1; run <= runs; run++) {
      for (const pair of pairs) {
        const dir = join(root, `leech-${++runNumber}`);
        await mkdir(dir);
        try {
          const seedAddress = seeds.address(pair);
          const runSignal = boundedSignal(signal, RUN_TIMEOUT_MS);
          const result =
            pair.leech === 'seedstream'
              ? await runOurLeech(torrentPath, dir, seedAddress, pair.storage, size, runSignal)
              : await runLibtorrentLeech(torrentPath, dir, seedAddress, size, runSignal);
          results.get(pair.id)?.push(result);
          note(
            `transfer: run ${run}/${runs} ${pair.label}: ${fixed(mibPerSecond(size, result.transferMs), 0)} MiB/s transfer, ` +
              `${fixed(mibPerSecond(size, result.elapsedMs), 0)} MiB/s end to end`,
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
    const seedAllocation = await seeds.stop(signal);
    const busyAfter = (await machineBusy(BUSY_SAMPLE_MS)) ?? null;

    const pairResults = pairs.map((p) => summarise(p, results.get(p.id) ?? [], size));
    const result: TransferBenchResult = {
      bench: 'transfer',
      machine: { cpus: availableParallelism(), busyBefore, busyAfter },
      bytes: size,
      pieceLength: PIECE_LENGTH_BYTES,
      runsPerPair: runs,
      limits,
      pairs: pairResults,
      seedAllocation,
      targets: judge(pairResults, seedAllocation, libtorrentSkipped),
      ...(libtorrentSkipped === undefined ? {} : { libtorrentSkipped }),
    };
    if (!opts.json) process.stdout.write(`${report(result)}\n`);
    return result;
  } finally {
    await resources.close();
  }
}

async function measureLimits(data: Buffer, runs: number, signal: AbortSignal): Promise<MachineLimits> {
  const tcp: { ms: number; cpuMs: number }[] = [];
  const sha1Ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    tcp.push(await measureTcp(data.length, boundedSignal(signal, LIMIT_TIMEOUT_MS)));
    sha1Ms.push(measureSha1(data));
  }
  return {
    tcpLoopbackMiBps: mibPerSecond(data.length, median(tcp.map((r) => r.ms))),
    tcpReceiverCpuSeconds: median(tcp.map((r) => r.cpuMs)) / 1000,
    sha1MiBps: mibPerSecond(data.length, median(sha1Ms)),
  };
}

async function measureTcp(bytes: number, signal: AbortSignal): Promise<{ ms: number; cpuMs: number }> {
  const resources = new Resources();
  try {
    const receiver = new JsonLineProcess({
      name: 'tcp receiver',
      argv: [process.execPath, '-e', TCP_RECEIVER, String(bytes)],
    });
    await resources.spawn(receiver);
    const { fields } = await receiver.waitEvent('listening', signal);
    const sender = new JsonLineProcess({
      name: 'tcp sender',
      argv: [process.execPath, '-e', TCP_SENDER, String(bytes), '127.0.0.1', String(fields.port)],
    });
    await resources.spawn(sender);
    const received = (await receiver.waitEvent('received', signal)).fields;
    if (received.bytes !== bytes)
      throw new BenchError(`tcp receiver got ${received.bytes} of ${bytes} bytes`);
    return { ms: Number(received.ms), cpuMs: Number(received.cpuMs) };
  } finally {
    await resources.close();
  }
}

function measureSha1(data: Buffer): number {
  const started = performance.now();
  for (let offset = 0; offset < data.length; offset += PIECE_LENGTH_BYTES) {
    createHash('sha1')
      .update(data.subarray(offset, offset + PIECE_LENGTH_BYTES))
      .digest();
  }
  return performance.now() - started;
}

interface Seeds {
  address(pair: PairSpec): PeerAddress;
  /** Stops our seeds and reads their allocation figures. */
  stop(signal: AbortSignal): Promise<SeedAllocation[]>;
}

async function startSeeds(
  resources: Resources,
  torrentPath: string,
  seedDir: string,
  pairs: readonly PairSpec[],
  signal: AbortSignal,
): Promise<Seeds> {
  const startSignal = boundedSignal(signal, START_TIMEOUT_MS);
  const ours = new Map<StorageKind, JsonLineProcess>();
  const ourAddresses = new Map<StorageKind, PeerAddress>();
  for (const storage of new Set(pairs.filter((p) => p.seed === 'seedstream').map((p) => p.storage))) {
    const child = new JsonLineProcess({
      name: `seedstream seed (${storage} storage)`,
      argv: ourCli(['seed', torrentPath, '--dir', seedDir, '--port', '0', '--storage', storage]),
    });
    await resources.spawn(child);
    ours.set(storage, child);
  }
  let libtorrent: LibtorrentPeer | undefined;
  if (pairs.some((p) => p.seed === 'libtorrent')) {
    libtorrent = new LibtorrentPeer({
      torrentPath,
      saveDir: seedDir,
      mode: 'seed',
      trackers: [],
      profile: 'fast',
    });
    await resources.spawn(libtorrent);
  }
  // Both implementations hash the content before serving; let them do it side by side.
  for (const [storage, child] of ours) {
    const { fields } = await child.waitEvent('listening', startSignal);
    if (fields.pieces !== fields.pieceCount) {
      throw new BenchError(`${child.name} has ${fields.pieces} of ${fields.pieceCount} pieces`);
    }
    ourAddresses.set(storage, { host: '127.0.0.1', port: Number(fields.port) });
  }
  await libtorrent?.waitFinished(startSignal);
  return {
    address(pair) {
      if (pair.seed === 'libtorrent') return libtorrent!.address;
      const address = ourAddresses.get(pair.storage);
      if (address === undefined) throw new BenchError(`no seedstream seed with ${pair.storage} storage`);
      return address;
    },
    async stop(stopSignal) {
      const figures: SeedAllocation[] = [];
      for (const child of ours.values()) {
        await child.stop();
        const stopped = await child.waitEvent('stopped', stopSignal);
        const probe = await child.waitEvent('bench-probe', stopSignal);
        const blocks = Number(stopped.fields.uploaded) / BLOCK_LENGTH_BYTES;
        const allocated = Number(probe.fields.heapAllocatedBytes);
        figures.push({
          seed: child.name,
          blocksServed: blocks,
          heapAllocatedBytes: allocated,
          heapBytesPerBlock: blocks > 0 ? allocated / blocks : Number.NaN,
        });
      }
      await libtorrent?.stop();
      return figures;
    },
  };
}

/** argv of our CLI with the probe preloaded (tsx first: the probe is TypeScript). */
function ourCli(args: readonly string[]): string[] {
  return [
    process.execPath,
    '--import',
    'tsx',
    '--import',
    PROBE,
    CLI_BIN,
    ...args,
    '--json',
    '--no-announce',
    '--log-level',
    'warn',
  ];
}

async function runOurLeech(
  torrentPath: string,
  dir: string,
  seed: PeerAddress,
  storage: StorageKind,
  size: number,
  signal: AbortSignal,
): Promise<TransferRun> {
  const child = new JsonLineProcess({
    name: `seedstream get (${storage} storage)`,
    argv: ourCli([
      'get',
      torrentPath,
      '--dir',
      dir,
      '--peer',
      `${seed.host}:${seed.port}`,
      '--storage',
      storage,
      '--timeout',
      String(RUN_TIMEOUT_MS / 1000),
    ]),
  });
  try {
    await child.start();
    const complete = await child.waitEvent('complete', signal);
    const probe = (await child.waitEvent('bench-probe', signal)).fields;
    await child.waitExit(signal);
    const c = complete.fields;
    if (c.bytes !== size || c.downloaded !== size || c.hashFailures !== 0) {
      throw new BenchError(
        `${child.name}: bytes ${c.bytes}, downloaded ${c.downloaded}, hash failures ${c.hashFailures} (want ${size}, ${size}, 0)`,
      );
    }
    return {
      transferMs: Number(c.transferMs),
      elapsedMs: Number(c.elapsedMs),
      wallMs: complete.receivedAt - child.spawnedAt,
      cpuMs: Number(probe.cpuMs),
      processCpuMs: Number(probe.processCpuMs),
      heapAllocatedBytes: Number(probe.heapAllocatedBytes),
    };
  } finally {
    await child.stop();
  }
}

async function runLibtorrentLeech(
  torrentPath: string,
  dir: string,
  seed: PeerAddress,
  size: number,
  signal: AbortSignal,
): Promise<TransferRun> {
  const leech = new LibtorrentPeer({
    torrentPath,
    saveDir: dir,
    mode: 'download',
    trackers: [],
    profile: 'fast',
    peers: [seed],
  });
  try {
    const spawnedAt = performance.now();
    await leech.start(signal);
    const done = await leech.waitFinished(signal);
    const wallMs = performance.now() - spawnedAt;
    const timing = leech.timing;
    if (done?.downloaded !== size || timing === undefined || timing.transferMs === null) {
      throw new BenchError(
        `libtorrent leech finished with ${done?.downloaded} of ${size} bytes, timing ${JSON.stringify(timing)}`,
      );
    }
    return {
      transferMs: timing.transferMs,
      elapsedMs: timing.elapsedMs,
      wallMs,
      cpuMs: timing.cpuSinceListeningMs ?? Number.NaN,
      processCpuMs: timing.cpuMs,
    };
  } finally {
    await leech.stop();
  }
}

function summarise(pair: PairSpec, runs: TransferRun[], size: number): PairResult {
  const heap = runs.flatMap((r) => (r.heapAllocatedBytes === undefined ? [] : [r.heapAllocatedBytes]));
  return {
    ...pair,
    runs,
    transferMiBps: median(runs.map((r) => mibPerSecond(size, r.transferMs))),
    endToEndMiBps: median(runs.map((r) => mibPerSecond(size, r.elapsedMs))),
    wallMiBps: median(runs.map((r) => mibPerSecond(size, r.wallMs))),
    cpuSeconds: median(runs.map((r) => r.cpuMs)) / 1000,
    processCpuSeconds: median(runs.map((r) => r.processCpuMs)) / 1000,
    ...(heap.length === 0 ? {} : { heapBytesPerBlock: median(heap) / (size / BLOCK_LENGTH_BYTES) }),
  };
}

function judge(
  pairs: readonly PairResult[],
  seeds: readonly SeedAllocation[],
  libtorrentSkipped: string | undefined,
): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const ours = pairs.find((p) => p.id === 'seedstream->seedstream');
  const theirs = pairs.find((p) => p.id === 'libtorrent->libtorrent');
  if (ours === undefined || theirs === undefined) {
    verdicts.push({
      target: "our pair at or above libtorrent's pair",
      met: false,
      detail: `not measured: ${libtorrentSkipped ?? 'a pair is missing'}`,
    });
  } else {
    for (const [what, key] of [
      ['transfer rate', 'transferMiBps'],
      ['end to end', 'endToEndMiBps'],
    ] as const) {
      const a = ours[key];
      const b = theirs[key];
      verdicts.push({
        target: `our pair at or above libtorrent's pair (${what})`,
        met: a >= b,
        detail: `${fixed(a, 0)} vs ${fixed(b, 0)} MiB/s (${fixed(a / b, 2)}x)`,
      });
    }
  }
  // The wire path alone is clearest without files (no writes, no read-back verification).
  const wire = pairs.find((p) => p.id === 'seedstream->seedstream/memory') ?? ours;
  const leechPerBlock = wire?.heapBytesPerBlock ?? Number.NaN;
  const perBlock = [leechPerBlock, ...seeds.map((s) => s.heapBytesPerBlock)];
  const seedText = seeds.map((s) => `${s.seed} ${fixed(s.heapBytesPerBlock, 0)}`).join(', ');
  verdicts.push({
    target: 'no allocation per block on the wire hot path',
    met: perBlock.every((b) => b < ALLOCATION_LIMIT_BYTES_PER_BLOCK),
    detail:
      `JS heap per 16 KiB block: leecher ${fixed(leechPerBlock, 0)} (${wire?.label}), ${seedText}; ` +
      `limit < ${ALLOCATION_LIMIT_BYTES_PER_BLOCK}`,
  });
  return verdicts;
}

function report(r: TransferBenchResult): string {
  const header = [
    'pair (seed -> leech)',
    'transfer MiB/s',
    'end-to-end MiB/s',
    'wall MiB/s',
    'leech CPU s',
    'leech process CPU s',
    'leech heap B/block',
  ];
  const rows = r.pairs.map((p) => [
    p.label,
    fixed(p.transferMiBps, 0),
    fixed(p.endToEndMiBps, 0),
    fixed(p.wallMiBps, 0),
    fixed(p.cpuSeconds, 2),
    fixed(p.processCpuSeconds, 2),
    fixed(p.heapBytesPerBlock, 0),
  ]);
  const l = r.limits;
  const tcpSeconds = r.bytes / MIB / l.tcpLoopbackMiBps;
  rows.push(
    [
      'limit: raw TCP loopback, node -> node',
      fixed(l.tcpLoopbackMiBps, 0),
      '-',
      '-',
      fixed(l.tcpReceiverCpuSeconds, 2),
      '-',
      '-',
    ],
    [
      'limit: SHA-1 of 256 KiB pieces, 1 thread',
      fixed(l.sha1MiBps, 0),
      '-',
      '-',
      fixed(r.bytes / MIB / l.sha1MiBps, 2),
      '-',
      '-',
    ],
  );
  const lines = [
    `transfer bench: ${r.bytes / MIB} MiB over loopback, ${r.pieceLength / 1024} KiB pieces, ` +
      `median of ${r.runsPerPair} runs per pair; leechers write files (page cache) unless marked`,
    formatTable(header, rows),
    '',
    "transfer: leecher's first payload block to all pieces verified. end-to-end: leecher's own clock from",
    'session start to content complete on disk (ours: every piece verified and written; libtorrent: flushed).',
    'wall: spawn of the leecher to its completion report, runtime start-up included. leech CPU: every',
    'thread, listening to completion (limits: receiver CPU / hashing time). heap: JS-heap bytes',
    'allocated per 16 KiB block, listening to completion (GC statistics; file rows include the read-back).',
    `raw TCP moved ${r.bytes / MIB} MiB in ${fixed(tcpSeconds, 3)} s with 1 MiB writes.`,
    `our seeds' heap per block served: ${r.seedAllocation.map((s) => `${s.seed} ${fixed(s.heapBytesPerBlock, 0)} B over ${s.blocksServed} blocks`).join('; ')}`,
  ];
  const m = r.machine;
  const busy = [m.busyBefore, m.busyAfter];
  lines.push(
    `machine: ${m.cpus} CPUs, ${busy.map((b) => `${fixed(b === null ? null : b * 100, 0)}%`).join(' / ')} busy with ` +
      'other work just before / after the bench' +
      (busy.some((b) => b !== null && b > BUSY_WARNING) ? ' -- NOT QUIET: every figure is skewed' : ''),
  );
  if (r.libtorrentSkipped !== undefined) lines.push(`libtorrent rows skipped: ${r.libtorrentSkipped}`);
  lines.push('targets:');
  for (const t of r.targets) lines.push(`  [${t.met ? 'met' : 'NOT MET'}] ${t.target}: ${t.detail}`);
  return lines.join('\n');
}
