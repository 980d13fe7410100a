import { rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { SeedstreamError } from '../peer/errors.js';
import type { Metainfo, StreamingInfo } from '../peer/metainfo/index.js';
import { createMetainfo, loadMetainfo, toMagnet } from '../peer/metainfo/index.js';
import {
  formatBitrate,
  formatBytes,
  formatDuration,
  parseBitrate,
  parseBytes,
  parseDuration,
  UnitError,
} from '../peer/units.js';

/** Command-line options that do not fit together (the message says which). */
export class UsageError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/** The output file exists and `--force` was not given. */
export class OutputExistsError extends SeedstreamError {
  readonly path: string;

  constructor(path: string, options?: { cause?: unknown }) {
    super('ERR_OUTPUT_EXISTS', `${path}: already exists (use --force to overwrite)`, options);
    this.path = path;
  }
}

/** Writing the output file failed for another reason than its existence. */
export class OutputWriteError extends SeedstreamError {
  readonly path: string;

  constructor(path: string, options?: { cause?: unknown }) {
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code;
    super('ERR_OUTPUT_WRITE', `${path}: cannot write${code === undefined ? '' : ` (${code})`}`, options);
    this.path = path;
  }
}

/** `torrent create` options, as given on the command line (sizes and rates may carry units). */
export interface TorrentCreateOptions {
  /** The file or directory to make a torrent of. */
  readonly input: string;
  /** Default: `<name>.torrent` in the current directory. */
  readonly out?: string;
  readonly force?: boolean;
  /** Bytes, or a size such as `256KiB`. */
  readonly pieceLength?: string | number;
  /** Each entry is one tier; commas separate trackers within a tier. */
  readonly announce?: readonly string[];
  readonly webSeed?: readonly string[];
  readonly comment?: string;
  readonly name?: string;
  readonly private?: boolean;
  /** Bits per second, or a rate such as `8Mbps`. Needs `duration`. */
  readonly bitrate?: string | number;
  /** Milliseconds, or a duration such as `1m30s`. Needs `bitrate`. */
  readonly duration?: string | number;
  /** False omits the creation date, for byte-identical output across runs. */
  readonly creationDate?: boolean;
}

/** Parses a unit-bearing option, prefixing errors with the option name. */
function unitOption(value: string | number, option: string, parse: (text: string) => number): number {
  if (typeof value === 'number') return value;
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof UnitError) throw new UnitError(`${option}: ${err.message}`);
    throw err;
  }
}

function streamingOption(opts: TorrentCreateOptions): StreamingInfo | undefined {
  if (opts.bitrate === undefined && opts.duration === undefined) return undefined;
  if (opts.bitrate === undefined || opts.duration === undefined) {
    throw new UsageError('--bitrate and --duration go together (the streaming section needs both)');
  }
  return {
    bitrateBps: unitOption(opts.bitrate, '--bitrate', parseBitrate),
    durationMs: unitOption(opts.duration, '--duration', parseDuration),
  };
}

async function writeOutput(path: string, data: Buffer, force: boolean): Promise<void> {
  if (!force) {
    try {
      await writeFile(path, data, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputExistsError(path, { cause: err });
      throw new OutputWriteError(path, { cause: err });
    }
    return;
  }
  // Write-then-rename, so an interrupted overwrite never leaves a truncated torrent behind.
  const temporary = `${path}.${process.pid}.partial`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw new OutputWriteError(path, { cause: err });
  }
}

/** `seedstream torrent create`: hashes the content, writes the .torrent, returns what was written. */
export async function runTorrentCreate(
  opts: TorrentCreateOptions,
  signal?: AbortSignal,
): Promise<{ outPath: string; torrent: Buffer; meta: Metainfo }> {
  const announceList = (opts.announce ?? []).map((tier) =>
    tier
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url !== ''),
  );
  const { torrent, meta } = await createMetainfo(
    {
      path: opts.input,
      name: opts.name,
      pieceLength:
        opts.pieceLength === undefined
          ? undefined
          : unitOption(opts.pieceLength, '--piece-length', parseBytes),
      announceList,
      urlList: opts.webSeed,
      comment: opts.comment,
      private: opts.private,
      streaming: streamingOption(opts),
      creationDate: opts.creationDate === false ? null : undefined,
    },
    signal,
  );
  const outPath = resolve(opts.out ?? `${meta.name}.torrent`);
  await writeOutput(outPath, torrent, opts.force ?? false);
  return { outPath, torrent, meta };
}

/** `seedstream torrent inspect`: loads and validates a .torrent file. */
export async function runTorrentInspect(
  opts: { readonly file: string },
  signal?: AbortSignal,
): Promise<Metainfo> {
  return (await loadMetainfo(opts.file, signal)).meta;
}

