import test from 'ava';
import { extensionKind, kindOf, MessageStats } from '../../../../../agent/peer/accounting/message-stats.js';
import {
  DuplicateExtensionError,
  ExtensionRegistry,
} from '../../../../../agent/peer/wire/extensions/extension-registry.js';
import type { WireExtension } from '../../../../../agent/peer/wire/extensions/wire-extension.js';

function ext(name: string): WireExtension {
  return { name, onMessage: () => {} };
}

test('extensions get local ids from 1 in registration order; `m` lists them', (t) => {
  const metadata = ext('ut_metadata');
  const donthave = ext('lt_donthave');
  const registry = new ExtensionRegistry().register(metadata).register(donthave);
  t.deepEqual(registry.handshakeM(), { ut_metadata: 1, lt_donthave: 2 });
  t.is(registry.byLocalId(1), metadata);
  t.is(registry.byLocalId(2), donthave);
  t.is(registry.get('lt_donthave'), donthave);
  t.deepEqual(registry.extensions, [metadata, donthave]);
});

test('id 0 (the extended handshake) and unassigned ids resolve to no extension', (t) => {
  const registry = new ExtensionRegistry().register(ext('ut_metadata'));
  t.is(registry.byLocalId(0), undefined);
  t.is(registry.byLocalId(2), undefined);
  t.is(registry.byLocalId(255), undefined);
  t.is(registry.get('ut_pex'), undefined);
});

test('registering a name twice is ERR_DUPLICATE_EXTENSION and changes nothing', (t) => {
  const registry = new ExtensionRegistry().register(ext('ut_metadata'));
  const err = t.throws(() => registry.register(ext('ut_metadata')), { instanceOf: DuplicateExtensionError });
  t.is(err?.code, 'ERR_DUPLICATE_EXTENSION');
  t.deepEqual(registry.handshakeM(), { ut_metadata: 1 });
});

// Serial, in this order: the 250 names below exhaust the process-wide table of accounting kinds.
test.serial('accounting kinds: per extension name, `ext:unknown` for ids we never assigned', (t) => {
  const registry = new ExtensionRegistry().register(ext('ut_metadata'));
  const kind = registry.kindOfLocalId(1);
  t.is(kind, extensionKind('ut_metadata'));
  t.is(registry.kindOf('ut_metadata'), kind);
  t.is(registry.kindOfLocalId(7), extensionKind('unknown'));
  t.not(kind, kindOf('unknown'));
  const stats = new MessageStats();
  stats.recordIn(kind, 30);
  stats.recordOut(registry.kindOf('lt_donthave'), 10);
  t.deepEqual(stats.snapshot(), {
    in: { 'ext:ut_metadata': { count: 1, bytes: 30 } },
    out: { 'ext:lt_donthave': { count: 1, bytes: 10 } },
  });
});

test.serial('at most 250 extensions: the 251st is ERR_TOO_MANY_EXTENSIONS', (t) => {
  const registry = new ExtensionRegistry();
  for (let i = 0; i < 250; i++) registry.register(ext(`x_${i}`));
  t.is(registry.handshakeM().x_249, 250);
  const err = t.throws(() => registry.register(ext('one_too_many')));
  t.is((err as { code?: string }).code, 'ERR_TOO_MANY_EXTENSIONS');
});
