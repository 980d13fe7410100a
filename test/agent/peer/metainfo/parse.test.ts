import { createHash } from 'node:crypto';
import test from 'ava';
import { BencodeError, type Encodable, encode } from '../../../../agent/peer/bencode/index.js';
import { MetainfoError, parseMetainfo } from '../../../../agent/peer/metainfo/index.js';
import { Random } from '../../../../agent/peer/random.js';

const PIECE_LENGTH = 16_384;
const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();
const hashes = (count: number): Buffer => Buffer.alloc(20 * count, 0xab);

/** A torrent whose info dict bytes we write ourselves, so the expected infohash is independent. */
function torrentWithRawInfo(rawInfo: Buffer, outer: Record<string, Encodable> = {}): Buffer {
  const before = encode({ announce: 'http://127.0.0.1:6969/announce', ...outer }).subarray(0, -1);
  return Buffer.concat([before, Buffer.from('4:info'), rawInfo, Buffer.from('e')]);
}

function singleInfo(
  extra: Record<string, Encodable | undefined> = {},
): Record<string, Encodable | undefined> {
  return { length: 40_000, name: 'movie.mp4', 'piece length': PIECE_LENGTH, pieces: hashes(3), ...extra };
}

function multiInfo(files: Encodable[], extra: Record<string, Encodable | undefined> = {}) {
  return { files, name: 'album', 'piece length': PIECE_LENGTH, pieces: hashes(1), ...extra };
}

function parseInfo(info: Record<string, Encodable | undefined>, source?: string) {
  return parseMetainfo(encode({ info }), source);
}

function rejects(
  t: import('ava').ExecutionContext,
  run: () => unknown,
  code: string,
  keyPath?: string,
): MetainfoError | undefined {
  const err = t.throws(run, { instanceOf: MetainfoError });
  t.is(err?.code, code, err?.message);
  if (keyPath !== undefined) {
    t.is(err?.keyPath, keyPath);
    t.true(err?.message.includes(keyPath), err?.message);
  }
  return err;
}

test('single-file torrent: every field', (t) => {
  const rawInfo = encode(singleInfo({ private: 1 }));
  const torrent = torrentWithRawInfo(rawInfo, {
    comment: 'hello',
    'created by': 'tester/1',
    'creation date': 1_700_000_000,
    'url-list': ['http://127.0.0.1:8080/movie.mp4'],
  });
  const meta = parseMetainfo(torrent);
  t.deepEqual(meta.infoHash, sha1(rawInfo));
  t.is(meta.infoHashHex, sha1(rawInfo).toString('hex'));
  t.deepEqual(meta.infoBuffer, rawInfo);
  t.is(meta.name, 'movie.mp4');
  t.is(meta.pieceLength, PIECE_LENGTH);
  t.is(meta.length, 40_000);
  t.is(meta.pieceCount, 3);
  t.is(meta.pieceHashes.length, 60);
  t.deepEqual(meta.files, [{ path: ['movie.mp4'], length: 40_000, offset: 0 }]);
  t.false(meta.multiFile);
  t.true(meta.private);
  t.is(meta.announce, 'http://127.0.0.1:6969/announce');
  t.deepEqual(meta.announceList, [['http://127.0.0.1:6969/announce']]);
  t.deepEqual(meta.urlList, ['http://127.0.0.1:8080/movie.mp4']);
  t.is(meta.comment, 'hello');
  t.is(meta.createdBy, 'tester/1');
  t.is(meta.creationDate, 1_700_000_000);
  t.is(meta.streaming, undefined);
});

test('multi-file torrent: files, offsets and piece count', (t) => {
  const meta = parseInfo({
    ...multiInfo([
      { length: 10_000, path: ['cd1', 'a.flac'] },
      { length: 0, path: ['empty'] },
      { length: 30_000, path: ['cd2', 'b.flac'] },
    ]),
    pieces: hashes(3),
  });
  t.true(meta.multiFile);
  t.is(meta.length, 40_000);
  t.deepEqual(
    meta.files.map((f) => [f.path.join('/'), f.length, f.offset]),
    [
      ['cd1/a.flac', 10_000, 0],
      ['empty', 0, 10_000],
      ['cd2/b.flac', 30_000, 10_000],
    ],
  );
  t.false(meta.private);
  t.deepEqual(meta.announceList, []);
  t.deepEqual(meta.urlList, []);
});

