import test from 'ava';
import { asDict, decode, encode } from '../../../../../agent/peer/bencode/index.js';
import {
  decodeQosMessage,
  encodeQosMessage,
  MAX_QOS_DELAY_MS,
  MAX_QOS_RATE,
  MalformedQosError,
  type PeerQos,
  parseQos,
  QosExtension,
  qosDict,
  SS_QOS,
} from '../../../../../agent/peer/wire/extensions/qos.js';
import type { ExtensionPeer } from '../../../../../agent/peer/wire/extensions/wire-extension.js';

const PEER: ExtensionPeer = {
  id: 'p',
  host: '127.0.0.1',
  send: () => false,
  supports: () => false,
  fail: () => {},
};
const FULL: PeerQos = { minBitrateBitsPerSec: 8_000_000, maxDelayMs: 500, upstreamBytesPerSec: 1_500_000 };

test('the message is the bencoded dictionary of the set values, keys sorted', (t) => {
  t.is(
    encodeQosMessage(FULL).toString('latin1'),
    'd9:max_delayi500e11:min_bitratei8000000e8:upstreami1500000ee',
  );
  t.deepEqual(decodeQosMessage(encodeQosMessage(FULL)), FULL);
  // Unset and zero values are left out: an empty dictionary declares nothing.
  t.is(encodeQosMessage({ maxDelayMs: 0 }).toString('latin1'), 'de');
  t.deepEqual(decodeQosMessage(Buffer.from('de')), {});
  t.deepEqual(qosDict({ maxDelayMs: 250 }), { max_delay: 250 });
});

test('the handshake carries the dictionary under `ss_qos`, only when something is declared', (t) => {
  let local: PeerQos = FULL;
  const ext = new QosExtension({ local: () => local, onQos: () => {} });
  t.is(ext.name, SS_QOS);
  t.deepEqual(ext.handshakeFields(), {
    ss_qos: { min_bitrate: 8_000_000, max_delay: 500, upstream: 1_500_000 },
  });
  local = {};
  // encode() drops undefined values: no `ss_qos` key at all.
  t.is(encode({ m: {}, ...ext.handshakeFields() }).toString('latin1'), 'd1:mdee');
});

test('a handshake with ss_qos reaches the torrent; one without it does not', (t) => {
  const seen: PeerQos[] = [];
  const ext = new QosExtension({ local: () => ({}), onQos: (_p, q) => seen.push(q) });
  const hs = (value: Parameters<typeof encode>[0]) => asDict(decode(encode(value)), 'handshake');
  ext.onHandshake(PEER, hs({ m: { ss_qos: 3 }, ss_qos: { max_delay: 100, future_key: 'x' } }));
  ext.onHandshake(PEER, hs({ m: {} }));
  ext.onMessage(PEER, encodeQosMessage({ upstreamBytesPerSec: 42 }));
  t.deepEqual(seen, [{ maxDelayMs: 100 }, { upstreamBytesPerSec: 42 }]);
});

const MALFORMED: ReadonlyArray<[string, Buffer]> = [
  ['not bencode', Buffer.from('d9:max_delay')],
  ['a list, not a dictionary', Buffer.from('li1ee')],
  ['a negative delay', Buffer.from('d9:max_delayi-1ee')],
  ['a string bitrate', Buffer.from('d11:min_bitrate3:fastee')],
  ['a delay over a day', Buffer.from(`d9:max_delayi${MAX_QOS_DELAY_MS + 1}ee`)],
  ['an upstream over 1 TB/s', Buffer.from(`d8:upstreami${MAX_QOS_RATE + 1}ee`)],
  ['an oversized message', Buffer.concat([Buffer.from('d1:x2000:'), Buffer.alloc(2000), Buffer.from('e')])],
];

for (const [title, payload] of MALFORMED) {
  test(`malformed message: ${title} is ERR_BAD_QOS, a protocol error`, (t) => {
    const err = t.throws(() => decodeQosMessage(payload), { instanceOf: MalformedQosError });
    t.is(err?.code, 'ERR_BAD_QOS');
  });
}

test('a malformed ss_qos in the handshake is ERR_BAD_QOS naming the field', (t) => {
  const ext = new QosExtension({ local: () => ({}), onQos: () => t.fail() });
  const handshake = asDict(decode(encode({ ss_qos: { max_delay: 'soon' } })), 'handshake');
  const err = t.throws(() => ext.onHandshake(PEER, handshake), {
    instanceOf: MalformedQosError,
  });
  t.regex(err?.message ?? '', /ss_qos\.max_delay/);
  t.throws(() => parseQos(5, 'x'), { instanceOf: MalformedQosError });
});
