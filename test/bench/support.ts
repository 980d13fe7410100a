/*
 * Shared helpers of the benchmarks: child processes that speak JSON lines, a cleanup stack that
 * also runs on failure and Ctrl-C, medians and rates, and a plain-text table.
 *
 * Children run through ManagedProcess (own process group, killed by an exit hook should the
 * bench die first) and temp dirs through TempDir (removed by an exit hook likewise), so nothing
 * is left behind on Ctrl-C either.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SeedstreamError } from '../../agent/peer/errors.js';
import { ManagedProcess } from '../../agent/third-party/managed-process.js';
import { TempDir } from '../../agent/third-party/temp-dir.js';
import { raceAbort } from '../../agent/third-party/wait.js';

export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const MIB = 1024 * 1024;

/** A failure of the bench itself (a peer that did not start or finish, a bad result). */
export class BenchError extends SeedstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BENCH', message, options);
  }
}

/** One JSON line of a child, stamped with when it arrived (performance.now()). */
export interface JsonEvent {
  readonly event: string;
  readonly receivedAt: number;
  readonly fields: Record<string, unknown>;
}

export interface JsonLineProcessInit {
  /** Used in errors. */
  readonly name: string;
  /** argv[0] is the executable. */
  readonly argv: readonly string[];
  readonly cwd?: string;
}

/** A child printing one JSON object with an `event` field per stdout line (non-JSON lines are kept only in the output tail). */
export class JsonLineProcess {
  readonly name: string;
  readonly events: JsonEvent[] = [];
  readonly #process: ManagedProcess;
  #spawnedAt = 0;
  #waiters = new Set<() => void>();

  constructor(init: JsonLineProcessInit) {
    this.name = init.name;
    this.#process = new ManagedProcess({
      program: init.name,
      argv: init.argv,
      cwd: init.cwd ?? REPO_DIR,
      onStdoutLine: (line) => this.#onLine(line),
    });
    void this.#process.exited.then(() => this.#wake());
  }

  /** performance.now() just before the spawn. */
  get spawnedAt(): number {
    return this.#spawnedAt;
  }

  get exited(): Promise<unknown> {
    return this.#process.exited;
  }

  async start(): Promise<void> {
    this.#spawnedAt = performance.now();
    await this.#process.start();
  }

  /** The first event named `event`; rejects when the child exits first or `signal` fires. */
  waitEvent(event: string, signal: AbortSignal): Promise<JsonEvent> {
    const found = new Promise<JsonEvent>((resolve, reject) => {
      const check = (): void => {
        const hit = this.events.find((e) => e.event === event);
        if (hit !== undefined) {
          this.#waiters.delete(check);
          resolve(hit);
        } else if (this.#process.exitStatus !== undefined) {
          this.#waiters.delete(check);
          const { code, signal: sig } = this.#process.exitStatus;
          const failure = this.events.find((e) => e.event === 'error');
          const why = failure === undefined ? '' : `: ${JSON.stringify(failure.fields)}`;
          reject(
            new BenchError(
              `${this.name} exited (code ${code}, signal ${sig}) before "${event}"${why}\n${this.output()}`,
            ),
          );
        }
      };
      this.#waiters.add(check);
      check();
      signal.addEventListener('abort', () => this.#waiters.delete(check), { once: true });
    });
    return raceAbort(found, { signal, what: `${this.name}: "${event}"`, context: () => this.output() });
  }

  /** Waits for a normal exit; a non-zero exit is a BenchError. */
  async waitExit(signal: AbortSignal): Promise<void> {
    const status = await raceAbort(this.#process.exited, {
      signal,
      what: `${this.name} to exit`,
      context: () => this.output(),
    });
    if (status.code !== 0) {
      throw new BenchError(
        `${this.name} exited with code ${status.code} (${status.signal})\n${this.output()}`,
      );
    }
  }

  output(): string {
    return this.#process.output().trim().split('\n').slice(-20).join('\n');
  }

  /** SIGTERM, then SIGKILL; idempotent. */
  async stop(): Promise<void> {
    await this.#process.stop();
  }

  #onLine(line: string): void {
    if (!line.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const fields = parsed as Record<string, unknown>;
    if (typeof fields.event !== 'string') return;
    this.events.push({ event: fields.event, receivedAt: performance.now(), fields });
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Cleanups run last-in first-out by close(), which a bench calls in `finally`. */
export class Resources {
  readonly #cleanups: (() => Promise<unknown>)[] = [];

  defer(cleanup: () => Promise<unknown>): void {
    this.#cleanups.push(cleanup);
  }

  /** A temp dir removed on close() (and at exit, should close() never run). */
  async tempDir(label: string): Promise<TempDir> {
    const dir = await TempDir.create(label);
    this.defer(() => dir.remove());
    return dir;
  }

  /** Starts `child`, stopping it on close(). */
  async spawn(child: { start(): Promise<unknown>; stop(): Promise<unknown> }): Promise<void> {
    this.defer(() => child.stop());
    await child.start();
  }

  /** Runs every cleanup even when some fail; rethrows the first failure. */
  async close(): Promise<void> {
    let failure: unknown;
    while (this.#cleanups.length > 0) {
      const cleanup = this.#cleanups.pop()!;
      try {
        await cleanup();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function mibPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / MIB / (ms / 1000) : Number.NaN;
}

/** `value` with `digits` decimals, or `-` when it is not a finite number. */
export function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

/** A plain-text table; numeric-looking cells are right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const numeric = /^[-+]?[\d.,]+(\s*[a-zA-Z/%]*)?$|^-$/;
  const line = (r: readonly string[]): string =>
    r
      .map((cell, c) => (c > 0 && numeric.test(cell) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Progress notes go to stderr so that stdout holds only the report (or the JSON document). */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function cpuTicks(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'latin1')).split('\n', 1)[0];
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are the idle ones.
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - ticks[3] - ticks[4], total };
  } catch {
    return undefined; // Not Linux: the figure is simply not reported.
  }
}

/**
 * The fraction (0..1) of all CPUs busy over the next `ms`, from /proc/stat: taken while the
 * bench itself is idle, it tells how much other work skews the figures. Undefined off Linux.
 */
export async function machineBusy(ms: number): Promise<number | undefined> {
  const before = await cpuTicks();
  await delay(ms);
  const after = await cpuTicks();
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  return (after.busy - before.busy) / (after.total - before.total);
}
