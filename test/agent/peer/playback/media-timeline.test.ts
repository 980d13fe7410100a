import test from 'ava';
import { MediaTimeline } from '../../../../agent/peer/playback/media-timeline.js';

test('CBR: pieces are placed by byte offset at the bitrate; the short last piece ends early', (t) => {
  const bitrateBps = 2_000_000;
  const pieceLength = 262_144;
  const length = 3 * pieceLength + 1_000;
  const tl = new MediaTimeline({
    pieceCount: 4,
    pieceLength,
    length,
    streaming: { bitrateBps, durationMs: 1 },
  });
  const pieceMs = (pieceLength * 8_000) / bitrateBps;
  t.false(tl.vbr);
  for (let i = 0; i < 4; i++) t.is(tl.startMs(i), i * pieceMs);
  t.is(tl.endMs, (length * 8_000) / bitrateBps, 'durationMs is not used for CBR');
  t.is(tl.startMs(4), tl.endMs);
  t.is(tl.startMs(99), tl.endMs, 'clamped');
  t.is(tl.startMs(-3), 0, 'clamped');
});

test('VBR: the per-piece timestamps, ending at the duration', (t) => {
  const stamps = [0, 10, 10, 700];
  const tl = new MediaTimeline({
    pieceCount: 4,
    pieceLength: 10,
    length: 40,
    streaming: { bitrateBps: 1, durationMs: 900, pieceTimestampsMs: stamps },
  });
  t.true(tl.vbr);
  t.deepEqual(
    [0, 1, 2, 3, 4].map((i) => tl.startMs(i)),
    [...stamps, 900],
  );
});
