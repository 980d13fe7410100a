import { extensionKind } from '../../accounting/message-stats.js';
import { SeedstreamError } from '../../errors.js';
import type { WireExtension } from './wire-extension.js';

/** Extended ids we hand out; 0 is the extended handshake itself. */
const MAX_EXTENSIONS = 250;

export class DuplicateExtensionError extends SeedstreamError {
  constructor(name: string) {
    super('ERR_DUPLICATE_EXTENSION', `extension ${name} is registered twice`);
  }
}

/**
 * The extensions a torrent speaks, with the extended ids we assign them (our `m` dictionary).
 * Remote ids are per connection and live with the connection.
 */
export class ExtensionRegistry {
  readonly #byName = new Map<string, { ext: WireExtension; localId: number; kind: number }>();
  readonly #byLocalId: Array<WireExtension | undefined> = [];
  readonly #kindByLocalId: number[] = [];

  register(ext: WireExtension): this {
    if (this.#byName.has(ext.name)) throw new DuplicateExtensionError(ext.name);
    if (this.#byName.size >= MAX_EXTENSIONS)
      throw new SeedstreamError('ERR_TOO_MANY_EXTENSIONS', 'too many extensions');
    const localId = this.#byName.size + 1;
    const kind = extensionKind(ext.name);
    this.#byName.set(ext.name, { ext, localId, kind });
    this.#byLocalId[localId] = ext;
    this.#kindByLocalId[localId] = kind;
    return this;
  }

  get extensions(): WireExtension[] {
    return [...this.#byName.values()].map((e) => e.ext);
  }

  get(name: string): WireExtension | undefined {
    return this.#byName.get(name)?.ext;
  }

  byLocalId(id: number): WireExtension | undefined {
    return this.#byLocalId[id];
  }

  /** Accounting kind of a message arriving with our extended id `id`. */
  kindOfLocalId(id: number): number {
    return this.#kindByLocalId[id] ?? extensionKind('unknown');
  }

  /** Accounting kind of an extension by name. */
  kindOf(name: string): number {
    return this.#byName.get(name)?.kind ?? extensionKind(name);
  }

  /** Our `m` dictionary. */
  handshakeM(): Record<string, number> {
    const m: Record<string, number> = {};
    for (const [name, { localId }] of this.#byName) m[name] = localId;
    return m;
  }
}