test('infohash is over the raw info bytes even when its keys are out of order', (t) => {
  // Valid bencode apart from key order (seen in real torrents): re-encoding would sort the keys.
  const rawInfo = Buffer.concat([
    Buffer.from('d4:name9:movie.mp412:piece lengthi16384e6:lengthi40000e6:pieces60:'),
    hashes(3),
    Buffer.from('7:unknowni1ee'),
  ]);
  const meta = parseMetainfo(torrentWithRawInfo(rawInfo));
  t.deepEqual(meta.infoHash, sha1(rawInfo));
  t.notDeepEqual(meta.infoHash, sha1(encode(singleInfo({ unknown: 1 }))));
  t.deepEqual(meta.infoBuffer, rawInfo);
  t.is(meta.length, 40_000);
});

test('infoBuffer and pieceHashes are views into the input, not copies', (t) => {
  const torrent = encode({ info: singleInfo() });
  const meta = parseMetainfo(torrent);
  t.is(meta.infoBuffer.buffer, torrent.buffer);
  t.is(meta.pieceHashes.buffer, torrent.buffer);
});

test('announce-list tiers, empty tiers dropped; url-list as a single string', (t) => {
  const meta = parseMetainfo(
    encode({
      announce: 'http://a/announce',
      'announce-list': [['http://a/announce', 'http://b/announce'], [], ['udp://c:1', '']],
      info: singleInfo(),
      'url-list': 'http://ws/file',
    }),
  );
  t.deepEqual(meta.announceList, [['http://a/announce', 'http://b/announce'], ['udp://c:1']]);
  t.deepEqual(meta.urlList, ['http://ws/file']);
});

test('name.utf-8 and path.utf-8 take precedence over legacy-charset names', (t) => {
  const meta = parseInfo({
    ...multiInfo([{ length: 5, path: [Buffer.from([0xe9])], 'path.utf-8': ['é'] }]),
    name: Buffer.from([0xff]),
    'name.utf-8': 'naïve',
  });
  t.is(meta.name, 'naïve');
  t.deepEqual(meta.files[0].path, ['é']);
});

test('streaming section is read and validated', (t) => {
  const meta = parseInfo(
    singleInfo({ streaming: { bitrate: 8_000_000, duration: 40, timestamps: [0, 10, 10] } }),
  );
  t.deepEqual(meta.streaming, { bitrateBps: 8_000_000, durationMs: 40, pieceTimestampsMs: [0, 10, 10] });
  const cbr = parseInfo(singleInfo({ streaming: { bitrate: 1000, duration: 320_000 } }));
  t.deepEqual(cbr.streaming, { bitrateBps: 1000, durationMs: 320_000 });
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { bitrate: 0, duration: 1 } })),
    'ERR_METAINFO_BAD_FIELD',
    'info.streaming.bitrate',
  );
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { bitrate: 1, duration: -5 } })),
    'ERR_METAINFO_BAD_FIELD',
    'info.streaming.duration',
  );
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { duration: 5 } })),
    'ERR_METAINFO_MISSING_KEY',
    'info.streaming.bitrate',
  );
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { bitrate: 1, duration: 40, timestamps: [0, 20, 10] } })),
    'ERR_METAINFO_BAD_FIELD',
    'info.streaming.timestamps[2]',
  );
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { bitrate: 1, duration: 40, timestamps: [0, 10] } })),
    'ERR_METAINFO_BAD_FIELD',
    'info.streaming.timestamps',
  );
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { bitrate: 1, duration: 40, timestamps: [0, 10, 41] } })),
    'ERR_METAINFO_BAD_FIELD',
    'info.streaming.timestamps[2]',
  );
  rejects(
    t,
    () => parseInfo(singleInfo({ streaming: { bitrate: 1, duration: 40, timestamps: [0, 'x', 1] } })),
    'ERR_METAINFO_BAD_FIELD',
    'info.streaming.timestamps[1]',
  );
});

const unsafe: [string, Record<string, Encodable | undefined>, string][] = [
  ['".." in a file path', multiInfo([{ length: 5, path: ['..', 'etc', 'passwd'] }]), 'info.files[0].path[0]'],
  ['"." in a file path', multiInfo([{ length: 5, path: ['a', '.'] }]), 'info.files[0].path[1]'],
  ['"/" in a component', multiInfo([{ length: 5, path: ['a/../../b'] }]), 'info.files[0].path[0]'],
  ['a NUL in a component', multiInfo([{ length: 5, path: ['a\0b'] }]), 'info.files[0].path[0]'],
  ['an empty component', multiInfo([{ length: 5, path: ['a', ''] }]), 'info.files[0].path[1]'],
  ['name ".."', singleInfo({ name: '..' }), 'info.name'],
  ['absolute name', singleInfo({ name: '/etc/passwd' }), 'info.name'],
  ['empty name', singleInfo({ name: '' }), 'info.name'],
];

