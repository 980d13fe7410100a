import { EventEmitter } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { MessageStatsSnapshot } from '../../../agent/peer/accounting/message-stats.js';
import { Bitfield } from '../../../agent/peer/bitfield.js';
import { Client, makePeerId } from '../../../agent/peer/client.js';
import type { Logger } from '../../../agent/peer/logger.js';
import { createMetainfo } from '../../../agent/peer/metainfo/index.js';
import type { Metainfo } from '../../../agent/peer/metainfo/types.js';
import { hashSeed, Random } from '../../../agent/peer/random.js';
import { FileStorage, verifyStorage } from '../../../agent/peer/storage/index.js';
import type { RemotePeer } from '../../../agent/peer/torrent/remote-peer.js';
import { type PeerClosedEvent, Torrent } from '../../../agent/peer/torrent/torrent.js';
import { HttpAnnouncer } from '../../../agent/peer/tracker/http-announcer.js';
import { TempDir } from '../../../agent/third-party/temp-dir.js';
import { raceAbort } from '../../../agent/third-party/wait.js';
import type { Lab } from '../../support/netns.js';

/*
 * Shared by the compatibility suites: content made by our own createMetainfo (so the real clients
 * also prove they accept our .torrent files) and our peer on FileStorage, in this process, so its
 * message accounting and protocol-error count can be asserted.
 */

/** Upper bound of one compatibility test; each usually completes in seconds. */
export const COMPAT_TIMEOUT_MS = 60_000;
export const MIB = 1024 * 1024;
export const KIB = 1024;

export interface ContentFile {
  /** Components below the torrent's directory (single-file: just the name). */
  readonly path: readonly string[];
  readonly data: Buffer;
}

export interface ContentInit {
  /** Seeds the content bytes. */
  readonly seed: string;
  /** Relative path (`/`-separated) -> size in bytes. One entry without `directory` = single-file. */
  readonly files: Readonly<Record<string, number>>;
  /** Multi-file torrent named this; omit for a single-file torrent. */
  readonly directory?: string;
  readonly pieceLength: number;
  readonly announce?: string;
}

export interface ContentFixture {
  /** Temp dir holding everything below; removed in t.teardown. */
  readonly root: string;
  /** Holds the content (`seedDir/name` file or directory): a seed's save dir. */
  readonly seedDir: string;
  readonly torrentPath: string;
  readonly meta: Metainfo;
  /** Every file's bytes, in torrent order. */
  readonly files: readonly ContentFile[];
  /** The content's total length. */
  readonly totalBytes: number;
  /** A fresh, empty directory for a downloader. */
  downloadDir(label: string): Promise<string>;
}

/** Seeded random content and a .torrent of it made by createMetainfo, under one temp dir. */
export async function makeContent(t: ExecutionContext, init: ContentInit): Promise<ContentFixture> {
  const tmp = await TempDir.create('compat');
  t.teardown(() => tmp.remove());
  const seedDir = join(tmp.path, 'seed');
  const contentRoot = init.directory === undefined ? seedDir : join(seedDir, init.directory);
  const random = new Random(init.seed);
  for (const [path, size] of Object.entries(init.files)) {
    const file = join(contentRoot, ...path.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, random.fill(new Uint8Array(size)));
  }
  const names = Object.keys(init.files);
  const source = init.directory === undefined ? join(seedDir, names[0]) : contentRoot;
  const { torrent, meta } = await createMetainfo({
    path: source,
    pieceLength: init.pieceLength,
    announce: init.announce,
    creationDate: null,
  });
  const torrentPath = join(tmp.path, 'content.torrent');
  await writeFile(torrentPath, torrent);
  const files = await readContent(meta, seedDir);
  return {
    root: tmp.path,
    seedDir,
    torrentPath,
    meta,
    files,
    totalBytes: meta.length,
    async downloadDir(label: string) {
      const dir = join(tmp.path, `download-${label}`);
      await mkdir(dir);
      return dir;
    },
  };
}

