/*
 * `npm run bench [-- NAME...] [--json] [--quick]`: runs the named benchmarks (all of them without a name),
 * each printing its own report; with --json, stdout holds one JSON document with every result
 * and the reports/progress go to stderr. --quick asks the benches that have one for their small variant.
 */
import { runStreamingBench } from './streaming.js';
import { runTrackerBench } from './tracker.js';
import { runTransferBench } from './transfer.js';

/** `quick`: a smaller variant, for benches that have one (`--quick`). */
type Bench = (opts: { readonly json: boolean; readonly quick: boolean }) => Promise<object>;

/** One line per benchmark; the order is the order of `npm run bench`. */
const BENCHES: Readonly<Record<string, Bench>> = {
  transfer: runTransferBench,
  tracker: runTrackerBench,
  streaming: runStreamingBench,
};

function usage(): string {
  return `usage: npm run bench [-- [${Object.keys(BENCHES).join('|')}]... [--json] [--quick]]`;
}

/** Runs `fn` with stdout writes sent to stderr, so that stdout carries only the JSON document. */
async function withStdoutOnStderr<T>(fn: () => Promise<T>): Promise<T> {
  const original = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = original;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => a !== '--json' && a !== '--quick');
  if (names.includes('--help') || names.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = names.filter((n) => !Object.hasOwn(BENCHES, n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}\n${usage()}\n`);
    return 2;
  }
  const selected = names.length > 0 ? [...new Set(names)] : Object.keys(BENCHES);
  const results: Record<string, object> = {};
  for (const [i, name] of selected.entries()) {
    const run = (): Promise<object> => BENCHES[name]({ json, quick });
    if (json) {
      results[name] = await withStdoutOnStderr(run);
    } else {
      if (i > 0) process.stdout.write('\n');
      results[name] = await run();
    }
  }
  if (json) process.stdout.write(`${JSON.stringify({ benches: results }, null, 2)}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
