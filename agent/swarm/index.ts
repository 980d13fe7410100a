export { type ArrivalSpec, arrivalTimes } from './arrivals.js';
export { generateContent, type SwarmContent } from './content.js';
export { SwarmInitError, SwarmSetupError } from './errors.js';
export {
  type ContentSpec,
  type LeecherSpec,
  type LinkSpec,
  MAX_LEECHERS,
  type MediaServerSpec,
  type PlannedLeecher,
  planSwarm,
  type SeederSpec,
  type StrategyChoice,
  type SwarmInit,
  type SwarmPlan,
} from './plan.js';
export {
  HAVE_REQUEST_KINDS,
  type MediaServerResult,
  type PeerResult,
  type PeerRole,
  type SwarmResult,
  type SwarmTotals,
  swarmTotals,
} from './results.js';
export { DEFAULT_STARTUP_BUFFER_MS, runSwarm, Swarm, type SwarmDeps } from './swarm.js';