/** Every file of the torrent as found under `dir` (the layout every client uses). */
export async function readContent(meta: Metainfo, dir: string): Promise<ContentFile[]> {
  const out: ContentFile[] = [];
  for (const file of meta.files) {
    const components = meta.multiFile ? [meta.name, ...file.path] : [meta.name];
    out.push({ path: file.path, data: await readFile(join(dir, ...components)) });
  }
  return out;
}

/** Asserts that `dir` holds the fixture's files, byte for byte. */
export async function assertSameContent(
  t: ExecutionContext,
  fx: ContentFixture,
  dir: string,
  who: string,
): Promise<void> {
  const got = await readContent(fx.meta, dir);
  t.is(got.length, fx.files.length);
  for (const [i, want] of fx.files.entries()) {
    const file = got[i];
    t.true(
      file?.data.equals(want.data) === true,
      `${who}: ${want.path.join('/')} differs (${file?.data.length} of ${want.data.length} bytes)`,
    );
  }
}

export interface OurPeer {
  readonly name: string;
  readonly torrent: Torrent;
  readonly client: Client;
  readonly storage: FileStorage;
  readonly host: string;
  readonly port: number;
  /** Every connection the torrent ever had (kept after close, for accounting). */
  readonly connections: RemotePeer[];
  readonly closed: PeerClosedEvent[];
  /** The torrent's log lines (debug and up), for failure messages. */
  readonly log: string[];
}

export interface OurPeerInit {
  readonly name: string;
  readonly fx: ContentFixture;
  /** Directory holding (seed) or receiving (leech) the content. */
  readonly dir: string;
  /** Announce to the torrent's tracker (HttpAnnouncer). Default false. */
  readonly announce?: boolean;
  readonly host?: string;
}

/**
 * Our peer on FileStorage in `dir`: a seed when `dir` holds the content (verified at start), a
 * leech when it is empty. Stopped (torrent, listener, files) in t.teardown.
 */
export async function startOurPeer(t: ExecutionContext, init: OurPeerInit): Promise<OurPeer> {
  const { meta } = init.fx;
  const storage = new FileStorage(meta, { dir: init.dir });
  await storage.open();
  t.teardown(() => storage.close());
  const have = await verifyStorage(storage);
  for (let i = 0; i < meta.pieceCount; i++) if (!have.has(i) && storage.has(i)) await storage.delete(i);
  const client = new Client({ host: init.host ?? '127.0.0.1', port: 0 });
  const { host, port } = await client.start();
  t.teardown(() => client.stop());
  const log: string[] = [];
  const announcers =
    init.announce && meta.announce !== undefined ? [new HttpAnnouncer({ url: meta.announce })] : [];
  const torrent = new Torrent(
    {
      meta,
      peerId: makePeerId(`compat/${init.name}`),
      seed: hashSeed(`compat/${init.name}`),
      have: have.count > 0 ? have : new Bitfield(meta.pieceCount),
      listenPort: port,
    },
    { storage, announcers, logger: recordingLogger(log) },
  );
  const connections: RemotePeer[] = [];
  const closed: PeerClosedEvent[] = [];
  torrent.on('peer', (peer) => connections.push(peer));
  torrent.on('peer-closed', (event) => closed.push(event));
  client.add(torrent);
  torrent.start();
  // Teardowns run last-registered first: the torrent, then the listener, then the files.
  t.teardown(() => torrent.stop());
  return { name: init.name, torrent, client, storage, host, port, connections, closed, log };
}

/** Most log lines kept per peer. */
const MAX_LOG_LINES = 500;

