import anyTest, { type TestFn } from 'ava';
import { COMPONENTS_ENV, type ComponentStatus, detectComponent } from './components.mjs';

export type { ComponentStatus } from './components.mjs';

/** Names of the components in components.mjs. */
export type ComponentName = 'libtorrent' | 'transmission' | 'aria2' | 'opentracker' | 'netns';

const cache = new Map<string, ComponentStatus>();

function fromEnvironment(): Record<string, ComponentStatus> | undefined {
  const raw = process.env[COMPONENTS_ENV];
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as Record<string, ComponentStatus>;
  } catch {
    return undefined;
  }
}

/**
 * Whether a third-party component works on this machine: as detected by `npm test` (passed in
 * SEEDSTREAM_COMPONENTS), or detected here on first use when a test file runs on its own.
 */
export function component(name: ComponentName): ComponentStatus {
  let status = cache.get(name) ?? fromEnvironment()?.[name];
  if (status === undefined) status = detectComponent(name);
  cache.set(name, status);
  return status;
}

/** Why the first missing component of `names` is missing, or undefined when all are there. */
export function missingReason(...names: ComponentName[]): string | undefined {
  for (const name of names) {
    const status = component(name);
    if (!status.available) return `${name} unavailable: ${status.reason ?? 'not detected'}`;
  }
  return undefined;
}

const HOOKS = new Set(['before', 'after', 'beforeEach', 'afterEach']);
const PASS_THROUGH = new Set(['macro', 'todo', 'meta']);

/**
 * A stand-in for ava's `test` that registers every test as skipped, including `.serial`,
 * `.only` and `.failing` variants, and ignores hooks, which would otherwise start the very
 * programs that are missing.
 */
export function skippingTest<Context>(test: TestFn<Context>): TestFn<Context> {
  // biome-ignore lint/suspicious/noExplicitAny: forwards ava's overloaded arguments unchanged.
  const skip = (...args: any[]) => (test.skip as (...a: unknown[]) => void)(...args);
  const noop: unknown = new Proxy(() => {}, { get: () => noop });
  return new Proxy(skip, {
    get(_target, prop) {
      if (typeof prop === 'string' && HOOKS.has(prop)) return noop;
      if (typeof prop === 'string' && PASS_THROUGH.has(prop)) return test[prop as keyof TestFn<Context>];
      return skip;
    },
  }) as unknown as TestFn<Context>;
}

/**
 * `test` when every named component is available, else a variant of it that registers each test
 * as skipped (and says why once per file, since ava has no skip reasons).
 */
export function testIf<Context = unknown>(...names: ComponentName[]): TestFn<Context> {
  const test = anyTest as TestFn<Context>;
  const reason = missingReason(...names);
  if (reason === undefined) return test;
  console.log(`skipping tests that need ${names.join(' + ')}: ${reason}`);
  return skippingTest(test);
}
