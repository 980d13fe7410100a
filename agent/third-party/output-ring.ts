/** Default bound of captured program output. */
export const DEFAULT_OUTPUT_LIMIT_BYTES = 16_384;

/**
 * Keeps the last `limitBytes` of a program's output, so that error messages can quote what the
 * program said just before it failed without a chatty program growing memory without bound.
 */
export class OutputRing {
  readonly limitBytes: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #dropped = 0;

  constructor(limitBytes = DEFAULT_OUTPUT_LIMIT_BYTES) {
    this.limitBytes = limitBytes;
  }

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#chunks.push(buf);
    this.#bytes += buf.length;
    while (this.#bytes > this.limitBytes && this.#chunks.length > 0) {
      const first = this.#chunks[0];
      const excess = this.#bytes - this.limitBytes;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#bytes -= first.length;
        this.#dropped += first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#bytes -= excess;
        this.#dropped += excess;
      }
    }
  }

  /** The retained output, prefixed with a marker when older output was dropped. */
  text(): string {
    const body = Buffer.concat(this.#chunks).toString('utf8');
    return this.#dropped > 0 ? `[... ${this.#dropped} earlier bytes dropped]\n${body}` : body;
  }
}
