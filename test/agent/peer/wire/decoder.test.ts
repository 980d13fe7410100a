import test from 'ava';
import { extensionKind, MessageStats } from '../../../../agent/peer/accounting/message-stats.js';
import { encode } from '../../../../agent/peer/bencode/index.js';
import { Random } from '../../../../agent/peer/random.js';
import {
  BLOCK_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_REQUEST_LENGTH,
  MessageId,
} from '../../../../agent/peer/wire/constants.js';
import { WireDecoder } from '../../../../agent/peer/wire/decoder.js';
import {
  CHOKE_FRAME,
  encodeAllowedFast,
  encodeBitfield,
  encodeBlockFrame,
  encodeExtended,
  encodeHave,
  encodePort,
  encodeSuggest,
  HAVE_ALL_FRAME,
  HAVE_NONE_FRAME,
  INTERESTED_FRAME,
  KEEPALIVE_FRAME,
  NOT_INTERESTED_FRAME,
  PIECE_HEADER_LENGTH,
  UNCHOKE_FRAME,
  writePieceHeader,
} from '../../../../agent/peer/wire/encoder.js';
import { ProtocolError } from '../../../../agent/peer/wire/errors.js';
import { type SinkPolicy, WireRecorder } from '../../../support/wire-recorder.js';

/** 20 pieces: a 3-byte bitfield. */
const PIECE_COUNT = 20;
const BITFIELD = Buffer.from([0xff, 0x0f, 0xa0]);

function pieceFrame(index: number, begin: number, block: Uint8Array): Buffer {
  const frame = Buffer.alloc(PIECE_HEADER_LENGTH + block.length);
  writePieceHeader(frame, 0, index, begin, block.length);
  frame.set(block, PIECE_HEADER_LENGTH);
  return frame;
}

function unknownFrame(id: number, payload: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(1 + payload.length, 0);
  frame[4] = id;
  frame.set(payload, 5);
  return frame;
}

/** A header alone: the length prefix and the id. */
function header(length: number, id: number): Buffer {
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(length, 0);
  frame[4] = id;
  return frame;
}

interface Sample {
  readonly frame: Buffer;
  /** The event the recorder must log for it. */
  readonly event: readonly (string | number | boolean | null)[];
  /** Accounting kind name. */
  readonly kind: string;
}

const BLOCK = Buffer.from(new Random('decoder-block').fill(new Uint8Array(37)));
const EXT_HANDSHAKE = encode({ m: { ut_metadata: 3 }, v: 'test' });
const UT_METADATA_ID = 3;

