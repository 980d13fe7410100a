import { join } from 'node:path';
import { ProgramExitedError, ProgramStartError } from './errors.js';
import type { HttpEndpoint } from './http-client.js';
import { ManagedProcess } from './managed-process.js';
import { boundedSignal, raceAbort } from './wait.js';

const PROGRAM = 'netns-relay';
const START_TIMEOUT_MS = 10_000;

/*
 * Runs inside the namespace. Path-bound Unix sockets live in the file system, not in a network
 * namespace, so a socket made here is reachable from Node in the root namespace. Exits on EOF of
 * stdin so it never outlives its parent.
 */
const RELAY_SCRIPT = `
const net = require('node:net');
const [socketPath, host, port] = process.argv.slice(1);
const server = net.createServer((client) => {
  const upstream = net.connect({ host, port: Number(port) });
  client.pipe(upstream).pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close);
  upstream.on('error', close);
});
server.on('error', (err) => { console.error(String(err)); process.exit(1); });
server.listen(socketPath, () => console.log('ready'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface NetnsTcpRelayInit {
  readonly netns: string;
  /** TCP target as seen from inside the namespace (usually 127.0.0.1 and an RPC port). */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Directory (on the shared file system) for the Unix socket; kept short (108-byte limit). */
  readonly socketDir: string;
}

/**
 * Makes a TCP service inside a network namespace reachable from the root namespace through a
 * Unix socket, because Node cannot enter a namespace itself. Used to drive RPC interfaces of
 * programs that run in a lab node.
 */
export class NetnsTcpRelay {
  readonly endpoint: HttpEndpoint;
  readonly #process: ManagedProcess;
  readonly #ready: Promise<void>;

  constructor(init: NetnsTcpRelayInit) {
    const socketPath = join(init.socketDir, `relay-${init.targetPort}.sock`);
    this.endpoint = { socketPath };
    let resolveReady: () => void;
    this.#ready = new Promise((resolve) => {
      resolveReady = resolve;
    });
    const env = { ...process.env };
    // A loader inherited from the test runner (tsx) is not needed for this plain script.
    delete env.NODE_OPTIONS;
    this.#process = new ManagedProcess({
      program: PROGRAM,
      argv: [process.execPath, '-e', RELAY_SCRIPT, socketPath, init.targetHost, String(init.targetPort)],
      netns: init.netns,
      env,
      stdin: true,
      onStdoutLine: (line) => {
        if (line.trim() === 'ready') resolveReady();
      },
    });
  }

  async start(signal?: AbortSignal): Promise<void> {
    await this.#process.start();
    const exited = this.#process.exited.then((s) => {
      throw new ProgramExitedError(PROGRAM, s.code, s.signal, this.#process.output());
    });
    try {
      await raceAbort(Promise.race([this.#ready, exited]), {
        signal: boundedSignal(signal, START_TIMEOUT_MS),
        what: `${PROGRAM} ready`,
        context: () => this.#process.output(),
      });
    } catch (err) {
      await this.#process.stop();
      if (err instanceof ProgramExitedError)
        throw new ProgramStartError(PROGRAM, err.message, undefined, { cause: err });
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#process.closeStdin();
    await this.#process.stop();
  }
}
