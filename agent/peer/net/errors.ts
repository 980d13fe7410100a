import { SeedstreamError } from '../errors.js';

/** A link was configured with an impossible value (negative rate, NaN delay...). */
export class LinkInitError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_LINK_BAD_INIT', message);
  }
}
