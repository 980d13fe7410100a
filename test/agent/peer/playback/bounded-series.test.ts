import test from 'ava';
import { BoundedSeries, MIN_SERIES_POINTS } from '../../../../agent/peer/playback/bounded-series.js';

test('keeps every point until full (one slot stays free for the newest)', (t) => {
  const s = new BoundedSeries(10);
  for (let i = 0; i < 9; i++) s.add(i * 100, i);
  t.deepEqual(
    s.points().map((p) => p.value),
    [...Array(9).keys()],
  );
  s.add(900, 9);
  t.true(s.length < 10, 'coarsened when full');
});

test('never exceeds its bound and still spans the whole run, newest point included', (t) => {
  for (const max of [MIN_SERIES_POINTS, 4, 7, 64]) {
    const s = new BoundedSeries(max);
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      s.add(i, i);
      t.true(s.length <= max, `max ${max}: ${s.length} points after ${i + 1}`);
    }
    const points = s.points();
    t.is(points[0].atMs, 0, `max ${max}: first point kept`);
    t.is(points.at(-1)?.atMs, n - 1, `max ${max}: newest point kept`);
    for (let i = 1; i < points.length; i++) t.true(points[i].atMs > points[i - 1].atMs);
  }
});

test('after coarsening, a point too soon is only the provisional newest; marks are kept', (t) => {
  const s = new BoundedSeries(4);
  for (let i = 1; i <= 4; i++) s.add(i * 100, 1);
  const spacing = s.points()[1].atMs - s.points()[0].atMs;
  t.true(spacing > 100, 'coarsened');
  const committed = s.points();
  const base = committed.at(-1)?.atMs ?? 0;
  s.add(base + 1, 2);
  s.add(base + 2, 3);
  t.deepEqual(s.points(), [...committed, { atMs: base + 2, value: 3 }], 'the tail is replaced');
  s.add(base + 3, 4, true);
  t.deepEqual(s.points().at(-1), { atMs: base + 3, value: 4 });
  t.true(s.length <= 4);
});

test('several values at one instant keep the last', (t) => {
  const s = new BoundedSeries(4);
  s.add(5, 1);
  s.add(5, 2);
  t.deepEqual(s.points(), [{ atMs: 5, value: 2 }]);
});
