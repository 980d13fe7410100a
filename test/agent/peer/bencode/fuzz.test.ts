import test from 'ava';
import { BencodeError, decode, type Encodable, encode } from '../../../../agent/peer/bencode/index.js';
import { Random } from '../../../../agent/peer/random.js';

const ITERATIONS = 2000;
const SPECIAL_BYTES = [...Buffer.from('ilde:-0123456789')];

function sampleTorrent(rng: Random): Buffer {
  const pieces = rng.fill(new Uint8Array(20 * 12));
  return encode({
    announce: 'http://127.0.0.1:6969/announce',
    'announce-list': [['http://127.0.0.1:6969/announce'], ['udp://127.0.0.1:6969']],
    'creation date': 1_700_000_000,
    info: {
      files: [
        { length: 100_000, path: ['a', 'b.mp4'] },
        { length: 3, path: ['c.txt'] },
      ],
      name: 'sample',
      'piece length': 16_384,
      pieces,
      streaming: { bitrate: 8_000_000, duration: 60_000 },
    },
  });
}

function mutate(rng: Random, input: Buffer): Buffer {
  const out = [...input];
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(out.length + 1);
    const byte = rng.chance(0.6) ? rng.pick(SPECIAL_BYTES)! : rng.int(256);
    switch (rng.int(5)) {
      case 0:
        if (at < out.length) out[at] = byte;
        break;
      case 1:
        out.splice(at, 0, byte);
        break;
      case 2:
        out.splice(at, 1 + rng.int(3));
        break;
      case 3:
        out.length = Math.min(out.length, at);
        break;
      default: {
        const from = rng.int(out.length + 1);
        out.splice(at, 0, ...out.slice(from, from + rng.int(40)));
      }
    }
  }
  return Buffer.from(out);
}

test(`${ITERATIONS} seeded mutations of a torrent: only BencodeError, and whatever decodes is canonical`, (t) => {
  const rng = new Random('bencode-fuzz');
  const original = sampleTorrent(rng);
  let accepted = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(rng, original);
    let value: ReturnType<typeof decode>;
    try {
      value = decode(input);
    } catch (err) {
      if (!(err instanceof BencodeError)) {
        t.fail(`iteration ${i}: threw ${String(err)} for ${input.toString('latin1')}`);
        return;
      }
      if (err.offset < 0 || err.offset > input.length) {
        t.fail(`iteration ${i}: offset ${err.offset} outside input of ${input.length} bytes`);
        return;
      }
      continue;
    }
    accepted++;
    // The strict decoder accepts only canonical encodings, so re-encoding reproduces the input.
    if (!encode(value as Encodable).equals(input)) {
      t.fail(`iteration ${i}: accepted a non-canonical encoding ${input.toString('latin1')}`);
      return;
    }
  }
  t.log(`${accepted} of ${ITERATIONS} mutants still decoded`);
  t.pass();
});

test('decodes a 2 MiB torrent quickly (no super-linear cost)', (t) => {
  const rng = new Random('bencode-speed');
  const big = encode({
    info: {
      files: Array.from({ length: 5_000 }, (_, i) => ({ length: i * 1000, path: ['dir', `file-${i}.bin`] })),
      name: 'big',
      'piece length': 262_144,
      pieces: rng.fill(new Uint8Array(20 * 100_000)),
    },
  });
  t.true(big.length > 2 * 1024 * 1024);
  decode(big); // warm-up (JIT)
  const runs = 5;
  const started = performance.now();
  for (let i = 0; i < runs; i++) decode(big);
  const perDecodeMs = (performance.now() - started) / runs;
  t.log(`${(big.length / 1024 / 1024).toFixed(1)} MiB in ${perDecodeMs.toFixed(2)} ms`);
  t.true(perDecodeMs < 100, `decode took ${perDecodeMs} ms`);
});
