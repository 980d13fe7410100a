/*
 * `npm run bench -- streaming [--quick] [--json]` (issue 4): every piece-selection strategy on the
 * same swarm, side by side, with and without the range messages.
 *
 * The swarm (agent/swarm, real TCP on loopback, links shaped per peer by ShapedLink): one seed
 * uploading at 3x the stream's byte rate, 20 leechers uploading at 1.5x (downloading at most 10x)
 * arriving uniformly over 30 s, every link with 10 ms of one-way delay, a CBR stream of 8 Mibit/s
 * (8 * 2^20 bit/s, so its 40 MiB last exactly 40 s) in 256 KiB pieces, and 2 s of start-up buffer.
 * BASS streams its window from a media server uploading at 2x the byte rate in all, shared by
 * every bass leecher (BASS needs one; the others run without).
 *
 * A cell is one strategy for every leecher with the range messages on or off: one swarm, in a
 * child process of its own (streaming-cell.ts), with the same seed as every other cell, hence the
 * same content and the same arrival times. Cells run a few at a time: a cell waits on its links
 * and its players most of the time (about a fifth of a core), and the swarm is real time, so a
 * cell takes at least the arrival window plus the stream's duration however fast the machine is.
 * `--quick`: 8 leechers over 10 s, 10 MiB, for a CI-sized run.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { strategyNames } from '../../agent/peer/picker/index.js';
import { boundedSignal } from '../../agent/third-party/wait.js';
import type { CellSpec, CellSummary, StreamingScenario } from './streaming-cell.js';
import { fixed, formatTable, JsonLineProcess, MIB, machineBusy, median, note, Resources } from './support.js';

export interface StreamingBenchOptions {
  readonly json: boolean;
  /** The small variant (QUICK_SCENARIO). */
  readonly quick?: boolean;
  /** Cells run at once; default DEFAULT_JOBS. */
  readonly jobs?: number;
  /** Default: every registered strategy. */
  readonly strategies?: readonly string[];
}

/** 8 * 2^20 bit/s: 1 MiB of stream per second. */
const BITRATE_BPS = 8 * MIB;
const BENCH_SEED = 'streaming-bench';
const CELL_SCRIPT = fileURLToPath(new URL('./streaming-cell.ts', import.meta.url));

export const FULL_SCENARIO: StreamingScenario = {
  leechers: 20,
  sizeBytes: 40 * MIB,
  bitrateBps: BITRATE_BPS,
  pieceLengthBytes: 256 * 1024,
  arrivalWindowMs: 30_000,
  seedUploadFactor: 3,
  leecherUploadFactor: 1.5,
  leecherDownloadFactor: 10,
  mediaServerFactor: 2,
  delayMs: 10,
  startupBufferMs: 2_000,
  // Arrivals (30 s) + the stream (40 s) + start-up and stalls: a cell normally takes 80-90 s.
  timeoutMs: 150_000,
};

export const QUICK_SCENARIO: StreamingScenario = {
  ...FULL_SCENARIO,
  leechers: 8,
  sizeBytes: 10 * MIB,
  arrivalWindowMs: 10_000,
  timeoutMs: 60_000,
};

/** Three cells of the full scenario take about half a core together (measured: 15 s CPU per 85 s cell). */
export const DEFAULT_JOBS = 3;
/** Beyond a cell's own timeout: process start, content generation, teardown. */
const CELL_SLACK_MS = 60_000;
const BUSY_SAMPLE_MS = 1_000;
const BUSY_WARNING = 0.25;
/** What "no loss of QoE" tolerates of the range-messages row against the row without. */
const QOE_STARTUP_TOLERANCE = 0.1;
const QOE_STARTUP_TOLERANCE_MS = 250;
const QOE_CONTINUITY_TOLERANCE = 0.002;
const RANGE_REDUCTION_TARGET = 0.9;

