import test, { type ExecutionContext } from 'ava';
import { StrategyOptionError, StrategyOptions } from '../../../../agent/peer/picker/strategy-options.js';
import { UnitError } from '../../../../agent/peer/units.js';

const fails = (t: ExecutionContext, fn: () => unknown, option: string, text: RegExp): void => {
  const err = t.throws(fn, { instanceOf: StrategyOptionError });
  t.is(err?.code, 'ERR_STRATEGY_OPTION');
  t.is(err?.strategy, 'demo');
  t.is(err?.option, option);
  t.regex(err?.message ?? '', text);
};

test('an unknown option is an error naming it and the known ones', (t) => {
  fails(t, () => new StrategyOptions('demo', { windw: 3 }, ['window', 'p']), 'windw', /"windw".*window, p/);
  fails(t, () => new StrategyOptions('demo', { x: 1 }, []), 'x', /takes none/);
  t.notThrows(() => new StrategyOptions('demo', undefined, []));
});

test('numbers: default when absent, bounds and integrality checked', (t) => {
  const o = new StrategyOptions('demo', { a: 2, b: 0, c: 1.5, d: 7, e: '3', f: Number.POSITIVE_INFINITY }, [
    'a',
    'b',
    'c',
    'd',
    'e',
    'f',
    'g',
  ]);
  t.is(o.number('a', 9, { min: 1, integer: true }), 2);
  t.is(o.number('g', 9), 9);
  fails(t, () => o.number('b', 1, { min: 0, minExclusive: true }), 'b', /greater than 0, got 0/);
  fails(t, () => o.number('c', 1, { integer: true }), 'c', /integer, got 1.5/);
  fails(t, () => o.number('d', 1, { max: 5 }), 'd', /at most 5, got 7/);
  fails(t, () => o.number('e', 1), 'e', /finite number, got "3"/);
  fails(t, () => o.number('f', 1), 'f', /finite number/);
});

test('durations: milliseconds as numbers or strings with units', (t) => {
  const o = new StrategyOptions('demo', { a: 250, b: '1.5s', c: 'soon', d: -1, e: true }, [
    'a',
    'b',
    'c',
    'd',
    'e',
  ]);
  t.is(o.durationMs('a', 0), 250);
  t.is(o.durationMs('b', 0), 1_500);
  t.is(o.durationMs('x', 42), 42);
  const err = t.throws(() => o.durationMs('c', 0), { instanceOf: StrategyOptionError });
  t.true(err?.cause instanceof UnitError);
  fails(t, () => o.durationMs('d', 0, { min: 0 }), 'd', /at least 0, got -1/);
  fails(t, () => o.durationMs('e', 0), 'e', /duration.*got true/);
});
