export {
  BoundedCache,
  BoundedCacheError,
  type BoundedCacheInit,
  CACHE_REFRESH_INTERVAL_MS,
  type CacheHost,
} from './bounded-cache.js';
export { StorageError, type StorageErrorCode, type StorageErrorDetails } from './errors.js';
export { DEFAULT_CACHE_PIECES, FileStorage, type FileStorageInit } from './file-storage.js';
export { MemoryStorage, type MemoryStorageInit } from './memory-storage.js';
export { pieceHash, pieceSize, type Storage } from './storage.js';
export { type VerifyProgress, verifyStorage } from './verify.js';