/** One row of the table: the figures of one cell. */
export interface StreamingRow {
  readonly strategy: string;
  readonly rangeMessages: boolean;
  readonly leechers: number;
  readonly finishedPlaying: number;
  readonly timedOut: boolean;
  /** Over the leechers that started playing. */
  readonly startupMedianMs: number | null;
  readonly startupP95Ms: number | null;
  readonly neverStarted: number;
  /** Mean over the leechers. */
  readonly stallsPerPeer: number;
  readonly stalledPeers: number;
  readonly stallSecondsPerPeer: number;
  readonly stallSecondsTotal: number;
  /** Mean over the leechers that played something. */
  readonly continuity: number | null;
  readonly deadlineMisses: number;
  readonly haveRequestBytesPerMiB: number;
  /** Its parts (and cancels, which it leaves out), bytes per MiB delivered. */
  readonly bytesPerMiBByKind: { have: number; request: number; range: number; cancel: number };
  readonly mediaServerMiB: number;
  readonly wastedMiB: number;
  readonly swarmSeconds: number;
  readonly cpuSeconds: number;
  readonly errors: readonly string[];
}

export interface RangeComparison {
  readonly strategy: string;
  readonly off: StreamingRow['bytesPerMiBByKind'];
  readonly on: StreamingRow['bytesPerMiBByKind'];
  readonly haveRequestBytesPerMiBOff: number;
  readonly haveRequestBytesPerMiBOn: number;
  /** 1 - on / off. */
  readonly reduction: number;
  readonly qoeKept: boolean;
  readonly qoeDetail: string;
}

export interface TargetVerdict {
  readonly target: string;
  readonly met: boolean;
  readonly detail: string;
}

export interface StreamingBenchResult {
  readonly bench: 'streaming';
  readonly variant: 'full' | 'quick';
  readonly scenario: StreamingScenario;
  readonly seed: string;
  readonly jobs: number;
  readonly machine: { cpus: number; busyBefore: number | null; busyAfter: number | null };
  readonly wallSeconds: number;
  readonly rows: readonly StreamingRow[];
  readonly range: readonly RangeComparison[];
  readonly targets: readonly TargetVerdict[];
  /** Every cell's per-leecher figures, as the cells reported them. */
  readonly cells: readonly CellSummary[];
}

export async function runStreamingBench(opts: StreamingBenchOptions): Promise<StreamingBenchResult> {
  const started = performance.now();
  const scenario = opts.quick ? QUICK_SCENARIO : FULL_SCENARIO;
  const strategies = opts.strategies ?? strategyNames();
  const jobs = opts.jobs ?? DEFAULT_JOBS;
  const specs: CellSpec[] = strategies.flatMap((strategy) =>
    [true, false].map((rangeMessages) => ({ seed: BENCH_SEED, scenario, strategy, rangeMessages })),
  );
  const busyBefore = (await machineBusy(BUSY_SAMPLE_MS)) ?? null;
  note(
    `streaming: ${specs.length} cells (${strategies.length} strategies x range messages on/off), ` +
      `${jobs} at a time, ${scenario.leechers} leechers, ${scenario.sizeBytes / MIB} MiB each`,
  );
  const cells = await runPool(specs, jobs, (spec) => runCellProcess(spec));
  const busyAfter = (await machineBusy(BUSY_SAMPLE_MS)) ?? null;
  const rows = cells.map(row);
  const range = strategies.flatMap((s) => {
    const on = rows.find((r) => r.strategy === s && r.rangeMessages);
    const off = rows.find((r) => r.strategy === s && !r.rangeMessages);
    return on === undefined || off === undefined ? [] : [compareRange(on, off)];
  });
  const result: StreamingBenchResult = {
    bench: 'streaming',
    variant: opts.quick ? 'quick' : 'full',
    scenario,
    seed: BENCH_SEED,
    jobs,
    machine: { cpus: availableParallelism(), busyBefore, busyAfter },
    wallSeconds: (performance.now() - started) / 1000,
    rows,
    range,
    targets: judge(rows, range),
    cells,
  };
  if (!opts.json) process.stdout.write(`${report(result)}\n`);
  return result;
}

/** Runs `work` over `items`, at most `jobs` at once, results in the items' order; stops at the first failure. */
async function runPool<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // Bounded: each iteration takes one item.
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

