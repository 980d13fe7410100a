import test, { type ExecutionContext } from 'ava';
import type { PeerSelector } from '../../../../agent/tracker/peer-selector.js';
import { QosSelector } from '../../../../agent/tracker/selectors/qos-selector.js';
import { RandomSelector } from '../../../../agent/tracker/selectors/random-selector.js';
import { type PeerView, type Swarm, SwarmRegistry } from '../../../../agent/tracker/swarm-registry.js';

/** Every PeerSelector implementation must pass these. */
const implementations: [string, (seed: number) => PeerSelector][] = [
  ['random', (seed) => new RandomSelector({ seed })],
  ['qos', (seed) => new QosSelector({ seed })],
];

const HASH = Buffer.alloc(20, 3);

/** A swarm of `size` peers; every third reports extension data, so qos has something to rank. */
function swarmOf(size: number): { swarm: Swarm; asker: PeerView } {
  const registry = new SwarmRegistry({ peerTtlSec: 60 });
  let swarm: Swarm | undefined;
  for (let n = 0; n < size; n++) {
    const id = Buffer.alloc(20);
    id.writeUInt32BE(n);
    const extended = n % 3 === 0;
    swarm = registry.announce(HASH, {
      peerId: id,
      v4: { address: Buffer.from([10, 0, n >> 8, n & 255]), port: 6881 },
      left: n % 4 === 0 ? 0 : 1,
      ...(extended
        ? { upstreamBps: 1000 * (n + 1), delays: [{ endpoint: `10.0.0.0:6881`, delayMs: (n % 17) + 1 }] }
        : {}),
    }).swarm;
  }
  return { swarm: swarm!, asker: swarm!.peerAt('10.0.0.0:6881')! };
}

const compliance = test.macro((t: ExecutionContext, make: (seed: number) => PeerSelector) => {
  for (const size of [1, 2, 5, 60, 1_000]) {
    const { swarm, asker } = swarmOf(size);
    const selector = make(1);
    for (const count of [0, 1, 3, 50, 200]) {
      const picked = selector.select({ swarm, asker, count, nowMs: 0 });
      t.is(picked.length, Math.min(count, size - 1), `size ${size} count ${count}`);
      t.false(picked.includes(asker), 'never the asker');
      t.is(new Set(picked).size, picked.length, 'no duplicates');
      t.true(
        picked.every((p) => swarm.peerAt(p.v4!.text) === p),
        'only live peers of the swarm',
      );
    }
  }
  const lists = [1, 1, 2].map((seed) => {
    const { swarm, asker } = swarmOf(300);
    return make(seed)
      .select({ swarm, asker, count: 20, nowMs: 0 })
      .map((p) => p.v4!.text);
  });
  t.deepEqual(lists[0], lists[1], 'same seed, same list');
  t.notDeepEqual(lists[0], lists[2], 'another seed, another list');
});

for (const [name, make] of implementations) {
  test(`${name} selector: PeerSelector compliance`, compliance, make);
}

test('the selectors name themselves for the announce log', (t) => {
  t.deepEqual(
    implementations.map(([, make]) => make(0).name),
    implementations.map(([name]) => name),
  );
});
