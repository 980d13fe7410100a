import test from 'ava';
import { chokerNames, createChoker } from '../../../../agent/peer/choker/index.js';
import { Random } from '../../../../agent/peer/random.js';
import { CHOKER_CASES, type ChokerSubject, chokerCase } from './compliance.js';

// Every registered choker passes the compliance suite.
const SUBJECTS: readonly ChokerSubject[] = chokerNames().map((name) => ({
  name,
  create: ({ seed, uploadSlots }) => createChoker(name, { random: new Random(seed), uploadSlots }),
}));

for (const subject of SUBJECTS) {
  for (const c of CHOKER_CASES) test(chokerCase, subject, c);
}

test('the registry knows tit-for-tat and qos, and refuses other names with ERR_UNKNOWN_CHOKER', (t) => {
  t.deepEqual(chokerNames().sort(), ['qos', 'tit-for-tat']);
  for (const name of chokerNames()) t.is(createChoker(name, { random: new Random(1) }).name, name);
  t.throws(() => createChoker('fastest', { random: new Random(1) }), { code: 'ERR_UNKNOWN_CHOKER' });
  t.throws(() => createChoker('constructor', { random: new Random(1) }), { code: 'ERR_UNKNOWN_CHOKER' });
});
