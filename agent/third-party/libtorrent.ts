import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  ProgramExitedError,
  ProgramNotRunningError,
  ProgramReportedError,
  ProgramStartError,
} from './errors.js';
import { ManagedProcess } from './managed-process.js';
import { boundedSignal, raceAbort } from './wait.js';

const PROGRAM = 'libtorrent';
/** Debian's python3-libtorrent is installed for the system interpreter only. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const LIBTORRENT_DRIVER_PATH = fileURLToPath(new URL('./libtorrent-peer.py', import.meta.url));
const START_TIMEOUT_MS = 15_000;
/** After `quit`, how long the driver gets to send its stopped announces and exit. */
const QUIT_GRACE_MS = 4_000;

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * `fast`: high_performance_seed() settings, TCP only (no uTP), 100 ms ticks — repeatable
 * throughput on loopback and in labs. `default`: libtorrent's defaults (still no DHT/LSD/UPnP/NAT-PMP).
 */
export type LibtorrentProfile = 'fast' | 'default';

export interface LibtorrentPeerInit {
  readonly torrentPath: string;
  /** Directory holding (seed) or receiving (download) the torrent's content. */
  readonly saveDir: string;
  /** `seed` additionally fails when the content in `saveDir` does not pass the hash check. */
  readonly mode: 'seed' | 'download';
  /** The only address libtorrent listens on; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: libtorrent picks a port and reports it (see `port`). */
  readonly port?: number;
  readonly netns?: string;
  /** Peers to connect to directly (`torrent_handle.connect_peer`). */
  readonly peers?: readonly PeerAddress[];
  /** Replaces the torrent's trackers; `[]` disables trackers. Default: the torrent's own. */
  readonly trackers?: readonly string[];
  readonly profile?: LibtorrentProfile;
  readonly progressIntervalMs?: number;
  readonly uploadLimitBytesPerSecond?: number;
  readonly downloadLimitBytesPerSecond?: number;
  readonly sequential?: boolean;
  /** Session/torrent/peer logs of libtorrent to stderr (kept in the output ring). */
  readonly debugLog?: boolean;
  /** Interpreter with the libtorrent module; default /usr/bin/python3. */
  readonly python?: string;
}

/** One `progress` line of the driver (see libtorrent-peer.py). */
export interface LibtorrentProgress {
  /** 0..1 of the wanted bytes. */
  readonly progress: number;
  /** Verified bytes we have. */
  readonly downloaded: number;
  readonly wanted: number;
  readonly uploaded: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly peers: number;
  readonly seeds: number;
  readonly pieces: number;
  /** libtorrent's torrent state, e.g. `checking_files`, `downloading`, `seeding`. */
  readonly state: string;
  readonly error: string | null;
}

/** The driver's `timing` line, sent just before `finished` (see libtorrent-peer.py). */
export interface LibtorrentTiming {
  /** A download's first payload block to all pieces verified; null for a seed. */
  readonly transferMs: number | null;
  /** Session creation to finished (content flushed to disk). */
  readonly elapsedMs: number;
  /** CPU time of the whole driver process (all libtorrent threads) at finished. */
  readonly cpuMs: number;
  /** CPU time from listening to finished. */
  readonly cpuSinceListeningMs: number | null;
}

/** One connected peer as libtorrent sees it (`torrent_handle.get_peer_info()`). */
export interface LibtorrentPeerInfo {
  readonly ip: string;
  readonly port: number;
  readonly client: string;
  /** The pieces libtorrent believes the peer has: '0' or '1' per piece. */
  readonly pieces: string;
}

/** Answer to `peers()`. */
export interface LibtorrentPeersReport {
  readonly peers: readonly LibtorrentPeerInfo[];
  /** `torrent_handle.piece_availability()`: connected peers holding each piece (empty for a seed). */
  readonly availability: readonly number[];
}

export interface LibtorrentTrackerEvent {
  readonly kind: 'reply' | 'error' | 'warning';
  readonly url: string;
  /** Peers in a reply. */
  readonly peers?: number;
  readonly message?: string;
}

export interface LibtorrentPeerEvent {
  readonly kind: 'connected' | 'disconnected';
  readonly endpoint: string;
  readonly reason?: string;
}

interface LibtorrentEvents {
  progress: [LibtorrentProgress];
  tracker: [LibtorrentTrackerEvent];
  peer: [LibtorrentPeerEvent];
  timing: [LibtorrentTiming];
  finished: [];
}

