import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { SeedstreamError } from '../peer/errors.js';
import { strategyNames } from '../peer/picker/index.js';
import { formatBytes, parseBitrate, parseBytes, parseDuration } from '../peer/units.js';
import { type PeerResult, runSwarm, type SwarmInit, type SwarmResult } from '../swarm/index.js';
import { collect, toInt } from './cli-options.js';

interface SwarmOptions {
  leechers: number;
  strategy: string[];
  size: string;
  bitrate: string;
  pieceLength?: string;
  arrivals: string;
  seedUpload: string;
  leecherUpload: string;
  delay: string;
  startupBuffer: string;
  range: boolean;
  timeout: string;
  seed: number;
  out: string;
  json: boolean;
}

/** One strategy's QoE and overhead, summarised over the leechers of one swarm. */
export interface StrategySummary {
  readonly strategy: string;
  readonly rangeMessages: boolean;
  readonly leechers: number;
  readonly finishedPlaying: number;
  readonly startupMedianMs: number | null;
  readonly startupP95Ms: number | null;
  readonly stallsPerPeer: number;
  readonly stallTimeMeanMs: number;
  readonly continuityMean: number | null;
  readonly haveRequestBytesPerMiB: number;
  readonly mediaServerBytes: number;
  readonly timedOut: boolean;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at];
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function summarise(strategy: string, rangeMessages: boolean, result: SwarmResult): StrategySummary {
  const leechers = result.peers.filter((p): p is PeerResult & { role: 'leecher' } => p.role === 'leecher');
  const playback = leechers.map((p) => p.playback).filter((m) => m !== undefined);
  const startups = playback
    .map((m) => m.startupDelayMs)
    .filter((v): v is number => typeof v === 'number')
    .sort((a, b) => a - b);
  const continuity = playback.map((m) => m.continuityIndex).filter((v): v is number => typeof v === 'number');
  return {
    strategy,
    rangeMessages,
    leechers: leechers.length,
    finishedPlaying: result.totals.finishedPlaying,
    startupMedianMs: quantile(startups, 0.5),
    startupP95Ms: quantile(startups, 0.95),
    stallsPerPeer: mean(playback.map((m) => m.stallCount)),
    stallTimeMeanMs: mean(playback.map((m) => m.stallMs)),
    continuityMean: continuity.length > 0 ? mean(continuity) : null,
    haveRequestBytesPerMiB: result.totals.haveRequestBytesPerMiB,
    mediaServerBytes: result.totals.bytesBySource['media-server'],
    timedOut: result.timedOut,
  };
}

function arrivalsFrom(text: string): SwarmInit['leechers']['arrivals'] {
  if (text === 'all-at-once') return { kind: 'all-at-once' };
  const poisson = /^poisson:(.+)$/.exec(text);
  if (poisson) return { kind: 'poisson', ratePerSecond: Number(poisson[1]) };
  return { kind: 'uniform', windowMs: parseDuration(text) };
}

const fmtMs = (v: number | null): string => (v === null ? '-' : `${Math.round(v)} ms`);

