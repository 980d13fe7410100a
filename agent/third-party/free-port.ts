import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { ProgramStartError } from './errors.js';
import { netnsArgv } from './managed-process.js';

const execFileAsync = promisify(execFile);
const PROBE_TIMEOUT_MS = 10_000;

// Runs inside a namespace: binds port 0 on the host given as argv[1] and prints the port chosen.
const PROBE_SCRIPT = `
const server = require('node:net').createServer();
server.listen({ host: process.argv[1], port: 0 }, () => {
  console.log(server.address().port);
  server.close();
});
`;

export interface FreePortInit {
  /** Probe inside this network namespace rather than this process's own. */
  readonly netns?: string;
  readonly signal?: AbortSignal;
}

/**
 * A TCP port that was free on `host` a moment ago (the kernel's choice for port 0). Another
 * process may still take it before the caller binds; programs that can report the port they
 * bound (libtorrent) should pick their own instead.
 */
export async function getFreePort(host = '127.0.0.1', init: FreePortInit = {}): Promise<number> {
  if (init.netns === undefined) {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.on('error', (err) =>
        reject(
          new ProgramStartError('free-port', `cannot bind ${host}:0: ${err.message}`, undefined, {
            cause: err,
          }),
        ),
      );
      server.listen({ host, port: 0 }, () => {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(port));
      });
    });
  }
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const [command, ...args] = netnsArgv([process.execPath, '-e', PROBE_SCRIPT, host], init.netns);
  try {
    const { stdout } = await execFileAsync(command, args, {
      env,
      timeout: PROBE_TIMEOUT_MS,
      signal: init.signal,
    });
    const port = Number.parseInt(stdout.trim(), 10);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`probe printed ${JSON.stringify(stdout)}`);
    return port;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ProgramStartError(
      'free-port',
      `no free port on ${host} in netns ${init.netns}: ${message}`,
      undefined,
      {
        cause: err,
      },
    );
  }
}
