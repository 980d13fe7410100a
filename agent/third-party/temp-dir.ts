import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerExitCleanup } from './exit-hooks.js';

/**
 * A private directory under the system temp dir, removed by remove() or, failing that, when the
 * Node process exits.
 */
export class TempDir {
  readonly path: string;
  readonly #unregister: () => void;
  #removing: Promise<void> | undefined;

  private constructor(path: string) {
    this.path = path;
    // Synchronous on purpose: it may run from the process 'exit' hook.
    this.#unregister = registerExitCleanup(() => rmSync(path, { recursive: true, force: true }));
  }

  /** `label` becomes part of the name (`seedstream-<label>-XXXXXX`) so leftovers are recognisable. */
  static async create(label: string): Promise<TempDir> {
    return new TempDir(await mkdtemp(join(tmpdir(), `seedstream-${label}-`)));
  }

  /** Deletes the directory and everything below it. Idempotent. */
  remove(): Promise<void> {
    this.#removing ??= rm(this.path, { recursive: true, force: true }).finally(() => this.#unregister());
    return this.#removing;
  }
}
