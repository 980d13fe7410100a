// `npm test`: provision third-party programs (root on Debian), detect which components work,
// then run biome, tsc and ava. Extra arguments go to ava: `npm test -- test/foo.test.ts`.
// Environment: CI=true turns a missing component into a failure; SEEDSTREAM_NO_PROVISION=1
// skips the apt step; SEEDSTREAM_DISABLE_COMPONENTS=transmission,aria2 treats those as missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APT_PACKAGES, COMPONENTS, COMPONENTS_ENV, detectComponents } from './components.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const TEST_DIR = join(ROOT, 'test');
/** Enough of ava's output to find its summary at the end. */
const AVA_TAIL_BYTES = 64 * 1024;
const ci = process.env.CI === 'true';

/** @param {string} message */
function say(message) {
  process.stdout.write(`[run-tests] ${message}\n`);
}

/** @param {string} pkg */
function installed(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax.
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

function provision() {
  if (process.env.SEEDSTREAM_NO_PROVISION === '1') return;
  if (!existsSync('/etc/debian_version') || spawnSync('dpkg-query', ['--version']).status !== 0) return;
  const missing = APT_PACKAGES.filter((pkg) => !installed(pkg));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    say(`not root, so not installing missing packages: ${missing.join(' ')}`);
    return;
  }
  say(`installing missing packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  const install =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
          stdio: 'inherit',
          env,
        })
      : update;
  if (install.status !== 0) say('apt-get failed; the detection below reports what is missing');
}

/** @param {string} dir @returns {string[]} */
function testFiles(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
}

/** Test files that gate tests on `name` through testIf()/component()/missingReason(). */
function suitesUsing(name, files) {
  const call = /\b(?:testIf|component|missingReason)\s*\(([^)]*)\)/g;
  return files.filter((file) => {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(call)) {
      if (new RegExp(`['"]${name}['"]`).test(m[1])) return true;
    }
    return false;
  });
}

function detect() {
  const status = detectComponents();
  process.env[COMPONENTS_ENV] = JSON.stringify(status);
  const files = testFiles(TEST_DIR);
  const missing = COMPONENTS.filter((c) => !status[c.name].available);
  for (const c of missing) {
    const suites = suitesUsing(c.name, files).map((f) => relative(ROOT, f));
    const what = suites.length > 0 ? `skipping ${suites.join(', ')}` : 'no suite uses it yet';
    say(`missing ${c.name} (${c.description}): ${status[c.name].reason} -> ${what}`);
  }
  return missing;
}

/** Runs a step with inherited stdio; resolves with its exit code. */
function run(label, command, args) {
  say(`${label}: ${[relative(ROOT, command), ...args].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('error', (err) => {
      say(`${label}: cannot run: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Per-test result lines of ava's default reporter, counted as they stream by. */
function lineCounter() {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  let partial = '';
  return {
    counts,
    /** @param {Buffer} chunk */
    push(chunk) {
      const lines = (partial + stripAnsi(chunk.toString('utf8'))).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.trim();
        if (line.startsWith('\u2714')) counts.passed++;
        else if (line.startsWith('\u2718 [')) counts.failed++;
        else if (line.startsWith('- [skip]') || line.startsWith('- [todo]')) counts.skipped++;
      }
    },
  };
}

/** @param {string} text */
function stripAnsi(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes.
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Runs ava, streaming its output live and counting results. */
function runAva(args) {
  say(`ava: ${['ava', ...args].join(' ')}`);
  return new Promise((resolve) => {
    const env = { ...process.env };
    if (process.stdout.isTTY && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1';
    const child = spawn(join(BIN, 'ava'), args, { cwd: ROOT, stdio: ['inherit', 'pipe', 'pipe'], env });
    const counter = lineCounter();
    let tail = '';
    const keep = (chunk) => {
      tail = (tail + chunk.toString('utf8')).slice(-AVA_TAIL_BYTES);
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      keep(chunk);
      counter.push(chunk);
    });
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk);
      keep(chunk);
    });
    child.on('error', (err) => {
      say(`ava: cannot run: ${err.message}`);
      resolve({ code: 1, tail, counts: counter.counts });
    });
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), tail, counts: counter.counts }),
    );
  });
}

/**
 * `N passed, N failed, N skipped`: ava's closing counts where it prints them (it omits the
 * passed count when anything failed), else the per-test lines counted on the way.
 */
function summarize(output, counts) {
  const text = stripAnsi(output);
  const count = (re) => {
    const m = text.match(re);
    return m ? Number(m[1]) : undefined;
  };
  const passed = count(/(\d+) tests? passed/) ?? counts.passed;
  const failed = count(/(\d+) tests? failed/) ?? counts.failed;
  const skippedLine = count(/(\d+) tests? skipped/);
  const todoLine = count(/(\d+) tests? todo/);
  const skipped =
    skippedLine === undefined && todoLine === undefined
      ? counts.skipped
      : (skippedLine ?? 0) + (todoLine ?? 0);
  if (passed + failed + skipped === 0) return undefined;
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

async function main() {
  const avaArgs = process.argv.slice(2);
  provision();
  const missing = detect();
  if (ci && missing.length > 0) {
    say(
      `CI=true and ${missing.length} component(s) missing: ${missing.map((c) => c.name).join(', ')}; failing`,
    );
    process.exit(1);
  }
  const results = [];
  results.push(['biome', await run('biome', join(BIN, 'biome'), ['check', '.'])]);
  results.push(['tsc', await run('tsc', join(BIN, 'tsc'), ['--noEmit', '-p', '.'])]);
  const ava = await runAva(avaArgs);
  results.push(['ava', ava.code]);
  say(results.map(([step, code]) => `${step}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`}`).join(', '));
  say(summarize(ava.tail, ava.counts) ?? 'no test results in ava output');
  process.exit(results.some(([, code]) => code !== 0) ? 1 : 0);
}

await main();