for (const [what, info, keyPath] of unsafe) {
  test(`rejects ${what} as an unsafe path`, (t) => {
    rejects(t, () => parseInfo(info), 'ERR_METAINFO_UNSAFE_PATH', keyPath);
  });
}

const badFields: [string, Record<string, Encodable | undefined>, string, string][] = [
  ['piece length 0', singleInfo({ 'piece length': 0 }), 'ERR_METAINFO_BAD_FIELD', 'info.piece length'],
  [
    'negative piece length',
    singleInfo({ 'piece length': -16_384 }),
    'ERR_METAINFO_BAD_FIELD',
    'info.piece length',
  ],
  [
    'piece length over 64 MiB',
    singleInfo({ 'piece length': 128 * 1024 * 1024 }),
    'ERR_METAINFO_BAD_FIELD',
    'info.piece length',
  ],
  [
    'pieces not a multiple of 20',
    singleInfo({ pieces: Buffer.alloc(59) }),
    'ERR_METAINFO_BAD_FIELD',
    'info.pieces',
  ],
  ['too few piece hashes', singleInfo({ pieces: hashes(2) }), 'ERR_METAINFO_BAD_FIELD', 'info.pieces'],
  ['too many piece hashes', singleInfo({ pieces: hashes(4) }), 'ERR_METAINFO_BAD_FIELD', 'info.pieces'],
  ['negative length', singleInfo({ length: -1 }), 'ERR_METAINFO_BAD_FIELD', 'info.length'],
  ['zero total length', singleInfo({ length: 0, pieces: Buffer.alloc(0) }), 'ERR_METAINFO_BAD_FIELD', 'info'],
  ['name not a string', singleInfo({ name: 7 }), 'ERR_METAINFO_BAD_FIELD', 'info.name'],
  ['name not UTF-8', singleInfo({ name: Buffer.from([0xff, 0xfe]) }), 'ERR_METAINFO_BAD_FIELD', 'info.name'],
  ['length and files together', { ...singleInfo(), files: [] }, 'ERR_METAINFO_BAD_FIELD', 'info'],
  ['private = 2', singleInfo({ private: 2 }), 'ERR_METAINFO_BAD_FIELD', 'info.private'],
  ['empty file list', multiInfo([]), 'ERR_METAINFO_BAD_FIELD', 'info.files'],
  [
    'file entry not a dict',
    multiInfo([{ length: 1, path: ['a'] }, 5]),
    'ERR_METAINFO_BAD_FIELD',
    'info.files[1]',
  ],
  [
    'negative file length',
    multiInfo([
      { length: 1, path: ['a'] },
      { length: -1, path: ['b'] },
    ]),
    'ERR_METAINFO_BAD_FIELD',
    'info.files[1].length',
  ],
  ['empty path list', multiInfo([{ length: 1, path: [] }]), 'ERR_METAINFO_BAD_FIELD', 'info.files[0].path'],
  [
    'path component not a string',
    multiInfo([{ length: 1, path: ['a', 3] }]),
    'ERR_METAINFO_BAD_FIELD',
    'info.files[0].path[1]',
  ],
  [
    'duplicate file path',
    multiInfo([
      { length: 1, path: ['a'] },
      { length: 1, path: ['a'] },
    ]),
    'ERR_METAINFO_BAD_FIELD',
    'info.files[1].path',
  ],
  [
    'a file that is also a directory',
    multiInfo([
      { length: 1, path: ['a'] },
      { length: 1, path: ['a', 'b'] },
    ]),
    'ERR_METAINFO_BAD_FIELD',
    'info.files',
  ],
  ['missing name', singleInfo({ name: undefined }), 'ERR_METAINFO_MISSING_KEY', 'info.name'],
  [
    'missing piece length',
    singleInfo({ 'piece length': undefined }),
    'ERR_METAINFO_MISSING_KEY',
    'info.piece length',
  ],
  ['missing pieces', singleInfo({ pieces: undefined }), 'ERR_METAINFO_MISSING_KEY', 'info.pieces'],
  ['neither length nor files', singleInfo({ length: undefined }), 'ERR_METAINFO_MISSING_KEY', 'info'],
  ['missing file length', multiInfo([{ path: ['a'] }]), 'ERR_METAINFO_MISSING_KEY', 'info.files[0].length'],
];

for (const [what, info, code, keyPath] of badFields) {
  test(`rejects ${what} (${code} at ${keyPath})`, (t) => {
    rejects(t, () => parseInfo(info), code, keyPath);
  });
}

