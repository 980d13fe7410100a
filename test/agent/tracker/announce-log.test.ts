import test from 'ava';
import { hasCode } from '../../../agent/peer/errors.js';
import type { Logger } from '../../../agent/peer/logger.js';
import { AnnounceLog, type AnnounceRecord } from '../../../agent/tracker/announce-log.js';

function record(n: number): AnnounceRecord {
  return {
    timeMs: n,
    infoHash: 'aa'.repeat(20),
    peerId: 'bb'.repeat(20),
    endpoints: [`10.0.0.${n}:1`],
    seed: false,
    numwant: 50,
    policy: 'random',
    returned: [],
    complete: 0,
    incomplete: 1,
  };
}

test('the ring keeps the newest records, oldest first', (t) => {
  const log = new AnnounceLog({ capacity: 3 });
  t.deepEqual(log.recent(), []);
  for (let n = 1; n <= 5; n++) log.add(record(n));
  t.deepEqual(
    log.recent().map((r) => r.timeMs),
    [3, 4, 5],
  );
  t.deepEqual(
    log.recent(2).map((r) => r.timeMs),
    [4, 5],
  );
  t.is(log.total, 5);
  t.true(log.wanted);
});

test('listeners see every record until they unsubscribe; a throwing one harms nobody', (t) => {
  const warnings: unknown[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (obj) => warnings.push(obj),
    error() {},
    child: () => logger,
  };
  const log = new AnnounceLog({ capacity: 0 }, { logger });
  t.false(log.wanted);
  const seen: number[] = [];
  log.subscribe(() => {
    throw new Error('metrics bug');
  });
  const off = log.subscribe((r) => seen.push(r.timeMs));
  t.true(log.wanted);
  log.add(record(1));
  log.add(record(2));
  off();
  log.add(record(3));
  t.deepEqual(seen, [1, 2]);
  t.is(warnings.length, 3);
  t.deepEqual(log.recent(), []);
});

test('a bad capacity is refused', (t) => {
  t.true(
    hasCode(
      t.throws(() => new AnnounceLog({ capacity: -1 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
  t.true(
    hasCode(
      t.throws(() => new AnnounceLog({ capacity: 1.5 })),
      'ERR_TRACKER_BAD_INIT',
    ),
  );
});