type DriverLine =
  | ({ event: 'progress' } & LibtorrentProgress)
  | ({ event: 'tracker' } & LibtorrentTrackerEvent)
  | ({ event: 'peer' } & LibtorrentPeerEvent)
  | ({ event: 'timing' } & LibtorrentTiming)
  | { event: 'listening'; host: string; port: number }
  | ({ event: 'peers'; id: number } & LibtorrentPeersReport)
  | { event: 'finished' }
  | { event: 'error'; message: string; fatal?: boolean }
  | { event: 'exiting' };

/**
 * A libtorrent session with one torrent, run by libtorrent-peer.py under the system Python.
 * Events: `progress`, `tracker`, `peer`, `timing`, `finished`. A fatal report of the driver (hash-check
 * failure of a seed, file error, listen failure) or its exit rejects every pending wait.
 */
export class LibtorrentPeer extends EventEmitter<LibtorrentEvents> {
  readonly #init: LibtorrentPeerInit;
  #process: ManagedProcess | undefined;
  #listening: PeerAddress | undefined;
  #finished = false;
  #lastProgress: LibtorrentProgress | undefined;
  #timing: LibtorrentTiming | undefined;
  readonly #peerReports = new Map<number, LibtorrentPeersReport>();
  #nextReportId = 0;
  #failure: Error | undefined;
  #onStateChange = new EventEmitter();
  #stopping: Promise<void> | undefined;

  constructor(init: LibtorrentPeerInit) {
    super();
    this.#init = init;
    // One listener per pending wait; any number of waits may be pending.
    this.#onStateChange.setMaxListeners(0);
  }

