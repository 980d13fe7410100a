import test from 'ava';
import { encodeExtended } from '../../../../../agent/peer/wire/encoder.js';
import {
  DONTHAVE_FRAME_LENGTH,
  DontHaveExtension,
  decodeDontHave,
  encodeDontHave,
  LT_DONTHAVE,
  MalformedDontHaveError,
} from '../../../../../agent/peer/wire/extensions/lt-donthave.js';
import type { ExtensionPeer } from '../../../../../agent/peer/wire/extensions/wire-extension.js';

const PEER: ExtensionPeer = {
  id: 'p',
  host: '127.0.0.1',
  send: () => false,
  supports: () => false,
  fail: () => {},
};

test('a DontHave is <len=6><20><the remote id><index, 4 bytes big-endian> (BEP 54)', (t) => {
  const frame = encodeExtended(7, encodeDontHave(0x01020304));
  t.is(frame.length, DONTHAVE_FRAME_LENGTH);
  t.deepEqual([...frame], [0, 0, 0, 6, 20, 7, 1, 2, 3, 4]);
  t.is(LT_DONTHAVE, 'lt_donthave');
});

test('decoding returns the index; the largest index of the torrent is accepted', (t) => {
  for (const index of [0, 1, 255, 256, 65_536, 999_999]) {
    t.is(decodeDontHave(encodeDontHave(index), 1_000_000), index);
  }
  // A view into a larger buffer, as the wire decoder hands it.
  const wire = Buffer.from([9, 9, 0, 0, 1, 0, 9]);
  t.is(decodeDontHave(wire.subarray(2, 6), 1_000), 256);
});

const MALFORMED: ReadonlyArray<[string, Buffer, number]> = [
  ['an empty payload', Buffer.alloc(0), 10],
  ['three bytes', Buffer.from([0, 0, 1]), 10],
  ['five bytes', Buffer.from([0, 0, 0, 1, 0]), 10],
  ['an index equal to the piece count', encodeDontHave(10), 10],
  ['index 2^32-1', Buffer.from([0xff, 0xff, 0xff, 0xff]), 10],
];

for (const [title, payload, pieceCount] of MALFORMED) {
  test(`malformed: ${title} is ERR_BAD_DONTHAVE, a protocol error`, (t) => {
    const err = t.throws(() => decodeDontHave(payload, pieceCount), { instanceOf: MalformedDontHaveError });
    t.is(err?.code, 'ERR_BAD_DONTHAVE');
    // Through the extension the error propagates, so the connection closes (never a crash).
    const ext = new DontHaveExtension(pieceCount, { onDontHave: () => t.fail('handler called') });
    t.throws(() => ext.onMessage(PEER, payload), { instanceOf: MalformedDontHaveError });
  });
}

test('the extension hands valid indices to the torrent', (t) => {
  const seen: Array<[string, number]> = [];
  const ext = new DontHaveExtension(100, { onDontHave: (peer, index) => seen.push([peer.id, index]) });
  t.is(ext.name, 'lt_donthave');
  ext.onMessage(PEER, encodeDontHave(42));
  ext.onMessage(PEER, encodeDontHave(99));
  t.deepEqual(seen, [
    ['p', 42],
    ['p', 99],
  ]);
});
