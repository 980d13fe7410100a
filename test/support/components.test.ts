import test from 'ava';
import { component, missingReason, skippingTest, testIf } from './components.js';
import { APT_PACKAGES, COMPONENTS, COMPONENTS_ENV } from './components.mjs';

// The runner's detection, as handed to test processes; set before the first component() call.
process.env[COMPONENTS_ENV] = JSON.stringify({
  aria2: { available: false, reason: 'aria2c is not on PATH' },
  libtorrent: { available: true },
});

test("component() reads the runner's detection from the environment", (t) => {
  t.deepEqual(component('aria2'), { available: false, reason: 'aria2c is not on PATH' });
  t.deepEqual(component('libtorrent'), { available: true });
  t.is(missingReason('libtorrent'), undefined);
  t.is(missingReason('libtorrent', 'aria2'), 'aria2 unavailable: aria2c is not on PATH');
});

test('testIf gives ava itself when the components are there; the stand-in for missing ones is inert', (t) => {
  t.is(testIf('libtorrent'), test);
  const skipping = skippingTest(test);
  t.not(skipping, test);
  t.is(typeof skipping.serial, 'function');
  // Hooks of a skipped suite are inert, so they cannot start the missing program.
  t.notThrows(() => skipping.after.always(() => t.fail()));
  t.is(skipping.macro, test.macro);
});

test('every component names its Debian packages, each package listed once', (t) => {
  t.true(COMPONENTS.every((c) => c.packages.length > 0));
  t.deepEqual(APT_PACKAGES, [...new Set(COMPONENTS.flatMap((c) => c.packages))]);
  t.true(APT_PACKAGES.includes('python3-libtorrent'));
});
