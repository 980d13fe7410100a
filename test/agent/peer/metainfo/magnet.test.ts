import test from 'ava';
import { createMetainfo, MagnetError, parseMagnet, toMagnet } from '../../../../agent/peer/metainfo/index.js';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
// The same 20 bytes in RFC 4648 base32, computed independently of the parser under test.
function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

test('parses a hex btih with name, trackers, peers and web seeds', (t) => {
  const m = parseMagnet(
    `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=Big+Buck%20Bunny&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce` +
      '&tr=udp://127.0.0.1:6969&tr.1=udp://127.0.0.1:6969&x.pe=127.0.0.1:6881&x.pe=%5B::1%5D:51413' +
      '&ws=http://127.0.0.1:8080/f&unknown=1',
  );
  t.is(m.infoHashHex, HEX);
  t.deepEqual(m.infoHash, Buffer.from(HEX, 'hex'));
  t.is(m.name, 'Big Buck Bunny');
  t.deepEqual(m.trackers, ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969']);
  t.deepEqual(m.peers, [
    { host: '127.0.0.1', port: 6881 },
    { host: '::1', port: 51413 },
  ]);
  t.deepEqual(m.webSeeds, ['http://127.0.0.1:8080/f']);
});

test('parses a base32 btih (either case)', (t) => {
  const b32 = base32(Buffer.from(HEX, 'hex'));
  t.is(b32.length, 32);
  t.is(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHashHex, HEX);
  t.is(parseMagnet(`MAGNET:?xt=URN:BTIH:${b32.toLowerCase()}`).infoHashHex, HEX);
  const m = parseMagnet(`magnet:?xt=urn:btih:${b32}`);
  t.is(m.name, undefined);
  t.deepEqual(m.trackers, []);
});

const bad: [string, string, string][] = [
  ['not a magnet', `http://x/?xt=urn:btih:${HEX}`, 'ERR_MAGNET_BAD_URI'],
  ['no xt', 'magnet:?dn=x', 'ERR_MAGNET_NO_INFOHASH'],
  ['v2-only', `magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}`, 'ERR_MAGNET_NO_INFOHASH'],
  ['short hex', `magnet:?xt=urn:btih:${HEX.slice(1)}`, 'ERR_MAGNET_BAD_INFOHASH'],
  ['non-hex', `magnet:?xt=urn:btih:${'g'.repeat(40)}`, 'ERR_MAGNET_BAD_INFOHASH'],
  ['bad base32', `magnet:?xt=urn:btih:${'1'.repeat(32)}`, 'ERR_MAGNET_BAD_INFOHASH'],
  ['conflicting btih', `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, 'ERR_MAGNET_BAD_INFOHASH'],
  ['bad escape', `magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, 'ERR_MAGNET_BAD_URI'],
  ['peer without port', `magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1`, 'ERR_MAGNET_BAD_PEER'],
  ['peer port 0', `magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1:0`, 'ERR_MAGNET_BAD_PEER'],
  ['peer port too big', `magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1:65536`, 'ERR_MAGNET_BAD_PEER'],
  ['unbracketed IPv6 peer', `magnet:?xt=urn:btih:${HEX}&x.pe=::1:80`, 'ERR_MAGNET_BAD_PEER'],
];

for (const [what, uri, code] of bad) {
  test(`rejects ${what} with ${code}`, (t) => {
    const err = t.throws(() => parseMagnet(uri), { instanceOf: MagnetError });
    t.is(err?.code, code);
  });
}

test('toMagnet -> parseMagnet round trip', async (t) => {
  const { meta } = await createMetainfo({
    content: { name: 'a & b=c.mp4', data: new Uint8Array(1000) },
    announceList: [
      ['http://127.0.0.1:1/announce?key=a&x=1', 'udp://127.0.0.1:2'],
      ['http://127.0.0.1:1/announce?key=a&x=1'],
    ],
    urlList: ['http://127.0.0.1:8080/a%20b'],
  });
  const uri = toMagnet(meta);
  const m = parseMagnet(uri);
  t.deepEqual(m.infoHash, meta.infoHash);
  t.is(m.name, 'a & b=c.mp4');
  t.deepEqual(m.trackers, ['http://127.0.0.1:1/announce?key=a&x=1', 'udp://127.0.0.1:2']);
  t.deepEqual(m.webSeeds, ['http://127.0.0.1:8080/a%20b']);
});
