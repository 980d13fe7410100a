import test from 'ava';
import { ManagedProcess, netnsArgv } from '../../../agent/third-party/managed-process.js';
import { pollUntil } from '../../../agent/third-party/wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('netnsArgv wraps a command in ip netns exec only when a namespace is given', (t) => {
  t.deepEqual(netnsArgv(['aria2c', '-v'], undefined), ['aria2c', '-v']);
  t.deepEqual(netnsArgv(['aria2c', '-v'], 'lab-n0'), ['ip', 'netns', 'exec', 'lab-n0', 'aria2c', '-v']);
});

test('delivers stdout lines, keeps output, reports the exit status', async (t) => {
  const lines: string[] = [];
  const p = new ManagedProcess({
    program: 'sh',
    argv: ['sh', '-c', 'echo one; echo two; echo oops >&2; printf tail; exit 3'],
    onStdoutLine: (line) => lines.push(line),
  });
  await p.start();
  const status = await p.exited;
  t.deepEqual(status, { code: 3, signal: null });
  t.deepEqual(lines, ['one', 'two', 'tail']);
  t.true(p.output().includes('oops'));
  t.false(p.running);
});

test('stop() kills the whole process group, escalating to SIGKILL, and is idempotent', async (t) => {
  // The shell ignores SIGTERM and has a grandchild; both must go.
  let grandchild = 0;
  const p = new ManagedProcess({
    program: 'sh',
    argv: ['sh', '-c', 'trap "" TERM; sleep 600 & echo $!; wait'],
    onStdoutLine: (line) => {
      grandchild = Number(line);
    },
  });
  await p.start();
  await pollUntil(async () => (grandchild > 0 ? true : undefined), {
    intervalMs: 10,
    signal: AbortSignal.timeout(5_000),
    what: 'grandchild pid',
  });
  const [a, b] = await Promise.all([p.stop(200), p.stop(200)]);
  t.is(a, b);
  t.is(a?.signal, 'SIGKILL');
  await pollUntil(async () => (alive(grandchild) ? undefined : true), {
    intervalMs: 10,
    signal: AbortSignal.timeout(5_000),
    what: 'grandchild gone',
  });
  t.false(alive(grandchild));
});

test('a missing executable is a typed start error', async (t) => {
  const p = new ManagedProcess({ program: 'nothing', argv: ['/nonexistent/seedstream-no-such-program'] });
  await t.throwsAsync(p.start(), { code: 'ERR_THIRD_PARTY_START', message: /ENOENT/ });
  await t.notThrowsAsync(p.stop());
});

test('writeLine reaches a stdin-driven program; closeStdin ends it', async (t) => {
  const lines: string[] = [];
  const p = new ManagedProcess({
    program: 'cat',
    argv: ['cat'],
    stdin: true,
    onStdoutLine: (l) => lines.push(l),
  });
  await p.start();
  t.true(p.writeLine('hello'));
  p.closeStdin();
  t.deepEqual(await p.exited, { code: 0, signal: null });
  t.deepEqual(lines, ['hello']);
  t.false(p.writeLine('late'));
});