/** One frame of every message type the decoder knows, built by the encoder. */
const SAMPLES: readonly Sample[] = [
  { frame: KEEPALIVE_FRAME, event: ['keepalive'], kind: 'keepalive' },
  { frame: CHOKE_FRAME, event: ['choke'], kind: 'choke' },
  { frame: UNCHOKE_FRAME, event: ['unchoke'], kind: 'unchoke' },
  { frame: INTERESTED_FRAME, event: ['interested'], kind: 'interested' },
  { frame: NOT_INTERESTED_FRAME, event: ['not_interested'], kind: 'not_interested' },
  { frame: encodeHave(19), event: ['have', 19], kind: 'have' },
  { frame: encodeBitfield(BITFIELD), event: ['bitfield', BITFIELD.toString('hex')], kind: 'bitfield' },
  {
    frame: encodeBlockFrame(MessageId.request, 3, BLOCK_LENGTH, BLOCK_LENGTH),
    event: ['request', 3, BLOCK_LENGTH, BLOCK_LENGTH],
    kind: 'request',
  },
  {
    frame: pieceFrame(2, 100, BLOCK),
    event: ['piece', 2, 100, BLOCK.length, BLOCK.toString('hex'), true],
    kind: 'piece',
  },
  { frame: pieceFrame(4, 7, Buffer.alloc(0)), event: ['piece', 4, 7, 0, '', true], kind: 'piece' },
  {
    frame: encodeBlockFrame(MessageId.cancel, 0xfffffffe, 0, 1),
    event: ['cancel', 0xfffffffe, 0, 1],
    kind: 'cancel',
  },
  { frame: encodePort(6881), event: ['port', 6881], kind: 'port' },
  { frame: encodeSuggest(5), event: ['suggest', 5], kind: 'suggest' },
  { frame: HAVE_ALL_FRAME, event: ['have_all'], kind: 'have_all' },
  { frame: HAVE_NONE_FRAME, event: ['have_none'], kind: 'have_none' },
  {
    frame: encodeBlockFrame(MessageId.reject, 1, 2 * BLOCK_LENGTH, 1234),
    event: ['reject', 1, 2 * BLOCK_LENGTH, 1234],
    kind: 'reject',
  },
  { frame: encodeAllowedFast(4), event: ['allowed_fast', 4], kind: 'allowed_fast' },
  {
    frame: encodeExtended(0, EXT_HANDSHAKE),
    event: ['extended', 0, EXT_HANDSHAKE.toString('hex')],
    kind: 'extended_handshake',
  },
  {
    frame: encodeExtended(UT_METADATA_ID, Buffer.from('abc')),
    event: ['extended', UT_METADATA_ID, Buffer.from('abc').toString('hex')],
    kind: 'ext:ut_metadata',
  },
  { frame: encodeExtended(9, Buffer.alloc(0)), event: ['extended', 9, ''], kind: 'ext:unknown' },
  {
    frame: unknownFrame(0x42, Buffer.from('zz')),
    event: ['unknown', 0x42, Buffer.from('zz').toString('hex')],
    kind: 'unknown',
  },
  { frame: unknownFrame(0xff, Buffer.alloc(0)), event: ['unknown', 0xff, ''], kind: 'unknown' },
];

const STREAM = Buffer.concat(SAMPLES.map((s) => s.frame));
const EXPECTED = SAMPLES.map((s) => s.event);
const EXPECTED_JSON = JSON.stringify(EXPECTED);

function makeDecoder(
  sinkFor?: SinkPolicy,
  stats?: MessageStats,
  maxUnknownLength?: number,
): { decoder: WireDecoder; recorder: WireRecorder } {
  const recorder = new WireRecorder(sinkFor);
  const decoder = new WireDecoder(recorder, { pieceCount: PIECE_COUNT, stats, maxUnknownLength });
  decoder.extensionKindOf = (id) =>
    id === UT_METADATA_ID ? extensionKind('ut_metadata') : extensionKind('unknown');
  return { decoder, recorder };
}

/** Decodes `stream` cut at `cuts` (ascending offsets); returns the events as JSON. */
function decodeCut(stream: Buffer, cuts: readonly number[]): { json: string; buffered: number } {
  const { decoder, recorder } = makeDecoder();
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    // Copies, so the decoder never gets two views of one allocation by accident.
    decoder.push(Buffer.from(stream.subarray(from, cut)));
    from = cut;
  }
  return { json: JSON.stringify(recorder.events), buffered: decoder.buffered };
}

test('every message type decodes from one whole chunk', (t) => {
  const { decoder, recorder } = makeDecoder();
  decoder.push(STREAM);
  t.deepEqual(recorder.events, EXPECTED);
  t.is(decoder.buffered, 0);
});

test('every message type decodes when fed byte by byte', (t) => {
  const { decoder, recorder } = makeDecoder();
  for (let i = 0; i < STREAM.length; i++) decoder.push(STREAM.subarray(i, i + 1));
  t.deepEqual(recorder.events, EXPECTED);
  t.is(decoder.buffered, 0);
});

test('split-point sweep: the stream cut at every offset decodes the same', (t) => {
  const bad: number[] = [];
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const { json, buffered } = decodeCut(STREAM, [cut]);
    if (json !== EXPECTED_JSON || buffered !== 0) bad.push(cut);
  }
  t.deepEqual(bad, [], 'cut offsets that decoded differently');
});