/** A Logger that keeps its lines (JSON) in `lines`, bounded. */
function recordingLogger(lines: string[], bindings: Record<string, unknown> = {}): Logger {
  const record =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      if (lines.length >= MAX_LOG_LINES) return;
      const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, msg };
      lines.push(JSON.stringify({ level, ...bindings, ...fields }));
    };
  return {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

/** Bytes of `piece` messages our peer sent (out) or received (in), headers included. */
export function pieceBytes(peer: OurPeer, direction: 'in' | 'out'): number {
  return peer.torrent.stats.bytesOf(direction, ['piece']);
}

/** What our peer's connections were closed for, and its warnings, for assertion messages. */
export function closeReasons(peer: OurPeer): string {
  const closed = peer.closed.filter((e) => e.error !== undefined).map((e) => `${e.id}: ${e.error?.message}`);
  const log = peer.log.filter((line) => !line.startsWith('{"level":"debug"') || line.includes('failed'));
  return `${JSON.stringify(closed)}\n${log.join('\n')}`;
}

/**
 * Our side never treated the real client as hostile: no protocol error was counted and no
 * connection was closed for a protocol fault.
 */
export function assertNoProtocolErrors(t: ExecutionContext, peer: OurPeer): void {
  t.is(peer.torrent.protocolErrors, 0, `${peer.name} counted protocol errors: ${closeReasons(peer)}`);
  t.is(peer.torrent.hashFailures, 0, `${peer.name} saw hash failures`);
}

/** The connections of `peer` whose remote announced a client name matching `re` (BEP 10 `v`). */
export function connectionsTo(peer: OurPeer, re: RegExp): RemotePeer[] {
  return peer.connections.filter((c) => c.clientName !== undefined && re.test(c.clientName));
}

/** The `seedstream` command (runs TypeScript through tsx, no build step). */
export const CLI_BIN = fileURLToPath(new URL('../../../controller/cli/bin.mjs', import.meta.url));
/** How long a stopping CLI peer gets to send its `stopped` announce and print its summary. */
const CLI_STOP_MS = 10_000;

/** The `stopped` event of `seedstream seed --json`. */
export interface CliSeedStopped {
  readonly uploaded: number;
  readonly protocolErrors: number;
  readonly messages: MessageStatsSnapshot;
}

export interface CliSeed {
  /** The `listening` event. */
  readonly host: string;
  readonly port: number;
  /** SIGTERM, then its `stopped` event (bounded). */
  stop(): Promise<CliSeedStopped>;
  output(): string;
}

/**
 * `seedstream seed` as a separate process inside lab node `node` (Transmission as a leecher
 * ignores loopback peers, so it must meet our seed on a lab address). Killed in t.teardown.
 */
export async function spawnLabSeed(
  t: ExecutionContext,
  lab: Lab,
  node: number,
  init: { readonly torrentPath: string; readonly dir: string; readonly signal: AbortSignal },
): Promise<CliSeed> {
  const argv = [process.execPath, CLI_BIN, 'seed', init.torrentPath, '--dir', init.dir];
  argv.push('--port', '0', '--host', lab.address(node), '--json', '--log-level', 'debug');
  const child = lab.spawn(node, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  let stderr = '';
  const changed = new EventEmitter();
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-8_192);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr += `${line}\n`;
    }
    changed.emit('change');
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => changed.emit('change'));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const output = (): string => `${events.map((e) => JSON.stringify(e)).join('\n')}\n${stderr}`;
  const waitEvent = (name: string, signal: AbortSignal): Promise<Record<string, unknown>> =>
    raceAbort(
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find((e) => e.event === name);
          if (found !== undefined) resolve(found);
          else if (child.exitCode !== null || child.signalCode !== null)
            reject(new Error(`seedstream seed exited before '${name}':\n${output()}`));
          else return;
          changed.off('change', check);
        };
        changed.on('change', check);
        check();
      }),
      { signal, what: `seedstream seed: ${name}`, context: output },
    );
  const listening = await waitEvent('listening', init.signal);
  return {
    host: String(listening.host),
    port: Number(listening.port),
    async stop() {
      child.kill('SIGTERM');
      const stopped = await waitEvent('stopped', AbortSignal.timeout(CLI_STOP_MS));
      await exited;
      return stopped as unknown as CliSeedStopped;
    },
    output,
  };
}