function table(rows: readonly StrategySummary[]): string {
  const header = [
    'strategy',
    'range',
    'played',
    'startup p50',
    'startup p95',
    'stalls/peer',
    'stall time',
    'continuity',
    'have+req B/MiB',
  ];
  const body = rows.map((r) => [
    r.strategy,
    r.rangeMessages ? 'on' : 'off',
    `${r.finishedPlaying}/${r.leechers}${r.timedOut ? ' (timeout)' : ''}`,
    fmtMs(r.startupMedianMs),
    fmtMs(r.startupP95Ms),
    r.stallsPerPeer.toFixed(2),
    fmtMs(r.stallTimeMeanMs),
    r.continuityMean === null ? '-' : r.continuityMean.toFixed(3),
    Math.round(r.haveRequestBytesPerMiB).toString(),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * `seedstream swarm`: a real streaming swarm in this process (one seed, N leechers on 127.0.0.1,
 * each with a shaped link and a player), once per strategy on the same seed, side by side.
 */
export function swarmCommand(): Command {
  return new Command('swarm')
    .description(
      'run a streaming swarm on loopback, once per strategy, and compare startup delay, stalls and overhead',
    )
    .option('--leechers <n>', 'number of leechers', toInt, 6)
    .addOption(
      new Option(
        '--strategy <name>',
        'piece-selection strategy (repeatable; default rarest-first and deadline)',
      )
        .choices(strategyNames())
        .argParser(collect)
        .default([]),
    )
    .option('--size <bytes>', 'content size', '4MiB')
    .option('--bitrate <rate>', 'stream bitrate', '4Mbps')
    .option('--piece-length <bytes>', 'piece length (default: chosen from the size)')
    .option(
      '--arrivals <spec>',
      'all-at-once, a window for uniform arrivals (e.g. 5s), or poisson:<per second>',
      '4s',
    )
    .option('--seed-upload <rate>', "the seed's upload rate", '12Mbps')
    .option('--leecher-upload <rate>', "each leecher's upload rate", '6Mbps')
    .option('--delay <duration>', 'one-way delay added on every link', '10ms')
    .option('--startup-buffer <duration>', 'media a player buffers before it starts', '2s')
    .option('--no-range', 'do not use the range messages (ss_range)')
    .option('--timeout <duration>', 'stop a swarm that is still playing after this long', '3m')
    .option('--seed <n>', 'seed of every random choice (content, arrivals, pickers, chokers)', toInt, 42)
    .option('--out <dir>', 'results directory', 'results/swarm')
    .option('--json', 'print the summary as JSON on stdout', false)
    .action(async (opts: SwarmOptions) => {
      const strategies = opts.strategy.length > 0 ? opts.strategy : ['rarest-first', 'deadline'];
      if (opts.leechers < 1) throw new SeedstreamError('ERR_USAGE', '--leechers must be at least 1');
      const bitrateBps = parseBitrate(opts.bitrate);
      const timeoutMs = parseDuration(opts.timeout);
      const runDir = resolve(opts.out, new Date().toISOString().replace(/[:.]/g, '-'));
      await mkdir(runDir, { recursive: true });
      const abort = new AbortController();
      const onSignal = (): void => abort.abort(new SeedstreamError('ERR_INTERRUPTED', 'interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const summaries: StrategySummary[] = [];
      try {
        for (const strategy of strategies) {
          if (!opts.json) process.stderr.write(`running ${strategy} with ${opts.leechers} leechers...\n`);
          const init: SwarmInit = {
            seed: opts.seed,
            content: {
              sizeBytes: parseBytes(opts.size),
              bitrateBps,
              pieceLengthBytes: opts.pieceLength === undefined ? undefined : parseBytes(opts.pieceLength),
            },
            seeder: {
              link: {
                uploadBytesPerSecond: parseBitrate(opts.seedUpload) / 8,
                delayMs: parseDuration(opts.delay),
              },
              rangeMessages: opts.range,
            },
            leechers: {
              count: opts.leechers,
              arrivals: arrivalsFrom(opts.arrivals),
              strategy,
              link: {
                uploadBytesPerSecond: parseBitrate(opts.leecherUpload) / 8,
                delayMs: parseDuration(opts.delay),
              },
              startupBufferMs: parseDuration(opts.startupBuffer),
              rangeMessages: opts.range,
            },
            timeoutMs,
          };
          const result = await runSwarm(init, abort.signal);
          await writeFile(join(runDir, `${strategy}.json`), `${JSON.stringify(result, null, 2)}\n`);
          summaries.push(summarise(strategy, opts.range, result));
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await writeFile(join(runDir, 'summary.json'), `${JSON.stringify(summaries, null, 2)}\n`);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ results: runDir, summaries }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `\n${opts.leechers} leechers, ${formatBytes(parseBytes(opts.size))} at ${opts.bitrate}, seed ${opts.seed}\n\n`,
      );
      process.stdout.write(`${table(summaries)}\n\nper-peer results: ${runDir}\n`);
    });
}