test('split-point sweep: the stream cut at every pair of offsets decodes the same', (t) => {
  // Every pair over the whole stream is ~60k decodes: stride the second cut to stay fast while
  // still crossing every frame boundary with the first.
  const bad: string[] = [];
  let runs = 0;
  for (let a = 0; a <= STREAM.length; a++) {
    for (let b = a; b <= STREAM.length; b += 7) {
      runs++;
      const { json, buffered } = decodeCut(STREAM, [a, b]);
      if (json !== EXPECTED_JSON || buffered !== 0) bad.push(`${a},${b}`);
    }
  }
  t.true(runs > 1000);
  t.deepEqual(bad, []);
});

test('piece data is copied into the returned buffer at `begin`, across chunk boundaries', (t) => {
  const rng = new Random('decoder-piece');
  const block = Buffer.from(rng.fill(new Uint8Array(MAX_REQUEST_LENGTH)));
  const begin = 3 * BLOCK_LENGTH;
  const frame = Buffer.concat([pieceFrame(9, begin, block), encodeHave(1)]);
  for (let round = 0; round < 20; round++) {
    const sinks: Buffer[] = [];
    const { decoder, recorder } = makeDecoder((_i, b, length) => {
      const sink = Buffer.alloc(b + length + 16, 0xee);
      sinks.push(sink);
      return sink;
    });
    let at = 0;
    // Random chunk sizes, from single bytes to most of the frame.
    while (at < frame.length) {
      const n = 1 + rng.int(round % 2 === 0 ? 40_000 : 11);
      decoder.push(frame.subarray(at, at + n));
      at += n;
    }
    t.is(sinks.length, 1);
    t.deepEqual(recorder.events[1], ['have', 1]);
    const [kind, index, b, length, , intact] = recorder.events[0];
    t.deepEqual([kind, index, b, length, intact], ['piece', 9, begin, block.length, true]);
    t.true(sinks[0].subarray(begin, begin + block.length).equals(block));
  }
});

test('a null target discards the block and decoding carries on', (t) => {
  const starts: Array<[number, number, number]> = [];
  const { decoder, recorder } = makeDecoder((index, begin, length) => {
    starts.push([index, begin, length]);
    return null;
  });
  const block = Buffer.alloc(BLOCK_LENGTH, 7);
  const stream = Buffer.concat([pieceFrame(1, 0, block), encodeHave(3), pieceFrame(2, BLOCK_LENGTH, block)]);
  for (let i = 0; i < stream.length; i += 1000) decoder.push(stream.subarray(i, i + 1000));
  t.deepEqual(starts, [
    [1, 0, BLOCK_LENGTH],
    [2, BLOCK_LENGTH, BLOCK_LENGTH],
  ]);
  t.deepEqual(recorder.events, [
    ['piece', 1, 0, BLOCK_LENGTH, null, true],
    ['have', 3],
    ['piece', 2, BLOCK_LENGTH, BLOCK_LENGTH, null, true],
  ]);
  t.is(decoder.buffered, 0);
});

test('onPieceStart is called once the 8-byte piece header is in, before the block arrives', (t) => {
  const starts: number[] = [];
  const { decoder, recorder } = makeDecoder((index, begin, length) => {
    starts.push(index);
    return Buffer.alloc(begin + length);
  });
  const frame = pieceFrame(5, 0, Buffer.alloc(100, 1));
  decoder.push(frame.subarray(0, PIECE_HEADER_LENGTH - 1));
  t.deepEqual(starts, []);
  decoder.push(frame.subarray(PIECE_HEADER_LENGTH - 1, PIECE_HEADER_LENGTH));
  t.deepEqual(starts, [5]);
  t.deepEqual(recorder.events, []);
  decoder.push(frame.subarray(PIECE_HEADER_LENGTH));
  t.is(recorder.events.length, 1);
});

// ---- caps ----

const FIXED_PAYLOAD: Record<number, number> = {
  [MessageId.choke]: 0,
  [MessageId.unchoke]: 0,
  [MessageId.interested]: 0,
  [MessageId.notInterested]: 0,
  [MessageId.have]: 4,
  [MessageId.request]: 12,
  [MessageId.cancel]: 12,
  [MessageId.port]: 2,
  [MessageId.suggest]: 4,
  [MessageId.haveAll]: 0,
  [MessageId.haveNone]: 0,
  [MessageId.reject]: 12,
  [MessageId.allowedFast]: 4,
};

