export {
  type Choker,
  type ChokerPeer,
  OPTIMISTIC_UNCHOKE_INTERVAL_MS,
  RECHOKE_INTERVAL_MS,
  type RechokeContext,
  SNUB_TIMEOUT_MS,
} from './choker.js';
export { ChokerInitError } from './errors.js';
export {
  DEFAULT_UPLOAD_SLOTS,
  NEW_PEER_OPTIMISTIC_WEIGHT,
  TitForTatChoker,
  type TitForTatChokerInit,
} from './tit-for-tat.js';
