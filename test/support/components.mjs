// Third-party components the test suites depend on: which Debian packages provide them and how
// to tell whether they work here. Plain JavaScript because `npm test` runs it with plain node
// before any TypeScript loader exists; tests read it through components.ts.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Environment variable through which the runner hands detection results to test processes. */
export const COMPONENTS_ENV = 'SEEDSTREAM_COMPONENTS';

/** Debian's libtorrent bindings exist for the system interpreter only (not a pyenv python). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const PROBE_TIMEOUT_MS = 15_000;

/**
 * @param {string} command
 * @param {string[]} args
 * @returns {{ available: true } | { available: false, reason: string }}
 */
function runs(command, args) {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) return { available: false, reason: `${command}: ${r.error.message}` };
  if (r.status !== 0) {
    const last = `${r.stderr}${r.stdout}`.trim().split('\n').pop() ?? '';
    return { available: false, reason: `${[command, ...args].join(' ')} exited with ${r.status}: ${last}` };
  }
  return { available: true };
}

/** @param {string} name */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return { available: true };
    } catch {
      // Not in this directory.
    }
  }
  return { available: false, reason: `${name} is not on PATH` };
}

/** @param {Array<() => { available: boolean, reason?: string }>} checks */
function all(checks) {
  for (const check of checks) {
    const r = check();
    if (!r.available) return r;
  }
  return { available: true };
}

function detectNetns() {
  if (process.platform !== 'linux') return { available: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { available: false, reason: 'network namespaces need root' };
  const name = `ssprobe-${process.pid}`;
  try {
    return all([
      () => runs('ip', ['netns', 'add', name]),
      () => runs('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']),
      () => runs('ip', ['-n', name, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']),
      () => runs('ip', ['-n', name, 'link', 'add', 'probebr', 'type', 'bridge']),
    ]);
  } finally {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: PROBE_TIMEOUT_MS });
  }
}

/**
 * One entry per component. `packages` are Debian packages installed by the runner when missing
 * (root on Debian only); later suites add their components (InfluxDB, sshd, docker...) here.
 * @type {ReadonlyArray<{ name: string, packages: string[], description: string, detect: () => { available: boolean, reason?: string } }>}
 */
export const COMPONENTS = [
  {
    name: 'libtorrent',
    packages: ['python3-libtorrent'],
    description: "libtorrent's Python bindings for /usr/bin/python3",
    detect: () => runs(SYSTEM_PYTHON, ['-c', 'import libtorrent']),
  },
  {
    name: 'transmission',
    packages: ['transmission-cli', 'transmission-daemon'],
    description: 'transmission-daemon and transmission-remote',
    detect: () =>
      all([
        () => runs('transmission-daemon', ['--version']),
        () => runs('transmission-remote', ['--version']),
      ]),
  },
  {
    name: 'aria2',
    packages: ['aria2'],
    description: 'aria2c',
    detect: () => runs('aria2c', ['--version']),
  },
  {
    name: 'opentracker',
    packages: ['opentracker'],
    description: 'opentracker (Debian build, whitelist mode)',
    detect: () => onPath('opentracker'),
  },
  {
    name: 'netns',
    packages: ['iproute2'],
    description: 'network namespaces with veth and bridge links (root + ip)',
    detect: () => all([() => onPath('ip'), detectNetns]),
  },
];

/** Every Debian package any component needs, each once. */
export const APT_PACKAGES = [...new Set(COMPONENTS.flatMap((c) => c.packages))];

/** Comma-separated component names to treat as missing (to skip slow suites locally). */
export const DISABLE_ENV = 'SEEDSTREAM_DISABLE_COMPONENTS';

/** @param {string} name */
export function detectComponent(name) {
  const component = COMPONENTS.find((c) => c.name === name);
  if (component === undefined)
    return { available: false, reason: `unknown component ${JSON.stringify(name)}` };
  const disabled = (process.env[DISABLE_ENV] ?? '').split(',').map((s) => s.trim());
  if (disabled.includes(name)) return { available: false, reason: `disabled by ${DISABLE_ENV}` };
  return component.detect();
}

/** @returns {Record<string, { available: boolean, reason?: string }>} */
export function detectComponents() {
  return Object.fromEntries(COMPONENTS.map((c) => [c.name, detectComponent(c.name)]));
}