  /** The address libtorrent listens on (after start()). */
  get address(): PeerAddress {
    if (this.#listening === undefined) throw new ProgramNotRunningError(PROGRAM, 'address');
    return this.#listening;
  }

  get port(): number {
    return this.address.port;
  }

  get finished(): boolean {
    return this.#finished;
  }

  get lastProgress(): LibtorrentProgress | undefined {
    return this.#lastProgress;
  }

  /** Set once the torrent finished (before waitFinished() resolves). */
  get timing(): LibtorrentTiming | undefined {
    return this.#timing;
  }

  output(): string {
    return this.#process?.output() ?? '';
  }

  /** Spawns the driver; resolves once libtorrent listens (the torrent may still be checking). */
  async start(signal?: AbortSignal): Promise<PeerAddress> {
    if (this.#process !== undefined) throw new ProgramStartError(PROGRAM, 'start() called twice');
    const init = this.#init;
    const config = {
      torrent: init.torrentPath,
      saveDir: init.saveDir,
      mode: init.mode,
      host: init.host ?? '127.0.0.1',
      port: init.port ?? 0,
      peers: init.peers ?? [],
      trackers: init.trackers ?? null,
      profile: init.profile ?? 'fast',
      progressIntervalMs: init.progressIntervalMs ?? 250,
      uploadLimit: init.uploadLimitBytesPerSecond ?? 0,
      downloadLimit: init.downloadLimitBytesPerSecond ?? 0,
      sequential: init.sequential ?? false,
      debugLog: init.debugLog ?? false,
    };
    this.#process = new ManagedProcess({
      program: PROGRAM,
      argv: [init.python ?? SYSTEM_PYTHON, LIBTORRENT_DRIVER_PATH, '--config', JSON.stringify(config)],
      netns: init.netns,
      stdin: true,
      onStdoutLine: (line) => this.#onLine(line),
    });
    const process = this.#process;
    void process.exited.then((status) => {
      this.#fail(
        this.#stopping === undefined
          ? new ProgramExitedError(PROGRAM, status.code, status.signal, process.output())
          : new ProgramNotRunningError(PROGRAM, 'waiting (stop() was called)'),
      );
      this.#onStateChange.emit('change');
    });
    try {
      await process.start();
      return await this.#waitFor(() => this.#listening, 'listening', boundedSignal(signal, START_TIMEOUT_MS));
    } catch (err) {
      await this.stop();
      if (err instanceof ProgramExitedError || err instanceof ProgramReportedError) {
        throw new ProgramStartError(PROGRAM, `did not start listening: ${err.message}`, undefined, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * Resolves once the torrent is complete and flushed to disk (a seed: once its content passed
   * the hash check). Rejects when the driver reports a fatal error or exits.
   */
  async waitFinished(signal?: AbortSignal): Promise<LibtorrentProgress | undefined> {
    await this.#waitFor(() => (this.#finished ? true : undefined), 'torrent finished', signal);
    return this.#lastProgress;
  }

  /** Waits for the first progress report satisfying `predicate`. */
  async waitProgress(
    predicate: (p: LibtorrentProgress) => boolean,
    what: string,
    signal?: AbortSignal,
  ): Promise<LibtorrentProgress> {
    return this.#waitFor(
      () => {
        const p = this.#lastProgress;
        return p !== undefined && predicate(p) ? p : undefined;
      },
      what,
      signal,
    );
  }

  /** Asks libtorrent to connect to a peer (`torrent_handle.connect_peer`). */
  connect(host: string, port: number): void {
    this.#send({ cmd: 'connect', host, port });
  }

  /** libtorrent's view of its connected peers (their pieces) and the torrent's piece availability. */
  async peers(signal?: AbortSignal): Promise<LibtorrentPeersReport> {
    const id = this.#nextReportId++;
    this.#send({ cmd: 'peers', id });
    try {
      return await this.#waitFor(() => this.#peerReports.get(id), 'peers report', signal);
    } finally {
      this.#peerReports.delete(id);
    }
  }

  /** Forces an announce to every tracker now. */
  reannounce(): void {
    this.#send({ cmd: 'reannounce' });
  }

  /** Asks the driver to quit (stopped announces included), then kills what is left. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const process = this.#process;
    if (process === undefined) return;
    if (process.running) {
      process.writeLine(JSON.stringify({ cmd: 'quit' }));
      process.closeStdin();
      await raceAbort(process.exited, { signal: AbortSignal.timeout(QUIT_GRACE_MS), what: 'quit' }).catch(
        () => {},
      );
    }
    await process.stop();
  }

  #send(command: object): void {
    const process = this.#process;
    if (process === undefined || !process.running) throw new ProgramNotRunningError(PROGRAM, 'a command');
    process.writeLine(JSON.stringify(command));
  }

  #onLine(line: string): void {
    if (line.trim() === '') return;
    let msg: DriverLine;
    try {
      msg = JSON.parse(line) as DriverLine;
    } catch {
      return; // Not a protocol line (a stray print); it stays in the output ring.
    }
    switch (msg.event) {
      case 'listening':
        this.#listening = { host: msg.host, port: msg.port };
        break;
      case 'progress': {
        const { event: _, ...progress } = msg;
        this.#lastProgress = progress;
        this.emit('progress', progress);
        break;
      }
      case 'tracker': {
        const { event: _, ...tracker } = msg;
        this.emit('tracker', tracker);
        break;
      }
      case 'peer': {
        const { event: _, ...peer } = msg;
        this.emit('peer', peer);
        break;
      }
      case 'timing': {
        const { event: _, ...timing } = msg;
        this.#timing = timing;
        this.emit('timing', timing);
        break;
      }
      case 'peers':
        this.#peerReports.set(msg.id, { peers: msg.peers, availability: msg.availability });
        break;
      case 'finished':
        this.#finished = true;
        this.emit('finished');
        break;
      case 'error':
        if (msg.fatal) this.#fail(new ProgramReportedError(PROGRAM, msg.message, this.output()));
        break;
      case 'exiting':
        break;
    }
    this.#onStateChange.emit('change');
  }

  #fail(err: Error): void {
    this.#failure ??= err;
  }

  /** Resolves with `probe()`'s first defined value, re-checked after every driver line. */
  #waitFor<T>(probe: () => T | undefined, what: string, signal: AbortSignal | undefined): Promise<T> {
    const result = new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value !== undefined) {
          resolve(value);
          return true;
        }
        if (this.#failure !== undefined) {
          reject(this.#failure);
          return true;
        }
        return false;
      };
      if (check()) return;
      const onChange = (): void => {
        if (check()) this.#onStateChange.off('change', onChange);
      };
      this.#onStateChange.on('change', onChange);
      signal?.addEventListener('abort', () => this.#onStateChange.off('change', onChange), { once: true });
    });
    return raceAbort(result, { signal, what: `${PROGRAM}: ${what}`, context: () => this.output() });
  }
}
