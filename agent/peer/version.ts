import { createRequire } from 'node:module';

/** seedstream's version, from package.json (the single source of truth). */
export const SEEDSTREAM_VERSION: string = (
  createRequire(import.meta.url)('../../package.json') as { version: string }
).version;