async function runCellProcess(spec: CellSpec): Promise<CellSummary> {
  const label = `${spec.strategy}, range ${spec.rangeMessages ? 'on' : 'off'}`;
  const resources = new Resources();
  try {
    const child = new JsonLineProcess({
      name: `streaming cell (${label})`,
      argv: [process.execPath, '--import', 'tsx', CELL_SCRIPT, JSON.stringify(spec)],
    });
    await resources.spawn(child);
    const signal = boundedSignal(undefined, spec.scenario.timeoutMs + CELL_SLACK_MS);
    // A failing cell prints an `error` event and exits 1: waitEvent then rejects with it.
    const done = await child.waitEvent('cell', signal);
    await child.waitExit(signal);
    const { event: _event, ...summary } = done.fields;
    const cell = summary as unknown as CellSummary;
    const r = row(cell);
    note(
      `streaming: ${label}: ${r.finishedPlaying}/${r.leechers} played, startup median ` +
        `${seconds(r.startupMedianMs)} s, ${fixed(r.stallsPerPeer, 2)} stalls/peer, ` +
        `${fixed(r.swarmSeconds, 0)} s (${fixed(r.cpuSeconds, 0)} s CPU)`,
    );
    return cell;
  } finally {
    await resources.close();
  }
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function row(c: CellSummary): StreamingRow {
  const startups = c.startupDelayMs.filter((v): v is number => v !== null);
  const continuity = c.continuityIndex.filter((v): v is number => v !== null);
  const stallTotal = c.stallMs.reduce((a, b) => a + b, 0);
  const perMiB = (kind: string): number =>
    c.deliveredBytes > 0 ? (c.messagesOut[kind]?.bytes ?? 0) / (c.deliveredBytes / MIB) : 0;
  return {
    strategy: c.strategy,
    rangeMessages: c.rangeMessages,
    leechers: c.leechers,
    finishedPlaying: c.finishedPlaying,
    timedOut: c.timedOut,
    startupMedianMs: startups.length === 0 ? null : median(startups),
    startupP95Ms: percentile(startups, 0.95),
    neverStarted: c.leechers - startups.length,
    stallsPerPeer: mean(c.stallCount),
    stalledPeers: c.stallCount.filter((n) => n > 0).length,
    stallSecondsPerPeer: stallTotal / 1000 / Math.max(1, c.leechers),
    stallSecondsTotal: stallTotal / 1000,
    continuity: continuity.length === 0 ? null : mean(continuity),
    deadlineMisses: c.deadlineMisses.reduce((a, b) => a + b, 0),
    haveRequestBytesPerMiB: c.haveRequestBytesPerMiB,
    bytesPerMiBByKind: {
      have: perMiB('have'),
      request: perMiB('request'),
      range: perMiB('ext:ss_range'),
      cancel: perMiB('cancel'),
    },
    mediaServerMiB: (c.bytesBySource['media-server'] ?? 0) / MIB,
    wastedMiB: c.wastedBytes / MIB,
    swarmSeconds: c.durationMs / 1000,
    cpuSeconds: c.cpuMs / 1000,
    errors: c.errors,
  };
}

function compareRange(on: StreamingRow, off: StreamingRow): RangeComparison {
  const reduction = 1 - on.haveRequestBytesPerMiB / off.haveRequestBytesPerMiB;
  const losses: string[] = [];
  if (on.finishedPlaying < off.finishedPlaying)
    losses.push(`played ${on.finishedPlaying} < ${off.finishedPlaying}`);
  if (on.stallsPerPeer > off.stallsPerPeer)
    losses.push(`stalls/peer ${fixed(on.stallsPerPeer, 2)} > ${fixed(off.stallsPerPeer, 2)}`);
  const cOn = on.continuity ?? 0;
  const cOff = off.continuity ?? 0;
  if (cOn < cOff - QOE_CONTINUITY_TOLERANCE) losses.push(`continuity ${fixed(cOn, 3)} < ${fixed(cOff, 3)}`);
  const sOn = on.startupMedianMs ?? Number.POSITIVE_INFINITY;
  const sOff = off.startupMedianMs ?? Number.POSITIVE_INFINITY;
  if (sOn > sOff * (1 + QOE_STARTUP_TOLERANCE) + QOE_STARTUP_TOLERANCE_MS)
    losses.push(`startup median ${seconds(sOn)} s > ${seconds(sOff)} s`);
  return {
    strategy: on.strategy,
    off: off.bytesPerMiBByKind,
    on: on.bytesPerMiBByKind,
    haveRequestBytesPerMiBOff: off.haveRequestBytesPerMiB,
    haveRequestBytesPerMiBOn: on.haveRequestBytesPerMiB,
    reduction,
    qoeKept: losses.length === 0,
    qoeDetail: losses.length === 0 ? 'QoE kept' : `QoE lost: ${losses.join(', ')}`,
  };
}

function judge(rows: readonly StreamingRow[], range: readonly RangeComparison[]): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  for (const on of [true, false]) {
    const setting = `range messages ${on ? 'on' : 'off'}`;
    const same = rows.filter((r) => r.rangeMessages === on);
    const deadline = same.find((r) => r.strategy === 'deadline');
    const rarest = same.find((r) => r.strategy === 'rarest-first');
    if (deadline === undefined || rarest === undefined) continue;
    const rfStalls = Math.round(rarest.stallsPerPeer * rarest.leechers);
    const dlStalls = Math.round(deadline.stallsPerPeer * deadline.leechers);
    verdicts.push({
      target: `deadline with zero stalls where rarest-first stalls (${setting})`,
      met: dlStalls === 0 && deadline.finishedPlaying === deadline.leechers && rfStalls > 0,
      detail:
        `deadline ${dlStalls} stalls (${deadline.stalledPeers} peers, ${fixed(deadline.stallSecondsTotal, 1)} s), ` +
        `rarest-first ${rfStalls} stalls (${rarest.stalledPeers} peers, ${fixed(rarest.stallSecondsTotal, 1)} s)` +
        (rfStalls === 0 ? ' -- rarest-first did not stall, so this run cannot show it' : '') +
        (deadline.finishedPlaying < deadline.leechers
          ? ` -- only ${deadline.finishedPlaying}/${deadline.leechers} deadline leechers finished`
          : ''),
    });
    for (const [what, key] of [
      ['median', 'startupMedianMs'],
      ['p95', 'startupP95Ms'],
    ] as const) {
      const others = same.filter((r) => r.strategy !== 'deadline');
      const best = others.reduce<StreamingRow | undefined>(
        (b, r) => (b === undefined || (r[key] ?? Infinity) < (b[key] ?? Infinity) ? r : b),
        undefined,
      );
      const mine = deadline[key] ?? Number.POSITIVE_INFINITY;
      const theirs = best?.[key] ?? Number.POSITIVE_INFINITY;
      const diff = mine - theirs;
      verdicts.push({
        target: `deadline has the best start-up delay of all strategies, ${what} (${setting})`,
        met: best !== undefined && mine <= theirs,
        detail:
          `deadline ${seconds(mine)} s; best other: ${best?.strategy ?? '-'} ${seconds(theirs)} s` +
          (Number.isFinite(diff)
            ? ` (deadline ${diff <= 0 ? 'ahead' : 'behind'} by ${seconds(Math.abs(diff))} s)`
            : ''),
      });
    }
  }
  for (const c of range) {
    verdicts.push({
      target: `range messages cut have+request bytes by >= ${RANGE_REDUCTION_TARGET * 100}% with no loss of QoE (${c.strategy})`,
      met: c.reduction >= RANGE_REDUCTION_TARGET && c.qoeKept,
      detail:
        `${fixed(c.haveRequestBytesPerMiBOff, 0)} -> ${fixed(c.haveRequestBytesPerMiBOn, 0)} B/MiB ` +
        `(${fixed(c.reduction * 100, 1)}% less); ${c.qoeDetail}`,
    });
  }
  return verdicts;
}

