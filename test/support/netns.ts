import { type ChildProcess, execFile, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SeedstreamError } from '../../agent/peer/errors.js';
import { registerExitCleanup } from '../../agent/third-party/exit-hooks.js';

/*
 * A lab of network namespaces for tests: `nodes` namespaces, each with one veth (eth0) whose
 * peer end sits on a bridge inside a separate "switch" namespace. Addresses come from a private
 * /24 that exists only inside the lab; no namespace has a default route, so nothing in a lab can
 * reach the outside. Links are created directly inside their namespaces, so no interface name
 * ever appears in the root namespace and deleting the namespaces deletes every link.
 */

const execFileAsync = promisify(execFile);

export const DEFAULT_LAB_PREFIX = 'sslab';
export const DEFAULT_LAB_SUBNET = '10.77.0.0/24';
const MAX_NODES = 253;
const IP_TIMEOUT_MS = 15_000;
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
const EXEC_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** How long destroy() waits for killed processes to leave a namespace. */
const KILL_WAIT_MS = 5_000;
const KILL_POLL_MS = 20;
const NODE_INTERFACE = 'eth0';
const BRIDGE = 'br0';
const SUBNET_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/;

/** A lab could not be built or torn down; `command` is the ip invocation that failed. */
export class LabError extends SeedstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NETNS_LAB', message, options);
  }
}

/** A command run with lab.exec() failed. */
export class LabCommandError extends SeedstreamError {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(
    message: string,
    result: { stdout: string; stderr: string; exitCode: number | null },
    cause: unknown,
  ) {
    super('ERR_NETNS_COMMAND', `${message}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`, {
      cause,
    });
    this.stdout = result.stdout;
    this.stderr = result.stderr;
    this.exitCode = result.exitCode;
  }
}

export interface LabInit {
  readonly nodes: number;
  /** Namespace name prefix; names are `<prefix>-<pid>-<lab>-<node>`. Default `sslab`. */
  readonly prefix?: string;
  /** A /24 written `a.b.c.0/24`; node i gets `a.b.c.(i+1)`. Default 10.77.0.0/24. */
  readonly subnet?: string;
}

export interface LabNode {
  readonly index: number;
  readonly namespace: string;
  readonly address: string;
  readonly interface: string;
}

export interface LabExecOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface Lab {
  readonly nodes: readonly LabNode[];
  /** The namespace that holds the bridge. */
  readonly switchNamespace: string;
  /** Prefix length of the lab subnet (always 24). */
  readonly prefixLength: number;
  namespace(node: number): string;
  address(node: number): string;
  /** Runs `argv` inside the node's namespace; rejects with LabCommandError on failure. */
  exec(
    node: number,
    argv: readonly string[],
    opts?: LabExecOptions,
  ): Promise<{ stdout: string; stderr: string }>;
  /** Spawns `argv` inside the node's namespace (own process group); destroy() kills it. */
  spawn(node: number, argv: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Kills every process in the lab's namespaces and deletes them. Idempotent. */
  destroy(): Promise<void>;
}

let labCounter = 0;
let staleCleanupDone = false;

async function ip(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { timeout: IP_TIMEOUT_MS });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
    throw new LabError(`ip ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: err });
  }
}

function parseSubnet(subnet: string): string {
  const m = SUBNET_RE.exec(subnet);
  if (m === null || m.slice(1, 4).some((octet) => Number(octet) > 255)) {
    throw new LabError(`subnet must be written a.b.c.0/24, got ${JSON.stringify(subnet)}`);
  }
  return `${m[1]}.${m[2]}.${m[3]}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function namespacePidsSync(namespace: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  return (r.stdout ?? '')
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
}

function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Synchronous teardown for the process-exit hook. */
function deleteNamespacesSync(namespaces: readonly string[]): void {
  for (const ns of namespaces) killPids(namespacePidsSync(ns));
  for (const ns of namespaces)
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: IP_TIMEOUT_MS });
}

async function namespacePids(namespace: string): Promise<number[]> {
  try {
    const out = await ip(['netns', 'pids', namespace]);
    return out
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return []; // The namespace is gone.
  }
}

async function listNamespaces(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  // Lines look like `name (id: 3)` or just `name`.
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name): name is string => name !== undefined && name !== '');
}

