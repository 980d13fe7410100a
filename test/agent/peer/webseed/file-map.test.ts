import test from 'ava';
import { WebSeedInitError } from '../../../../agent/peer/webseed/errors.js';
import { parseWebSeedUrl, pieceSegments, webSeedFileUrl } from '../../../../agent/peer/webseed/file-map.js';
import { makeMeta } from '../../../support/fake-meta.js';

const PIECE = 1_000;

function multi() {
  return makeMeta({
    pieceLength: PIECE,
    name: 'my show',
    files: [
      { path: ['a.bin'], length: 1_500 },
      { path: ['empty'], length: 0 },
      { path: ['dir', 'b #1.bin'], length: 300 },
      { path: ['c.bin'], length: 2_250 },
    ],
    seed: 1,
  }).meta;
}

test('pieceSegments: pieces spanning files, empty files skipped, pieces sum to their size', (t) => {
  const meta = multi();
  t.deepEqual(pieceSegments(meta, 0), [{ file: 0, fileOffset: 0, pieceOffset: 0, length: 1_000 }]);
  t.deepEqual(pieceSegments(meta, 1), [
    { file: 0, fileOffset: 1_000, pieceOffset: 0, length: 500 },
    { file: 2, fileOffset: 0, pieceOffset: 500, length: 300 },
    { file: 3, fileOffset: 0, pieceOffset: 800, length: 200 },
  ]);
  // Last piece: 4050 bytes in all, so 50 bytes.
  t.deepEqual(pieceSegments(meta, 4), [{ file: 3, fileOffset: 2_200, pieceOffset: 0, length: 50 }]);
  for (let i = 0; i < meta.pieceCount; i++) {
    const segs = pieceSegments(meta, i);
    const size = i < meta.pieceCount - 1 ? PIECE : meta.length - PIECE * (meta.pieceCount - 1);
    t.is(
      segs.reduce((n, s) => n + s.length, 0),
      size,
    );
    for (const s of segs) t.true(s.fileOffset + s.length <= meta.files[s.file].length);
  }
});

test('BEP 19 URLs: single file as is or + name after a slash; multi-file + name/path, encoded', (t) => {
  const single = makeMeta({ pieceLength: PIECE, files: [{ path: ['clip 1.ts'], length: 10 }], seed: 2 }).meta;
  const at = (url: string, meta = single, i = 0) => webSeedFileUrl(parseWebSeedUrl(url), meta, i).href;
  t.is(at('http://h:8080/files/other-name.ts'), 'http://h:8080/files/other-name.ts');
  t.is(at('http://h:8080/files/'), 'http://h:8080/files/clip%201.ts');
  t.is(at('http://h/'), 'http://h/clip%201.ts');
  const meta = multi();
  t.is(at('http://h/mirror/', meta, 2), 'http://h/mirror/my%20show/dir/b%20%231.bin');
  t.is(at('http://h/mirror', meta, 3), 'http://h/mirror/my%20show/c.bin');
  t.is(at('http://[::1]:9/', meta, 0), 'http://[::1]:9/my%20show/a.bin');
});

test('web seed URLs that are not http(s) are ERR_WEBSEED_BAD_INIT', (t) => {
  for (const url of ['ftp://h/x', 'not a url', '', 'file:///etc/passwd']) {
    const err = t.throws(() => parseWebSeedUrl(url), { instanceOf: WebSeedInitError });
    t.is(err?.code, 'ERR_WEBSEED_BAD_INIT');
  }
});
