export type { CreateMetainfoInit } from './create.js';
export { createMetainfo, defaultPieceLength } from './create.js';
export type { MagnetErrorCode, MetainfoErrorCode, MetainfoErrorInit } from './errors.js';
export { MagnetError, MetainfoError } from './errors.js';
export { loadMetainfo } from './load.js';
export type { MagnetLink } from './magnet.js';
export { parseMagnet, toMagnet } from './magnet.js';
export { parseMetainfo } from './parse.js';
export type { FileEntry, Metainfo, StreamingInfo } from './types.js';
