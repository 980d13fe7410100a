import { SeedstreamError } from '../peer/errors.js';

/** A swarm was described with an impossible value; `where` names the field. */
export class SwarmInitError extends SeedstreamError {
  readonly where: string;

  constructor(where: string, message: string) {
    super('ERR_SWARM_BAD_INIT', `${where}: ${message}`);
    this.where = where;
  }
}

/** A swarm could not be set up (a listener, the content); the run was torn down. */
export class SwarmSetupError extends SeedstreamError {
  constructor(message: string, cause: unknown) {
    super('ERR_SWARM_SETUP', message, { cause });
  }
}
