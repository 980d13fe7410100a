export interface SeriesPoint {
  readonly atMs: number;
  readonly value: number;
}

export const MIN_SERIES_POINTS = 3;

/**
 * A time series that never holds more than `maxPoints` points however long it runs: when full, it
 * drops every other point and from then on keeps a new point only once the average spacing of the
 * kept ones has passed since the last, so the series covers the whole run at a resolution that
 * coarsens as it grows. A point that comes too soon is kept provisionally as the newest one, until
 * the next, so the series always ends at the latest value. `mark` points (state changes) ignore
 * the spacing.
 */
export class BoundedSeries {
  readonly maxPoints: number;
  readonly #points: SeriesPoint[] = [];
  /** The newest point, when it came too soon after the last kept one. */
  #tail: SeriesPoint | undefined;
  #minSpacingMs = 0;

  constructor(maxPoints: number) {
    // Decimation keeps the first and the newest point and leaves a slot for the tail: 3 at least.
    this.maxPoints = Math.max(MIN_SERIES_POINTS, Math.floor(maxPoints));
  }

  add(atMs: number, value: number, mark = false): void {
    const point = { atMs, value };
    const last = this.#points.at(-1);
    if (last !== undefined) {
      if (last.atMs === atMs) {
        // Several events in one instant: the state after the last of them is what the series shows.
        this.#points[this.#points.length - 1] = point;
        this.#tail = undefined;
        return;
      }
      if (!mark && atMs - last.atMs < this.#minSpacingMs) {
        this.#tail = point;
        return;
      }
    }
    this.#tail = undefined;
    this.#points.push(point);
    // One slot stays free for the provisional tail.
    if (this.#points.length >= this.maxPoints) this.#decimate();
  }

  get length(): number {
    return this.#points.length + (this.#tail === undefined ? 0 : 1);
  }

  points(): SeriesPoint[] {
    return this.#tail === undefined ? this.#points.slice() : [...this.#points, this.#tail];
  }

  #decimate(): void {
    const points = this.#points;
    let kept = 0;
    for (let i = 0; i < points.length; i += 2) points[kept++] = points[i];
    // The newest point survives decimation: it is the current level.
    if ((points.length - 1) % 2 !== 0) points[kept++] = points[points.length - 1];
    points.length = kept;
    const span = points[kept - 1].atMs - points[0].atMs;
    this.#minSpacingMs = kept > 1 ? span / (kept - 1) : 0;
  }
}
