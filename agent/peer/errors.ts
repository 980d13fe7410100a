/**
 * The base of every error seedstream throws on purpose. Each failure has its own subclass with a
 * stable `code` (`ERR_*`) so that callers and tests match on the code, never on the message.
 */
export class SeedstreamError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `err` is a SeedstreamError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof SeedstreamError && err.code === code;
}

/** Thrown when an operation is cancelled through its AbortSignal. */
export class AbortError extends SeedstreamError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
  }
}

/** Throws AbortError when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}
