import type { Metainfo } from '../metainfo/types.js';

export type PathLookup =
  | { readonly kind: 'file'; readonly file: number }
  | { readonly kind: 'not-found' }
  /** A path no file could ever have: undecodable, or walking out of the torrent (`..`). */
  | { readonly kind: 'bad'; readonly reason: string };

/** Joins components with a byte no decoded component may contain, so keys cannot collide. */
const KEY_SEPARATOR = '\u0000';

/** Request paths longer than this are refused before any decoding work. */
export const MAX_PATH_LENGTH = 8_192;

/**
 * The URL paths under which a media server offers a torrent's files, laid out as a BEP 19 web
 * seed client asks for them: `/<name>` for a single-file torrent, `/<name>/<path...>` for each
 * file of a multi-file torrent, every component percent-encoded.
 *
 * Lookups only ever return an index into `meta.files`: a request path never reaches the file
 * system, so traversal is impossible by construction; `..` and friends are still refused loudly.
 */
export class ContentPaths {
  readonly #byKey = new Map<string, number>();

  constructor(meta: Metainfo) {
    meta.files.forEach((file, index) => {
      const components = meta.multiFile ? [meta.name, ...file.path] : [meta.name];
      this.#byKey.set(components.join(KEY_SEPARATOR), index);
    });
  }

  /** The URL path (percent-encoded) of file `index` of `meta`. */
  static pathOf(meta: Metainfo, index: number): string {
    const components = meta.multiFile ? [meta.name, ...meta.files[index].path] : [meta.name];
    return `/${components.map(encodeURIComponent).join('/')}`;
  }

  /** Maps a request target (`/a/b?query`) to a file of the torrent. */
  lookup(target: string): PathLookup {
    if (target.length > MAX_PATH_LENGTH) return { kind: 'bad', reason: 'request path too long' };
    const end = target.search(/[?#]/);
    const path = end < 0 ? target : target.slice(0, end);
    if (!path.startsWith('/')) return { kind: 'bad', reason: 'request path does not start with /' };
    const components: string[] = [];
    for (const raw of path.slice(1).split('/')) {
      let component: string;
      try {
        component = decodeURIComponent(raw);
      } catch {
        return { kind: 'bad', reason: 'malformed percent-encoding in the request path' };
      }
      if (component === '.' || component === '..') {
        return { kind: 'bad', reason: 'dot segments are not allowed in the request path' };
      }
      if (/[/\\\0]/.test(component)) {
        return { kind: 'bad', reason: 'an encoded separator or NUL in the request path' };
      }
      components.push(component);
    }
    const file = this.#byKey.get(components.join(KEY_SEPARATOR));
    return file === undefined ? { kind: 'not-found' } : { kind: 'file', file };
  }
}
