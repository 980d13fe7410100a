import { type ChildProcess, spawn } from 'node:child_process';
import { ProgramStartError } from './errors.js';
import { registerExitCleanup } from './exit-hooks.js';
import { OutputRing } from './output-ring.js';

/** How long stop() waits after SIGTERM before it sends SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 3_000;
/** After 'exit', how long to wait for the stdio pipes to drain before reporting the exit. */
const STDIO_DRAIN_MS = 500;
const KILL_WAIT_MS = 5_000;

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcessInit {
  /** Name used in errors, e.g. `transmission-daemon`. */
  readonly program: string;
  /** argv[0] is the executable. Never a shell string. */
  readonly argv: readonly string[];
  /** Run inside this network namespace (through `ip netns exec`). */
  readonly netns?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Bound of captured stdout+stderr kept for error messages. */
  readonly outputLimitBytes?: number;
  /** Receives every complete stdout line (the line is also kept in the output ring). */
  readonly onStdoutLine?: (line: string) => void;
  /** Keep stdin open as a pipe, for programs driven by commands on stdin. */
  readonly stdin?: boolean;
}

/** `argv` prefixed so that it runs inside `netns`; `ip netns exec` execs, so the pid stays the program's. */
export function netnsArgv(argv: readonly string[], netns: string | undefined): string[] {
  return netns === undefined ? [...argv] : ['ip', 'netns', 'exec', netns, ...argv];
}

/**
 * One child process in its own process group, so that stop() can kill everything it forked;
 * stdout/stderr go to a bounded ring; an exit hook kills the group should Node exit first.
 */
export class ManagedProcess {
  readonly program: string;
  readonly exited: Promise<ExitStatus>;
  readonly #init: ManagedProcessInit;
  readonly #ring: OutputRing;
  #child: ChildProcess | undefined;
  #exitStatus: ExitStatus | undefined;
  #resolveExited!: (status: ExitStatus) => void;
  #unregisterExitCleanup: (() => void) | undefined;
  #partialLine = '';
  #stopping: Promise<ExitStatus | undefined> | undefined;

  constructor(init: ManagedProcessInit) {
    if (init.argv.length === 0) throw new ProgramStartError(init.program, 'empty argv');
    this.program = init.program;
    this.#init = init;
    this.#ring = new OutputRing(init.outputLimitBytes);
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True between a successful start() and the process's exit. */
  get running(): boolean {
    return this.#child !== undefined && this.#exitStatus === undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.#exitStatus;
  }

  /** The retained tail of stdout and stderr, interleaved in arrival order. */
  output(): string {
    return this.#ring.text();
  }

  /** Resolves once the process exists; rejects with ProgramStartError when it cannot be spawned. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new ProgramStartError(this.program, 'start() called twice');
    const [command, ...args] = netnsArgv(this.#init.argv, this.#init.netns);
    const child = spawn(command, args, {
      cwd: this.#init.cwd,
      env: this.#init.env ?? process.env,
      stdio: [this.#init.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#ring.push(chunk));
    // A write to a program that has just exited must not crash the test process.
    child.stdin?.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        this.#finish({ code: null, signal: null });
        reject(
          new ProgramStartError(this.program, `cannot spawn ${command}: ${err.message}`, undefined, {
            cause: err,
          }),
        );
      });
    });
    const pid = child.pid;
    this.#unregisterExitCleanup = registerExitCleanup(() => killGroup(pid, 'SIGKILL'));
    child.once('exit', (code, signal) => {
      const status = { code, signal };
      const timer = setTimeout(() => this.#finish(status), STDIO_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(timer);
        this.#finish(status);
      });
    });
  }

  /** Writes one line to the program's stdin; false when stdin is not open. */
  writeLine(line: string): boolean {
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable || !this.running) return false;
    stdin.write(`${line}\n`);
    return true;
  }

  /** Closes stdin (EOF), the polite way to ask stdin-driven programs to quit. */
  closeStdin(): void {
    this.#child?.stdin?.end();
  }

  /**
   * SIGTERM to the process group, SIGKILL after `graceMs`; also kills stragglers of the group
   * once the leader has gone. Idempotent; resolves with the exit status (undefined if never started).
   */
  stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitStatus | undefined> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<ExitStatus | undefined> {
    const child = this.#child;
    if (child === undefined) return undefined;
    if (this.#exitStatus === undefined) {
      killGroup(child.pid, 'SIGTERM');
      if (!(await settlesWithin(this.exited, graceMs))) {
        killGroup(child.pid, 'SIGKILL');
        await settlesWithin(this.exited, KILL_WAIT_MS);
      }
    }
    killGroup(child.pid, 'SIGKILL');
    this.#unregisterExitCleanup?.();
    return this.#exitStatus;
  }

  #onStdout(chunk: Buffer): void {
    this.#ring.push(chunk);
    const onLine = this.#init.onStdoutLine;
    if (onLine === undefined) return;
    const lines = (this.#partialLine + chunk.toString('utf8')).split('\n');
    this.#partialLine = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  }

  #finish(status: ExitStatus): void {
    if (this.#exitStatus !== undefined) return;
    this.#exitStatus = status;
    if (this.#partialLine !== '') {
      this.#init.onStdoutLine?.(this.#partialLine);
      this.#partialLine = '';
    }
    this.#resolveExited(status);
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