/** Largest accepted payload (after the id) of the variable-length ids. */
function variableLimit(id: number, maxUnknown: number): number {
  if (id === MessageId.piece) return 8 + MAX_REQUEST_LENGTH;
  if (id === MessageId.extended) return MAX_EXTENDED_MESSAGE_LENGTH;
  return maxUnknown;
}

function pushError(decoder: WireDecoder, chunk: Buffer): unknown {
  try {
    decoder.push(chunk);
    return undefined;
  } catch (err) {
    return err;
  }
}

test('a huge length of any id is refused from the 5-byte header alone', (t) => {
  for (let id = 0; id < 256; id++) {
    for (const length of [0xffffffff, 0x7fffffff, 16 * 1_048_576]) {
      const { decoder, recorder } = makeDecoder();
      // The length prefix alone is not enough to judge: the id decides the cap.
      decoder.push(header(length, id).subarray(0, 4));
      const err = pushError(decoder, header(length, id).subarray(4));
      t.true(err instanceof ProtocolError, `id ${id} length ${length}`);
      const fixed = id in FIXED_PAYLOAD || id === MessageId.bitfield;
      t.is((err as ProtocolError).code, fixed ? 'ERR_BAD_MESSAGE' : 'ERR_MESSAGE_TOO_LARGE', `id ${id}`);
      t.deepEqual(recorder.events, []);
    }
  }
});

test('variable-length ids: exactly the cap is accepted, one byte more is ERR_MESSAGE_TOO_LARGE', (t) => {
  const maxUnknown = 1000;
  const variableIds = [MessageId.piece, MessageId.extended, 10, 11, 12, 0x12, 0x13, 0x15, 0x80, 0xff];
  for (const id of variableIds) {
    const limit = variableLimit(id, maxUnknown);
    const ok = makeDecoder(undefined, undefined, maxUnknown).decoder;
    t.is(pushError(ok, header(1 + limit, id)), undefined, `id ${id} at the cap`);
    const over = makeDecoder(undefined, undefined, maxUnknown).decoder;
    const err = pushError(over, header(2 + limit, id));
    t.true(err instanceof ProtocolError);
    t.is((err as ProtocolError).code, 'ERR_MESSAGE_TOO_LARGE', `id ${id} over the cap`);
    t.regex((err as Error).message, new RegExp(`message id ${id} of ${2 + limit} bytes`));
  }
});

test('the default cap for unknown ids is 64 KiB', (t) => {
  t.is(pushError(makeDecoder().decoder, header(1 + 65_536, 0x30)), undefined);
  const err = pushError(makeDecoder().decoder, header(2 + 65_536, 0x30));
  t.is((err as ProtocolError).code, 'ERR_MESSAGE_TOO_LARGE');
});

test('fixed-length messages of the wrong length are ERR_BAD_MESSAGE', (t) => {
  for (const [idText, payload] of Object.entries(FIXED_PAYLOAD)) {
    const id = Number(idText);
    const wrong = [payload + 1, payload + 8];
    if (payload > 0) wrong.push(payload - 1, 0);
    for (const w of wrong) {
      const { decoder, recorder } = makeDecoder();
      const err = pushError(decoder, header(1 + w, id));
      t.true(err instanceof ProtocolError);
      t.is((err as ProtocolError).code, 'ERR_BAD_MESSAGE', `id ${id} payload ${w}`);
      t.deepEqual(recorder.events, []);
    }
  }
});

test('a bitfield of the wrong length for the torrent is ERR_BAD_MESSAGE', (t) => {
  const expected = Math.ceil(PIECE_COUNT / 8);
  for (const w of [0, 1, expected - 1, expected + 1, 1000]) {
    const { decoder } = makeDecoder();
    const err = pushError(decoder, header(1 + w, MessageId.bitfield));
    t.is((err as ProtocolError).code, 'ERR_BAD_MESSAGE', `bitfield of ${w} bytes`);
    t.regex((err as Error).message, /bitfield/);
  }
  // The right length passes.
  t.is(pushError(makeDecoder().decoder, encodeBitfield(Buffer.alloc(expected))), undefined);
});