/** Kills what runs in the namespaces, waits (bounded) for it to go, then deletes them. */
async function deleteNamespaces(namespaces: readonly string[]): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (const ns of namespaces) {
    for (;;) {
      const pids = await namespacePids(ns);
      if (pids.length === 0 || Date.now() > deadline) break;
      killPids(pids);
      await delay(KILL_POLL_MS);
    }
  }
  const existing = new Set(await listNamespaces());
  const failures: string[] = [];
  for (const ns of namespaces) {
    if (!existing.has(ns)) continue;
    try {
      await ip(['netns', 'del', ns]);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  if (failures.length > 0) throw new LabError(`cannot delete lab namespaces: ${failures.join('; ')}`);
}

/**
 * Deletes namespaces named `<prefix>-<pid>-...` whose pid is no longer running: leftovers of a
 * test process that was killed before it could clean up. Returns the names deleted.
 */
export async function cleanupStaleLabs(prefix = DEFAULT_LAB_PREFIX): Promise<string[]> {
  const re = new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}-(\\d+)-\\d+-`);
  const stale = (await listNamespaces()).filter((name) => {
    const m = re.exec(name);
    return m !== null && !pidAlive(Number(m[1]));
  });
  await deleteNamespaces(stale);
  return stale;
}

/** Builds a lab; on failure, whatever was created is deleted again. */
export async function createLab(init: LabInit): Promise<Lab> {
  const prefix = init.prefix ?? DEFAULT_LAB_PREFIX;
  const base = parseSubnet(init.subnet ?? DEFAULT_LAB_SUBNET);
  if (!Number.isInteger(init.nodes) || init.nodes < 1 || init.nodes > MAX_NODES) {
    throw new LabError(`a lab has 1..${MAX_NODES} nodes, got ${init.nodes}`);
  }
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(prefix))
    throw new LabError(`lab prefix must be alphanumeric: ${prefix}`);
  if (!staleCleanupDone) {
    staleCleanupDone = true;
    await cleanupStaleLabs(prefix);
  }
  const stem = `${prefix}-${process.pid}-${++labCounter}`;
  const switchNamespace = `${stem}-sw`;
  const nodes: LabNode[] = Array.from({ length: init.nodes }, (_, index) => ({
    index,
    namespace: `${stem}-n${index}`,
    address: `${base}.${index + 1}`,
    interface: NODE_INTERFACE,
  }));
  const created: string[] = [];
  const children = new Set<ChildProcess>();
  const unregister = registerExitCleanup(() => deleteNamespacesSync(created));

  const build = async (): Promise<void> => {
    await ip(['netns', 'add', switchNamespace]);
    created.push(switchNamespace);
    await ip(['-n', switchNamespace, 'link', 'set', 'lo', 'up']);
    // STP stays off (the default), so bridge ports forward as soon as they are up.
    await ip(['-n', switchNamespace, 'link', 'add', BRIDGE, 'type', 'bridge']);
    await ip(['-n', switchNamespace, 'link', 'set', BRIDGE, 'up']);
    for (const node of nodes) {
      const port = `p${node.index}`;
      await ip(['netns', 'add', node.namespace]);
      created.push(node.namespace);
      await ip(['-n', node.namespace, 'link', 'set', 'lo', 'up']);
      await ip([
        '-n',
        node.namespace,
        'link',
        'add',
        NODE_INTERFACE,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        switchNamespace,
      ]);
      await ip(['-n', switchNamespace, 'link', 'set', port, 'master', BRIDGE]);
      await ip(['-n', switchNamespace, 'link', 'set', port, 'up']);
      await ip(['-n', node.namespace, 'addr', 'add', `${node.address}/24`, 'dev', NODE_INTERFACE]);
      await ip(['-n', node.namespace, 'link', 'set', NODE_INTERFACE, 'up']);
    }
  };

  let destroying: Promise<void> | undefined;
  const destroy = (): Promise<void> => {
    destroying ??= (async () => {
      for (const child of children) {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      await deleteNamespaces([...created].reverse());
      unregister();
    })();
    return destroying;
  };

  try {
    await build();
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }

  const nodeAt = (i: number): LabNode => {
    const node = nodes[i];
    if (node === undefined) throw new LabError(`no node ${i} in a lab of ${nodes.length}`);
    return node;
  };

  return {
    nodes,
    switchNamespace,
    prefixLength: 24,
    namespace: (i) => nodeAt(i).namespace,
    address: (i) => nodeAt(i).address,
    async exec(i, argv, opts = {}) {
      const ns = nodeAt(i).namespace;
      if (argv.length === 0) throw new LabError('exec needs a command');
      try {
        const { stdout, stderr } = await execFileAsync('ip', ['netns', 'exec', ns, ...argv], {
          timeout: opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
          signal: opts.signal,
          env: opts.env,
          cwd: opts.cwd,
          maxBuffer: EXEC_MAX_BUFFER_BYTES,
        });
        return { stdout, stderr };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: unknown };
        throw new LabCommandError(
          `${argv.join(' ')} in ${ns} failed`,
          {
            stdout: e.stdout ?? '',
            stderr: e.stderr ?? '',
            exitCode: typeof e.code === 'number' ? e.code : null,
          },
          err,
        );
      }
    },
    spawn(i, argv, opts = {}) {
      const ns = nodeAt(i).namespace;
      if (argv.length === 0) throw new LabError('spawn needs a command');
      if (destroying !== undefined) throw new LabError('spawn after destroy()');
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { ...opts, detached: true });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    destroy,
  };
}
