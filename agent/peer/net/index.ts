export { LinkInitError } from './errors.js';
export type { Link } from './link.js';
export { RttEstimator } from './rtt-estimator.js';
export {
  DEFAULT_QUEUE_MS,
  ROUND_ROBIN_QUANTUM_BYTES,
  ShapedLink,
  type ShapedLinkInit,
} from './shaped-link.js';
export { UNLIMITED_LINK, UnlimitedLink } from './unlimited-link.js';
