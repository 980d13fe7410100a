import test from 'ava';
import { createPicker, strategyNames, UnknownStrategyError } from '../../../../agent/peer/picker/index.js';
import { Random } from '../../../../agent/peer/random.js';
import { makeTable, registerPickerCompliance } from './compliance.js';

// Every registered strategy, including ones added later, passes the same suite.
for (const name of strategyNames()) registerPickerCompliance(name);

test('the registry knows rarest-first and builds pickers by name', (t) => {
  t.true(strategyNames().includes('rarest-first'));
  for (const name of strategyNames()) {
    t.is(createPicker(name, { table: makeTable(), random: new Random(1) }).name, name);
  }
});

test('an unknown strategy is ERR_UNKNOWN_STRATEGY naming the known ones', (t) => {
  const err = t.throws(() => createPicker('fastest-first', { table: makeTable(), random: new Random(1) }), {
    instanceOf: UnknownStrategyError,
  });
  t.is(err?.code, 'ERR_UNKNOWN_STRATEGY');
  t.regex(err?.message ?? '', /rarest-first/);
});
