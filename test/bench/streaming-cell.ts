/*
 * One cell of the streaming bench (test/bench/streaming.ts): one in-process swarm (agent/swarm)
 * with one strategy for every leecher, range messages on or off, summarised into the figures the
 * bench tabulates. Run as a child process (`node --import tsx test/bench/streaming-cell.ts
 * '<CellSpec as JSON>'`) it prints one JSON line `{"event":"cell",...}` with the summary, or
 * `{"event":"error","message":...}` and exits 1: each cell gets a fresh process, so cells neither
 * share a heap nor a garbage collector, and two can run side by side on two cores.
 */
import { pathToFileURL } from 'node:url';
import type { SwarmInit } from '../../agent/swarm/plan.js';
import type { SwarmResult } from '../../agent/swarm/results.js';
import { runSwarm } from '../../agent/swarm/swarm.js';

/** What every cell of one bench run shares: the swarm, bar the strategy and the range messages. */
export interface StreamingScenario {
  readonly leechers: number;
  readonly sizeBytes: number;
  /** Stream bitrate, bits/s. */
  readonly bitrateBps: number;
  readonly pieceLengthBytes: number;
  /** Leechers arrive uniformly over [0, arrivalWindowMs). */
  readonly arrivalWindowMs: number;
  /** Upload rates as multiples of the stream's byte rate. */
  readonly seedUploadFactor: number;
  readonly leecherUploadFactor: number;
  readonly leecherDownloadFactor: number;
  /** BASS's media server upload, shared by every bass leecher, as a multiple of the byte rate. */
  readonly mediaServerFactor: number;
  /** One-way delay of every peer's link. */
  readonly delayMs: number;
  readonly startupBufferMs: number;
  readonly timeoutMs: number;
}

export interface CellSpec {
  readonly seed: string;
  readonly scenario: StreamingScenario;
  readonly strategy: string;
  readonly rangeMessages: boolean;
}

/** Per leecher, in plan order; null where it never happened (never started playing...). */
export interface CellSummary {
  readonly strategy: string;
  readonly rangeMessages: boolean;
  /** The swarm's own duration, and the whole cell's (content generation, teardown) in the child. */
  readonly durationMs: number;
  readonly wallMs: number;
  /** CPU time of the process that ran the cell (user + system). */
  readonly cpuMs: number;
  readonly timedOut: boolean;
  readonly leechers: number;
  readonly finishedPlaying: number;
  readonly completed: number;
  readonly failed: number;
  readonly startupDelayMs: readonly (number | null)[];
  readonly stallCount: readonly number[];
  readonly stallMs: readonly number[];
  readonly continuityIndex: readonly (number | null)[];
  readonly deadlineMisses: readonly number[];
  readonly deliveredBytes: number;
  readonly bytesBySource: Readonly<Record<string, number>>;
  readonly haveRequestBytes: number;
  readonly haveRequestBytesPerMiB: number;
  /** Messages sent by every peer, by kind: count and bytes (what have+request is made of). */
  readonly messagesOut: Readonly<Record<string, { readonly count: number; readonly bytes: number }>>;
  readonly wastedBytes: number;
  readonly mediaServer?: {
    readonly bytesServed: number;
    readonly requests: number;
    readonly rejected: number;
  };
  /** Leechers' errors, if any (first few). */
  readonly errors: readonly string[];
}

/** The SwarmInit of a cell: every cell of a bench run has the same seed, so the same arrivals and content. */
export function cellInit(spec: CellSpec): SwarmInit {
  const s = spec.scenario;
  const byteRate = s.bitrateBps / 8;
  return {
    seed: spec.seed,
    content: { sizeBytes: s.sizeBytes, bitrateBps: s.bitrateBps, pieceLengthBytes: s.pieceLengthBytes },
    seeder: {
      link: { uploadBytesPerSecond: s.seedUploadFactor * byteRate, delayMs: s.delayMs },
      rangeMessages: spec.rangeMessages,
    },
    leechers: {
      count: s.leechers,
      arrivals: { kind: 'uniform', windowMs: s.arrivalWindowMs },
      strategy: spec.strategy,
      link: {
        uploadBytesPerSecond: s.leecherUploadFactor * byteRate,
        downloadBytesPerSecond: s.leecherDownloadFactor * byteRate,
        delayMs: s.delayMs,
      },
      startupBufferMs: s.startupBufferMs,
      rangeMessages: spec.rangeMessages,
    },
    mediaServer:
      spec.strategy === 'bass' ? { uploadBytesPerSecond: s.mediaServerFactor * byteRate } : undefined,
    timeoutMs: s.timeoutMs,
  };
}

export function summarise(spec: CellSpec, result: SwarmResult, wallMs: number, cpuMs: number): CellSummary {
  const leechers = result.peers.filter((p) => p.role === 'leecher');
  const t = result.totals;
  return {
    strategy: spec.strategy,
    rangeMessages: spec.rangeMessages,
    durationMs: result.durationMs,
    wallMs,
    cpuMs,
    timedOut: result.timedOut,
    leechers: t.leechers,
    finishedPlaying: t.finishedPlaying,
    completed: t.completed,
    failed: t.failed,
    startupDelayMs: leechers.map((l) => l.playback?.startupDelayMs ?? null),
    stallCount: leechers.map((l) => l.playback?.stallCount ?? 0),
    stallMs: leechers.map((l) => l.playback?.stallMs ?? 0),
    continuityIndex: leechers.map((l) => l.playback?.continuityIndex ?? null),
    deadlineMisses: leechers.map((l) => l.playback?.deadlineMisses ?? 0),
    deliveredBytes: t.deliveredBytes,
    bytesBySource: t.bytesBySource,
    haveRequestBytes: t.haveRequestBytes,
    haveRequestBytesPerMiB: t.haveRequestBytesPerMiB,
    messagesOut: messagesOut(result),
    wastedBytes: leechers.reduce((sum, l) => sum + l.wastedBytes, 0),
    mediaServer:
      result.mediaServer === undefined
        ? undefined
        : {
            bytesServed: result.mediaServer.bytesServed,
            requests: result.mediaServer.requests,
            rejected: result.mediaServer.rejected,
          },
    errors: leechers.flatMap((l) => (l.error === undefined ? [] : [`${l.name}: ${l.error}`])).slice(0, 5),
  };
}

function messagesOut(result: SwarmResult): Record<string, { count: number; bytes: number }> {
  const out: Record<string, { count: number; bytes: number }> = {};
  for (const peer of result.peers) {
    for (const [kind, totals] of Object.entries(peer.messages.out)) {
      const sum = (out[kind] ??= { count: 0, bytes: 0 });
      sum.count += totals.count;
      sum.bytes += totals.bytes;
    }
  }
  return out;
}

/** Runs one cell in this process. */
export async function runCell(spec: CellSpec, signal?: AbortSignal): Promise<CellSummary> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await runSwarm(cellInit(spec), signal);
  const used = process.cpuUsage(cpu);
  return summarise(spec, result, performance.now() - started, (used.user + used.system) / 1000);
}

async function main(arg: string | undefined): Promise<number> {
  try {
    if (arg === undefined) throw new TypeError('usage: streaming-cell.ts <CellSpec as JSON>');
    const summary = await runCell(JSON.parse(arg) as CellSpec);
    process.stdout.write(`${JSON.stringify({ event: 'cell', ...summary })}\n`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stdout.write(`${JSON.stringify({ event: 'error', message })}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv[2]);
}
