import { SeedstreamError } from '../errors.js';

/** A choker was configured with an impossible value (e.g. zero upload slots). */
export class ChokerInitError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_CHOKER_BAD_INIT', message);
  }
}