/** What `inspect --json` prints: every field except the raw piece hashes and info bytes. */
export function metainfoToJson(meta: Metainfo): Record<string, unknown> {
  return {
    name: meta.name,
    infoHash: meta.infoHashHex,
    pieceLength: meta.pieceLength,
    pieceCount: meta.pieceCount,
    length: meta.length,
    multiFile: meta.multiFile,
    private: meta.private,
    files: meta.files.map((f) => ({ path: f.path, length: f.length, offset: f.offset })),
    announce: meta.announce,
    announceList: meta.announceList,
    urlList: meta.urlList,
    comment: meta.comment,
    createdBy: meta.createdBy,
    creationDate: meta.creationDate,
    streaming: meta.streaming,
    magnet: toMagnet(meta),
  };
}

function bytesWithExact(n: number): string {
  return n < 1024 ? formatBytes(n) : `${formatBytes(n)} (${n} bytes)`;
}

/** The human-readable summary `inspect` prints. */
export function describeMetainfo(meta: Metainfo): string {
  const lines: string[] = [];
  const field = (label: string, value: string): void => {
    lines.push(`${`${label}:`.padEnd(15)}${value}`.trimEnd());
  };
  field('name', meta.name);
  field('infohash', meta.infoHashHex);
  field('piece length', bytesWithExact(meta.pieceLength));
  field('pieces', String(meta.pieceCount));
  field('total size', bytesWithExact(meta.length));
  field('private', meta.private ? 'yes' : 'no');
  field('files', `${meta.files.length}${meta.multiFile ? '' : ' (single-file torrent)'}`);
  for (const f of meta.files) lines.push(`  ${formatBytes(f.length).padStart(11)}  ${f.path.join('/')}`);
  if (meta.announceList.length === 0) field('trackers', 'none');
  else {
    field('trackers', '');
    meta.announceList.forEach((tier, i) => {
      lines.push(`  tier ${i + 1}: ${tier.join(', ')}`);
    });
  }
  if (meta.urlList.length > 0) {
    field('web seeds', '');
    for (const url of meta.urlList) lines.push(`  ${url}`);
  }
  if (meta.comment !== undefined) field('comment', meta.comment);
  if (meta.createdBy !== undefined) field('created by', meta.createdBy);
  if (meta.creationDate !== undefined) field('created', new Date(meta.creationDate * 1000).toISOString());
  if (meta.streaming === undefined) field('streaming', 'none');
  else {
    const s = meta.streaming;
    const kind = s.pieceTimestampsMs === undefined ? 'CBR' : 'VBR, per-piece timestamps';
    field('streaming', `${formatBitrate(s.bitrateBps)}, ${formatDuration(s.durationMs)} (${kind})`);
  }
  field('magnet', toMagnet(meta));
  return `${lines.join('\n')}\n`;
}

export interface TorrentCommandIo {
  /** Where results go (default: process.stdout). */
  readonly stdout?: (text: string) => void;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `seedstream torrent create|inspect`. Failures are thrown as typed SeedstreamErrors whose
 * messages start with the file concerned; the top-level bin prints them and sets the exit code.
 */
export function torrentCommand(io: TorrentCommandIo = {}): Command {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const torrent = new Command('torrent').description('create and inspect .torrent files');

  torrent
    .command('create')
    .description('hash a file or directory into a .torrent (a directory makes a multi-file torrent)')
    .argument('<path>', 'file or directory to share')
    .option('-o, --out <file>', 'where to write the torrent (default: <name>.torrent)')
    .option('-f, --force', 'overwrite the output file if it exists')
    .option('--piece-length <size>', 'piece length, e.g. 256KiB (default: aim at ~1500 pieces)')
    .option('--announce <urls>', 'tracker URL; repeat for more tiers, commas within a tier', collect, [])
    .option('--web-seed <url>', 'BEP 19 web seed URL; repeatable', collect, [])
    .option('--comment <text>', 'free-form comment')
    .option('--name <name>', 'torrent name (default: the base name of <path>)')
    .option('--private', 'set the BEP 27 private flag')
    .option('--bitrate <rate>', 'streaming section: mean bitrate, e.g. 8Mbps (needs --duration)')
    .option('--duration <time>', 'streaming section: playback duration, e.g. 10m or 600000 (ms)')
    .option('--no-creation-date', 'omit the creation date (reproducible output)')
    .action(async (input: string, flags: Omit<TorrentCreateOptions, 'input'>) => {
      const { outPath, meta } = await runTorrentCreate({ ...flags, input });
      out(`${outPath}\n${describeMetainfo(meta)}`);
    });

  torrent
    .command('inspect')
    .description('validate a .torrent and print what it describes')
    .argument('<file>', '.torrent file')
    .option('--json', 'print JSON instead of a summary')
    .action(async (file: string, flags: { json?: boolean }) => {
      const meta = await runTorrentInspect({ file });
      out(flags.json ? `${JSON.stringify(metainfoToJson(meta), null, 2)}\n` : describeMetainfo(meta));
    });

  return torrent;
}