test('rejects top-level faults', (t) => {
  rejects(t, () => parseMetainfo(encode({ announce: 'x' })), 'ERR_METAINFO_MISSING_KEY', 'info');
  rejects(t, () => parseMetainfo(encode({ info: 5 })), 'ERR_METAINFO_BAD_FIELD', 'info');
  rejects(t, () => parseMetainfo(encode([1, 2])), 'ERR_METAINFO_BAD_FIELD');
  rejects(
    t,
    () => parseMetainfo(encode({ announce: 5, info: singleInfo() })),
    'ERR_METAINFO_BAD_FIELD',
    'announce',
  );
  rejects(
    t,
    () => parseMetainfo(encode({ 'announce-list': [['a'], 'b'], info: singleInfo() })),
    'ERR_METAINFO_BAD_FIELD',
    'announce-list[1]',
  );
  rejects(
    t,
    () => parseMetainfo(encode({ 'creation date': 'today', info: singleInfo() })),
    'ERR_METAINFO_BAD_FIELD',
    'creation date',
  );
});

test('bencode faults are wrapped with the source and the BencodeError as cause', (t) => {
  const torrent = encode({ info: singleInfo() });
  const err = rejects(
    t,
    () => parseMetainfo(torrent.subarray(0, 50), '/data/broken.torrent'),
    'ERR_METAINFO_BENCODE',
  );
  t.true(err?.cause instanceof BencodeError);
  t.is((err?.cause as BencodeError | undefined)?.code, 'ERR_BENCODE_TRUNCATED');
  t.true(err?.message.startsWith('/data/broken.torrent: '), err?.message);
  t.regex(err?.message ?? '', /offset 50/);
  rejects(t, () => parseMetainfo(Buffer.alloc(0)), 'ERR_METAINFO_BENCODE');
  rejects(t, () => parseMetainfo(Buffer.concat([torrent, Buffer.from('x')])), 'ERR_METAINFO_BENCODE');
});

test('messages name the source file and the key path', (t) => {
  const err = t.throws(
    () =>
      parseInfo(
        multiInfo([
          { length: 1, path: ['ok'] },
          { length: 1, path: ['..'] },
        ]),
        '/tmp/evil.torrent',
      ),
    { instanceOf: MetainfoError },
  );
  t.is(err?.source, '/tmp/evil.torrent');
  t.true(err?.message.startsWith('/tmp/evil.torrent: info.files[1].path[0]: '), err?.message);
});

test('parses a 2 MiB torrent with 5000 files quickly', (t) => {
  // 5000 files of 320 KiB in 16 KiB pieces: 100 000 piece hashes, about 2 MiB of torrent.
  const files = Array.from({ length: 5_000 }, (_, i) => ({
    length: 327_680,
    path: ['dir', `file-${i}.bin`],
  }));
  const pieceLength = 16_384;
  const count = (5_000 * 327_680) / pieceLength;
  const torrent = encode({
    info: {
      files,
      name: 'big',
      'piece length': pieceLength,
      pieces: new Random('parse-speed').fill(new Uint8Array(20 * count)),
    },
  });
  parseMetainfo(torrent); // warm-up (JIT)
  const runs = 5;
  const started = performance.now();
  for (let i = 0; i < runs; i++) parseMetainfo(torrent);
  const perParseMs = (performance.now() - started) / runs;
  t.log(
    `${(torrent.length / 1024 / 1024).toFixed(2)} MiB, ${count} pieces, ${files.length} files: ${perParseMs.toFixed(2)} ms`,
  );
  t.true(perParseMs < 250, `parse took ${perParseMs} ms`);
});

test('1000 seeded mutations of a torrent: parseMetainfo throws only MetainfoError', (t) => {
  const rng = new Random('metainfo-fuzz');
  const original = encode({
    announce: 'http://127.0.0.1:6969/announce',
    info: multiInfo(
      [
        { length: 20_000, path: ['a', 'b.mp4'] },
        { length: 12_000, path: ['c.txt'] },
      ],
      { pieces: hashes(2), streaming: { bitrate: 8_000, duration: 10, timestamps: [0, 5] } },
    ),
  });
  t.notThrows(() => parseMetainfo(original));
  let accepted = 0;
  for (let i = 0; i < 1000; i++) {
    const bytes = [...original];
    for (let e = 1 + rng.int(3); e > 0; e--) {
      const at = rng.int(bytes.length);
      if (rng.chance(0.5)) bytes[at] = rng.pick([...Buffer.from('ilde:-0123456789./')])!;
      else bytes.splice(at, rng.int(4));
    }
    try {
      parseMetainfo(Buffer.from(bytes));
      accepted++;
    } catch (err) {
      if (!(err instanceof MetainfoError)) {
        t.fail(`mutant ${i} threw ${String(err)}`);
        return;
      }
    }
  }
  t.log(`${accepted} of 1000 mutants still parsed`);
  t.pass();
});
