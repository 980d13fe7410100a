import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  describeMetainfo,
  OutputExistsError,
  runTorrentCreate,
  runTorrentInspect,
  torrentCommand,
  UsageError,
} from '../../../agent/cli/torrent-command.js';
import { MetainfoError, parseMagnet, parseMetainfo } from '../../../agent/peer/metainfo/index.js';
import { UnitError } from '../../../agent/peer/units.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seedstream-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function content(t: ExecutionContext): Promise<{ dir: string; file: string; data: Buffer }> {
  const dir = await tempDir(t);
  const data = Buffer.alloc(600_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const file = join(dir, 'movie.mp4');
  await writeFile(file, data);
  return { dir, file, data };
}

test('runTorrentCreate parses units and writes a torrent that parses back', async (t) => {
  const { dir, file, data } = await content(t);
  const out = join(dir, 'movie.torrent');
  const { outPath, meta } = await runTorrentCreate({
    input: file,
    out,
    pieceLength: '256KiB',
    announce: ['http://127.0.0.1:6969/announce,udp://127.0.0.1:6969', 'http://127.0.0.1:7070/announce'],
    webSeed: ['http://127.0.0.1:8080/movie.mp4'],
    comment: 'c',
    private: true,
    bitrate: '8Mbps',
    duration: '1.5s',
  });
  t.is(outPath, out);
  const written = parseMetainfo(await readFile(out));
  t.deepEqual(written, { ...meta, infoBuffer: written.infoBuffer, pieceHashes: written.pieceHashes });
  t.is(written.pieceLength, 262_144);
  t.is(written.pieceCount, 3);
  t.deepEqual(
    written.pieceHashes.subarray(0, 20),
    createHash('sha1').update(data.subarray(0, 262_144)).digest(),
  );
  t.deepEqual(written.announceList, [
    ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969'],
    ['http://127.0.0.1:7070/announce'],
  ]);
  t.is(written.announce, 'http://127.0.0.1:6969/announce');
  t.deepEqual(written.urlList, ['http://127.0.0.1:8080/movie.mp4']);
  t.true(written.private);
  t.deepEqual(written.streaming, { bitrateBps: 8_000_000, durationMs: 1500 });
});

test('runTorrentCreate refuses to overwrite without force; force overwrites', async (t) => {
  const { dir, file } = await content(t);
  const out = join(dir, 'x.torrent');
  await writeFile(out, 'precious');
  const err = await t.throwsAsync(runTorrentCreate({ input: file, out }), { instanceOf: OutputExistsError });
  t.is(err?.code, 'ERR_OUTPUT_EXISTS');
  t.is(await readFile(out, 'utf8'), 'precious');
  await runTorrentCreate({ input: file, out, force: true });
  t.is(parseMetainfo(await readFile(out)).name, 'movie.mp4');
});

test('runTorrentCreate option errors are typed and name the option', async (t) => {
  const { dir, file } = await content(t);
  const out = join(dir, 'x.torrent');
  const unit = await t.throwsAsync(runTorrentCreate({ input: file, out, pieceLength: '256 parsecs' }), {
    instanceOf: UnitError,
  });
  t.regex(unit?.message ?? '', /^--piece-length: /);
  await t.throwsAsync(runTorrentCreate({ input: file, out, bitrate: '8Mbps' }), { instanceOf: UsageError });
  const missing = await t.throwsAsync(runTorrentCreate({ input: join(dir, 'nope.mp4'), out }), {
    instanceOf: MetainfoError,
  });
  t.is(missing?.code, 'ERR_METAINFO_NOT_FOUND');
  t.true(missing?.message.startsWith(`${join(dir, 'nope.mp4')}: `), missing?.message);
});