test('piece messages shorter than their header and extended messages without an id are ERR_BAD_MESSAGE', (t) => {
  for (let payload = 0; payload < 8; payload++) {
    const err = pushError(makeDecoder().decoder, header(1 + payload, MessageId.piece));
    t.is((err as ProtocolError).code, 'ERR_BAD_MESSAGE', `piece payload ${payload}`);
  }
  const err = pushError(makeDecoder().decoder, header(1, MessageId.extended));
  t.is((err as ProtocolError).code, 'ERR_BAD_MESSAGE');
});

test('unknown ids are skipped whole and decoding resumes after them', (t) => {
  const payload = Buffer.alloc(3000, 0x41);
  const stream = Buffer.concat([
    encodeHave(1),
    unknownFrame(0x30, payload),
    unknownFrame(0x99, Buffer.alloc(0)),
    encodeHave(2),
  ]);
  for (const step of [1, 13, 2999, stream.length]) {
    const { decoder, recorder } = makeDecoder();
    for (let i = 0; i < stream.length; i += step) decoder.push(stream.subarray(i, i + step));
    t.deepEqual(recorder.events, [
      ['have', 1],
      ['unknown', 0x30, payload.toString('hex')],
      ['unknown', 0x99, ''],
      ['have', 2],
    ]);
  }
});

test('a destroyed decoder ignores later bytes', (t) => {
  const { decoder, recorder } = makeDecoder();
  decoder.push(encodeHave(1).subarray(0, 6));
  decoder.destroy();
  decoder.push(STREAM);
  t.deepEqual(recorder.events, []);
  t.is(decoder.buffered, 0);
});

// ---- accounting ----

test('accounting: counts and wire bytes per kind, forwarded to the parent', (t) => {
  const parent = new MessageStats();
  const stats = new MessageStats(parent);
  const { decoder } = makeDecoder(undefined, stats);
  const rounds = 3;
  for (let r = 0; r < rounds; r++) {
    // Odd rounds byte by byte: accounting must not depend on how bytes arrive.
    if (r % 2 === 0) decoder.push(STREAM);
    else for (let i = 0; i < STREAM.length; i++) decoder.push(STREAM.subarray(i, i + 1));
  }
  const expected: Record<string, { count: number; bytes: number }> = {};
  for (const s of SAMPLES) {
    const e = (expected[s.kind] ??= { count: 0, bytes: 0 });
    e.count += rounds;
    e.bytes += rounds * s.frame.length;
  }
  t.deepEqual(stats.snapshot(), { in: expected, out: {} });
  t.deepEqual(parent.snapshot(), stats.snapshot());
  t.is(stats.bytesOf('in', ['piece']), rounds * (2 * PIECE_HEADER_LENGTH + BLOCK.length));
  let total = 0;
  for (const v of Object.values(stats.snapshot().in)) total += v.bytes;
  t.is(total, rounds * STREAM.length);
});

test('accounting: a message is counted only once it is complete', (t) => {
  const stats = new MessageStats();
  const { decoder } = makeDecoder(undefined, stats);
  const frame = pieceFrame(0, 0, Buffer.alloc(5000));
  decoder.push(frame.subarray(0, frame.length - 1));
  t.deepEqual(stats.snapshot().in, {});
  decoder.push(frame.subarray(frame.length - 1));
  t.deepEqual(stats.snapshot().in, { piece: { count: 1, bytes: frame.length } });
});

// ---- fuzz ----

const FUZZ_ITERATIONS = 1500;

/** Behaves like the torrent's sink check: only blocks that fit a 1 KiB piece get a buffer. */
const fuzzSink: SinkPolicy = (_index, begin, length) => (begin + length <= 1024 ? Buffer.alloc(1024) : null);