function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : fixed(ms / 1000, 2);
}

function report(r: StreamingBenchResult): string {
  const s = r.scenario;
  const byteRate = s.bitrateBps / 8;
  const header = [
    'strategy',
    'range',
    'played',
    'startup med s',
    'startup p95 s',
    'stalls/peer',
    'stalled peers',
    'stall s/peer',
    'continuity',
    'have+req B/MiB',
    'media srv MiB',
    'wasted MiB',
    'swarm s',
  ];
  const rows = r.rows.map((x) => [
    x.strategy,
    x.rangeMessages ? 'on' : 'off',
    `${x.finishedPlaying}/${x.leechers}${x.timedOut ? ' (timeout)' : ''}`,
    seconds(x.startupMedianMs),
    seconds(x.startupP95Ms) + (x.neverStarted > 0 ? ` (+${x.neverStarted} never)` : ''),
    fixed(x.stallsPerPeer, 2),
    String(x.stalledPeers),
    fixed(x.stallSecondsPerPeer, 2),
    fixed(x.continuity, 4),
    fixed(x.haveRequestBytesPerMiB, 0),
    x.strategy === 'bass' ? fixed(x.mediaServerMiB, 1) : '-',
    fixed(x.wastedMiB, 1),
    fixed(x.swarmSeconds, 0),
  ]);
  const durationS = (s.sizeBytes * 8) / s.bitrateBps;
  const lines = [
    `streaming bench (${r.variant}): ${s.leechers} leechers arriving uniformly over ${s.arrivalWindowMs / 1000} s, ` +
      `${s.sizeBytes / MIB} MiB at ${fixed(s.bitrateBps / MIB, 0)} Mibit/s (${fixed(durationS, 0)} s of CBR video), ` +
      `${s.pieceLengthBytes / 1024} KiB pieces, ${s.startupBufferMs / 1000} s start-up buffer`,
    `links (ShapedLink): seed up ${s.seedUploadFactor}x the byte rate (${fixed((s.seedUploadFactor * byteRate) / MIB, 1)} MiB/s), ` +
      `leechers up ${s.leecherUploadFactor}x / down ${s.leecherDownloadFactor}x, ${s.delayMs} ms one-way delay each; ` +
      `bass: media server up ${s.mediaServerFactor}x the byte rate (${fixed((s.mediaServerFactor * byteRate) / MIB, 1)} MiB/s) shared by all bass leechers`,
    `every cell: one swarm, seed "${r.seed}" (same content, same arrivals), every leecher on the row's strategy; ` +
      `${r.jobs} cells at a time, each in its own process`,
    formatTable(header, rows),
    '',
    'startup: join to first frame, over the leechers that started. stalls/peer, stall s/peer: mean over the leechers.',
    'continuity: mean share of pieces held at their playback time. have+req B/MiB: have, request and ss_range bytes',
    'sent by every peer per MiB the leechers received. wasted: bytes received and thrown away (duplicates, late).',
    '',
    'range messages (ss_range) against plain have/request, per strategy:',
    formatTable(
      [
        'strategy',
        'off: have',
        'request',
        'total',
        'on: have',
        'request',
        'ss_range',
        'total',
        'cut',
        'cancel off/on',
        'QoE',
      ],
      r.range.map((c) => [
        c.strategy,
        fixed(c.off.have, 0),
        fixed(c.off.request, 0),
        fixed(c.haveRequestBytesPerMiBOff, 0),
        fixed(c.on.have, 0),
        fixed(c.on.request, 0),
        fixed(c.on.range, 0),
        fixed(c.haveRequestBytesPerMiBOn, 0),
        `${fixed(c.reduction * 100, 1)}%`,
        `${fixed(c.off.cancel, 0)}/${fixed(c.on.cancel, 0)}`,
        c.qoeDetail,
      ]),
    ),
    '(bytes per MiB delivered, sent by every peer; cancels are not part of have+request)',
    `(no loss of QoE: no fewer leechers finished, stalls/peer not higher, continuity not lower by more than ` +
      `${QOE_CONTINUITY_TOLERANCE}, median start-up not higher by more than ${QOE_STARTUP_TOLERANCE * 100}% + ` +
      `${QOE_STARTUP_TOLERANCE_MS} ms)`,
  ];
  const errors = r.rows.flatMap((x) =>
    x.errors.map((e) => `${x.strategy}/${x.rangeMessages ? 'on' : 'off'}: ${e}`),
  );
  if (errors.length > 0) lines.push('', 'leecher errors:', ...errors.map((e) => `  ${e}`));
  const m = r.machine;
  const busy = [m.busyBefore, m.busyAfter];
  lines.push(
    '',
    `machine: ${m.cpus} CPUs, ${busy.map((b) => `${fixed(b === null ? null : b * 100, 0)}%`).join(' / ')} busy with ` +
      'other work just before / after the bench' +
      (busy.some((b) => b !== null && b > BUSY_WARNING) ? ' -- NOT QUIET: timings may be skewed' : '') +
      `; bench took ${fixed(r.wallSeconds, 0)} s`,
    'targets:',
  );
  for (const t of r.targets) lines.push(`  [${t.met ? 'met' : 'NOT MET'}] ${t.target}: ${t.detail}`);
  return lines.join('\n');
}