test('runTorrentInspect: missing and corrupt files give typed errors naming the file', async (t) => {
  const dir = await tempDir(t);
  const missing = await t.throwsAsync(runTorrentInspect({ file: join(dir, 'none.torrent') }), {
    instanceOf: MetainfoError,
  });
  t.is(missing?.code, 'ERR_METAINFO_NOT_FOUND');
  t.true(missing?.message.startsWith(join(dir, 'none.torrent')));
  await writeFile(join(dir, 'bad.torrent'), 'd4:infoi1e');
  const bad = await t.throwsAsync(runTorrentInspect({ file: join(dir, 'bad.torrent') }), {
    instanceOf: MetainfoError,
  });
  t.is(bad?.code, 'ERR_METAINFO_BENCODE');
  t.true(bad?.message.startsWith(`${join(dir, 'bad.torrent')}: `), bad?.message);
});

test('torrent create + inspect through commander (human and --json)', async (t) => {
  const { dir } = await content(t);
  await mkdir(join(dir, 'show', 'extras'), { recursive: true });
  await writeFile(join(dir, 'show', 'a.mp4'), Buffer.alloc(70_000, 1));
  await writeFile(join(dir, 'show', 'extras', 'b.txt'), 'bonus');
  const out = join(dir, 'show.torrent');
  let printed = '';
  const io = { stdout: (text: string) => void (printed += text) };

  await torrentCommand(io).parseAsync(
    [
      'create',
      join(dir, 'show'),
      '--out',
      out,
      '--piece-length',
      '16KiB',
      '--announce',
      'http://127.0.0.1:6969/a',
    ],
    { from: 'user' },
  );
  t.true(printed.startsWith(`${out}\n`));
  const meta = parseMetainfo(await readFile(out));
  t.is(meta.pieceCount, 5);

  printed = '';
  await torrentCommand(io).parseAsync(['inspect', out], { from: 'user' });
  t.is(printed, describeMetainfo(meta));
  for (const expected of [
    'show',
    meta.infoHashHex,
    '16 KiB (16384 bytes)',
    'a.mp4',
    'extras/b.txt',
    'tier 1: http://127.0.0.1:6969/a',
    'streaming:     none',
    'magnet:?xt=urn:btih:',
  ]) {
    t.true(printed.includes(expected), `summary lacks ${expected}:\n${printed}`);
  }

  printed = '';
  await torrentCommand(io).parseAsync(['inspect', out, '--json'], { from: 'user' });
  const json = JSON.parse(printed) as Record<string, unknown>;
  t.is(json.infoHash, meta.infoHashHex);
  t.is(json.length, 70_005);
  t.deepEqual(json.files, [
    { path: ['a.mp4'], length: 70_000, offset: 0 },
    { path: ['extras', 'b.txt'], length: 5, offset: 70_000 },
  ]);
  t.deepEqual(parseMagnet(json.magnet as string).infoHash, meta.infoHash);
});

test('--no-creation-date makes create reproducible; streaming shows in the summary', async (t) => {
  const { dir, file } = await content(t);
  const run = async (out: string): Promise<string> => {
    let printed = '';
    await torrentCommand({ stdout: (s) => void (printed += s) }).parseAsync(
      ['create', file, '-o', out, '--no-creation-date', '--bitrate', '8Mbps', '--duration', '1m30s'],
      { from: 'user' },
    );
    return printed;
  };
  const summary = await run(join(dir, 'a.torrent'));
  await run(join(dir, 'b.torrent'));
  t.deepEqual(await readFile(join(dir, 'a.torrent')), await readFile(join(dir, 'b.torrent')));
  t.true(summary.includes('8 Mbps, 1m30s (CBR)'), summary);
  t.is(parseMetainfo(await readFile(join(dir, 'a.torrent'))).creationDate, undefined);
});

test('inspect of a missing file rejects parseAsync with the typed error', async (t) => {
  const dir = await tempDir(t);
  const err = await t.throwsAsync(
    torrentCommand({ stdout: () => {} }).parseAsync(['inspect', join(dir, 'x.torrent')], { from: 'user' }),
    { instanceOf: MetainfoError },
  );
  t.is(err?.code, 'ERR_METAINFO_NOT_FOUND');
});