/** Pushes `input` in random chunks; returns the error thrown (if any). */
function fuzzDecode(rng: Random, input: Buffer): { err: unknown; stats: MessageStats; decoder: WireDecoder } {
  const stats = new MessageStats();
  const recorder = new WireRecorder(fuzzSink);
  const decoder = new WireDecoder(recorder, { pieceCount: PIECE_COUNT, stats, maxUnknownLength: 512 });
  let at = 0;
  try {
    while (at < input.length) {
      const n = 1 + rng.int(rng.chance(0.5) ? 8 : 400);
      decoder.push(input.subarray(at, at + n));
      at += n;
    }
  } catch (err) {
    return { err, stats, decoder };
  }
  return { err: undefined, stats, decoder };
}

/** Random frames, mostly of plausible lengths, with any id: they get past the length checks. */
function randomFrames(rng: Random): Buffer {
  const frames: Buffer[] = [];
  const count = 1 + rng.int(6);
  for (let i = 0; i < count; i++) {
    if (rng.chance(0.05)) {
      frames.push(Buffer.from(rng.fill(new Uint8Array(1 + rng.int(20)))));
      continue;
    }
    const id = rng.chance(0.8)
      ? rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20])!
      : rng.int(256);
    let length = rng.int(rng.chance(0.2) ? 600 : 20);
    if (rng.chance(0.9)) {
      if (id in FIXED_PAYLOAD) length = FIXED_PAYLOAD[id];
      else if (id === MessageId.bitfield) length = Math.ceil(PIECE_COUNT / 8);
      else if (id === MessageId.piece) length = 8 + rng.int(1100);
    }
    frames.push(unknownFrame(id, rng.fill(new Uint8Array(length))));
  }
  return Buffer.concat(frames);
}

function mutate(rng: Random, input: Buffer): Buffer {
  const out = [...input];
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(5)) {
      case 0:
        if (at < out.length) out[at] = rng.int(256);
        break;
      case 1:
        out.splice(at, 0, rng.int(256));
        break;
      case 2:
        out.splice(at, 1 + rng.int(4));
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

function checkFuzzRun(
  t: import('ava').ExecutionContext,
  label: string,
  input: Buffer,
  run: ReturnType<typeof fuzzDecode>,
): boolean {
  if (run.err !== undefined && !(run.err instanceof ProtocolError)) {
    t.fail(`${label}: ${String(run.err)} thrown for ${input.toString('hex').slice(0, 200)}`);
    return false;
  }
  let accounted = 0;
  for (const v of Object.values(run.stats.snapshot().in)) accounted += v.bytes;
  if (accounted + run.decoder.buffered > input.length) {
    t.fail(`${label}: accounted ${accounted} + buffered ${run.decoder.buffered} > ${input.length} bytes`);
    return false;
  }
  return true;
}

test(`fuzz: ${FUZZ_ITERATIONS} random byte streams only ever throw ProtocolError`, (t) => {
  const rng = new Random('decoder-fuzz-random');
  let rejected = 0;
  for (let i = 0; i < FUZZ_ITERATIONS; i++) {
    const input = rng.chance(0.3) ? Buffer.from(rng.fill(new Uint8Array(rng.int(300)))) : randomFrames(rng);
    const run = fuzzDecode(rng, input);
    if (!checkFuzzRun(t, `random #${i}`, input, run)) return;
    if (run.err !== undefined) rejected++;
  }
  // Both outcomes must occur, or the generator is not exercising the decoder.
  t.true(rejected > 50 && rejected < FUZZ_ITERATIONS - 50, `${rejected} rejected`);
});

test(`fuzz: ${FUZZ_ITERATIONS} mutated valid streams only ever throw ProtocolError`, (t) => {
  const rng = new Random('decoder-fuzz-mutate');
  let rejected = 0;
  for (let i = 0; i < FUZZ_ITERATIONS; i++) {
    const input = mutate(rng, STREAM);
    const run = fuzzDecode(rng, input);
    if (!checkFuzzRun(t, `mutation #${i}`, input, run)) return;
    if (run.err !== undefined) rejected++;
  }
  t.true(rejected > 50 && rejected < FUZZ_ITERATIONS - 50, `${rejected} rejected`);
});
