/**
 * Last-resort cleanup when the Node process ends without stopping what it started (a crashed
 * test, Ctrl-C): kill child process groups, delete namespaces and temp dirs. Cleanups must be
 * synchronous because an 'exit' listener cannot await.
 */

type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;

function runAll(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      // Best effort: one failing cleanup must not prevent the others.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // Our listener replaced the default action (exit); restore it when nobody else handles the
  // signal, so the process still ends as the sender intended.
  process.removeListener(signal, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

/** Registers `fn` to run at process exit; returns a function that unregisters it. */
export function registerExitCleanup(fn: Cleanup): () => void {
  install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}
