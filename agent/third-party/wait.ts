import { setTimeout as delay } from 'node:timers/promises';
import { AbortError } from '../peer/errors.js';

export interface PollInit {
  /** Pause between probes. */
  readonly intervalMs: number;
  /** Ends the wait; its reason becomes the AbortError's cause. */
  readonly signal?: AbortSignal;
  /** What is awaited, for the abort message, e.g. `transmission-daemon: torrent 1 complete`. */
  readonly what: string;
  /** Checked before each probe; a returned error ends the wait (e.g. "the program exited"). */
  readonly failure?: () => Error | undefined;
  /** Extra text for the abort message, e.g. the program's output tail. */
  readonly context?: () => string;
}

/** The AbortError a wait throws when its signal fires, naming what it was waiting for. */
export function waitAborted(init: Pick<PollInit, 'signal' | 'what' | 'context'>): AbortError {
  const reason: unknown = init.signal?.reason;
  const why = reason instanceof Error ? reason.message : 'aborted';
  const context = init.context?.().trim();
  const message = `gave up waiting for ${init.what}: ${why}`;
  return new AbortError(context ? `${message}\n--- output tail ---\n${context}` : message, { cause: reason });
}

/**
 * Calls `probe` every `intervalMs` until it yields a value other than undefined. Bounded only by
 * `signal` and `failure`: callers pass a signal with a timeout.
 */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, init: PollInit): Promise<T> {
  for (;;) {
    if (init.signal?.aborted) throw waitAborted(init);
    const failure = init.failure?.();
    if (failure !== undefined) throw failure;
    const value = await probe();
    if (value !== undefined) return value;
    try {
      await delay(init.intervalMs, undefined, { signal: init.signal });
    } catch {
      throw waitAborted(init);
    }
  }
}

/**
 * Waits for `promise`, or throws the AbortError of `waitAborted` when `signal` fires first.
 * The promise itself is not cancelled.
 */
export async function raceAbort<T>(
  promise: Promise<T>,
  init: Pick<PollInit, 'signal' | 'what' | 'context'>,
): Promise<T> {
  const signal = init.signal;
  if (signal === undefined) return promise;
  if (signal.aborted) throw waitAborted(init);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(waitAborted(init));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** `signal` further bounded by `timeoutMs`, so a wait without a caller's deadline still ends. */
export function boundedSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}
