import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createMetainfo, parseMetainfo } from '../../../../agent/peer/metainfo/index.js';
import { Random } from '../../../../agent/peer/random.js';

/* Cross-checks against libtorrent (an independent implementation), when its Python binding exists. */

const PYTHON = '/usr/bin/python3';
const PYTHON_TIMEOUT_MS = 60_000;
const hasLibtorrent =
  spawnSync(PYTHON, ['-c', 'import libtorrent'], { timeout: PYTHON_TIMEOUT_MS }).status === 0;
const ltTest = hasLibtorrent ? test : test.skip;
const note = hasLibtorrent ? '' : ' [skipped: python3 libtorrent module not available]';

function python(script: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', timeout: PYTHON_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

async function contentDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seedstream-lt-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'show');
  const rng = new Random('libtorrent-cross-check');
  await mkdir(join(root, 'season 1'), { recursive: true });
  await writeFile(join(root, 'season 1', 'ep1.mp4'), rng.fill(new Uint8Array(200_003)));
  await writeFile(join(root, 'season 1', 'ep2.mp4'), rng.fill(new Uint8Array(99_999)));
  await writeFile(join(root, 'notes.txt'), 'é naïve ünïcode\n');
  return root;
}

ltTest(`libtorrent computes our infohash for torrents we create${note}`, async (t) => {
  const root = await contentDir(t);
  const { torrent, meta } = await createMetainfo({
    path: root,
    pieceLength: 32_768,
    announce: 'http://127.0.0.1:6969/announce',
    urlList: ['http://127.0.0.1:8080/'],
    private: true,
    streaming: { bitrateBps: 8_000_000, durationMs: 300 },
  });
  const single = await createMetainfo({ path: join(root, 'notes.txt'), creationDate: null });
  for (const [label, bytes, expected] of [
    ['multi', torrent, meta],
    ['single', single.torrent, single.meta],
  ] as const) {
    const file = join(root, '..', `${label}.torrent`);
    await writeFile(file, bytes);
    const out = python(
      'import libtorrent as lt, sys\n' +
        'ti = lt.torrent_info(sys.argv[1])\n' +
        'print(ti.info_hashes().v1, ti.num_pieces(), ti.total_size(), ti.priv())',
      file,
    );
    t.is(
      out,
      `${expected.infoHashHex} ${expected.pieceCount} ${expected.length} ${expected.private ? 'True' : 'False'}`,
    );
  }
});

for (const flavour of ['v1_only', 'hybrid'] as const) {
  ltTest(`we parse a torrent libtorrent created (${flavour})${note}`, async (t) => {
    const root = await contentDir(t);
    const file = join(root, '..', 'lt.torrent');
    const out = python(
      'import libtorrent as lt, sys, os\n' +
        'fs = lt.file_storage()\n' +
        'lt.add_files(fs, sys.argv[1])\n' +
        `flags = ${flavour === 'v1_only' ? 'lt.create_torrent.v1_only' : '0'}\n` +
        'ct = lt.create_torrent(fs, 16384, flags=flags)\n' +
        'ct.add_tracker("http://127.0.0.1:6969/announce", 0)\n' +
        'lt.set_piece_hashes(ct, os.path.dirname(sys.argv[1]))\n' +
        'open(sys.argv[2], "wb").write(lt.bencode(ct.generate()))\n' +
        'ti = lt.torrent_info(sys.argv[2])\n' +
        'print(ti.info_hashes().v1, ti.num_pieces(), ti.total_size(), ti.num_files())',
      root,
      file,
    );
    const meta = parseMetainfo(await readFile(file), file);
    const [hash, pieces, size, files] = out.split(' ');
    t.is(meta.infoHashHex, hash);
    t.is(meta.pieceCount, Number(pieces));
    t.is(meta.length, Number(size));
    t.is(meta.files.length, Number(files));
    t.is(meta.name, 'show');
    t.deepEqual(meta.announceList, [['http://127.0.0.1:6969/announce']]);
    const names = meta.files.map((f) => f.path.join('/')).filter((p) => !p.startsWith('.pad/'));
    t.deepEqual(names.sort(), ['notes.txt', 'season 1/ep1.mp4', 'season 1/ep2.mp4']);
  });
}
