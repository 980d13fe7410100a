import { SeedstreamError } from '../peer/errors.js';

/**
 * Failures of the harness that drives third-party BitTorrent programs. Every message names the
 * program and, where it helps, ends with the tail of the program's own output.
 */

function withOutput(message: string, output: string | undefined): string {
  const tail = output?.trim();
  return tail ? `${message}\n--- output tail ---\n${tail}` : message;
}

/** The program could not be spawned, or did not become ready. */
export class ProgramStartError extends SeedstreamError {
  readonly program: string;

  constructor(program: string, message: string, output?: string, options?: { cause?: unknown }) {
    super('ERR_THIRD_PARTY_START', withOutput(`${program}: ${message}`, output), options);
    this.program = program;
  }
}

/** The program exited while the harness still needed it. */
export class ProgramExitedError extends SeedstreamError {
  readonly program: string;
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(program: string, exitCode: number | null, signal: string | null, output?: string) {
    const how = signal === null ? `with code ${exitCode}` : `on signal ${signal}`;
    super('ERR_THIRD_PARTY_EXITED', withOutput(`${program} exited unexpectedly ${how}`, output));
    this.program = program;
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** The program itself reported a failure (torrent error, hash-check failure, download error). */
export class ProgramReportedError extends SeedstreamError {
  readonly program: string;

  constructor(program: string, message: string, output?: string) {
    super('ERR_THIRD_PARTY_REPORTED', withOutput(`${program}: ${message}`, output));
    this.program = program;
  }
}

/** A call on a harness object that is not running (never started, or already stopped). */
export class ProgramNotRunningError extends SeedstreamError {
  constructor(program: string, operation: string) {
    super(
      'ERR_THIRD_PARTY_NOT_RUNNING',
      `${program}: ${operation} needs a running program; call start() first`,
    );
  }
}

/** An RPC to the program failed: transport, HTTP status, or an error in the RPC reply. */
export class RpcError extends SeedstreamError {
  readonly url: string;

  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super('ERR_THIRD_PARTY_RPC', `${url}: ${message}`, options);
    this.url = url;
  }
}

/** A bounded wait on a program ran out of time. */
export class ProgramTimeoutError extends SeedstreamError {
  readonly program: string;

  constructor(program: string, what: string, timeoutMs: number, output?: string) {
    super('ERR_THIRD_PARTY_TIMEOUT', withOutput(`${program}: ${what} not within ${timeoutMs} ms`, output));
    this.program = program;
  }
}

/** An infohash argument that is not 40 hex digits. */
export class InvalidInfoHashError extends SeedstreamError {
  constructor(value: string) {
    super('ERR_THIRD_PARTY_BAD_INFOHASH', `not a hex infohash (40 hex digits): ${JSON.stringify(value)}`);
  }
}
