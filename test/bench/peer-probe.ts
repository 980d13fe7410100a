/*
 * Preloaded into our peer's CLI processes by the transfer bench
 * (`node --import tsx --import ./test/bench/peer-probe.ts controller/cli/bin.mjs ...`), so the
 * figures come from the real process without touching the peer's code.
 *
 * Between the process's `listening` event line and its `complete` (get) or `stopped` (seed)
 * line it measures the process's CPU time and the bytes allocated on the JS heap, then prints one
 * `{"event":"bench-probe", ...}` line. Heap allocation is not counted by V8 directly; it is the
 * growth of the used heap between collections, read from a GCProfiler, which only records at
 * each GC and so costs the peer next to nothing.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';

const START_MARK = '"event":"listening"';
const END_MARKS = ['"event":"complete"', '"event":"stopped"'];

interface Window {
  readonly profiler: GCProfiler;
  readonly usedAtStart: number;
  readonly cpuAtStart: NodeJS.CpuUsage;
  readonly startedAt: number;
}

let window: Window | undefined;
let done = false;
const write = process.stdout.write.bind(process.stdout);

function begin(): void {
  const profiler = new GCProfiler();
  profiler.start();
  window = {
    profiler,
    usedAtStart: getHeapStatistics().used_heap_size,
    cpuAtStart: process.cpuUsage(),
    startedAt: performance.now(),
  };
}

function end(w: Window): void {
  done = true;
  const cpu = process.cpuUsage(w.cpuAtStart);
  const total = process.cpuUsage();
  const usedAtEnd = getHeapStatistics().used_heap_size;
  const stats = w.profiler.stop()?.statistics ?? [];
  let allocated = 0;
  let previousAfter = w.usedAtStart;
  for (const gc of stats) {
    allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - previousAfter);
    previousAfter = gc.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += Math.max(0, usedAtEnd - previousAfter);
  write(
    `${JSON.stringify({
      event: 'bench-probe',
      windowMs: performance.now() - w.startedAt,
      cpuMs: (cpu.user + cpu.system) / 1000,
      processCpuMs: (total.user + total.system) / 1000,
      heapAllocatedBytes: allocated,
      gcCount: stats.length,
    })}\n`,
  );
}

// Only the event lines matter; everything else passes through unchanged.
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  // biome-ignore lint/suspicious/noExplicitAny: forwards write()'s overloads unchanged
  const ok = (write as (...args: any[]) => boolean)(chunk, ...rest);
  if (typeof chunk === 'string' && !done) {
    if (window === undefined) {
      if (chunk.includes(START_MARK)) begin();
    } else if (END_MARKS.some((mark) => chunk.includes(mark))) {
      end(window);
    }
  }
  return ok;
}) as typeof process.stdout.write;
