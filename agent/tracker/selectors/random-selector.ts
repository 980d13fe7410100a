import { Random, type Seed } from '../../peer/random.js';
import type { PeerSelector, SelectionRequest } from '../peer-selector.js';
import type { PeerView } from '../swarm-registry.js';

export interface RandomSelectorInit {
  readonly seed: Seed;
}

/** What ordinary trackers do: a uniform random subset of the swarm. */
export class RandomSelector implements PeerSelector {
  readonly name = 'random';
  readonly #random: Random;

  constructor(init: RandomSelectorInit) {
    this.#random = new Random(init.seed).fork('random-selector');
  }

  select(req: SelectionRequest): PeerView[] {
    return req.swarm.sample(req.count, this.#random, req.asker);
  }
}
