/**
 * RFC 9110 §14 byte ranges, as far as a media server needs them: one range per request.
 *
 * The outcome is a tagged value rather than an exception: every outcome maps to an HTTP status
 * (206, 416, or 200 when the header is to be ignored), none is a failure of the server.
 */

/** Bytes `first`..`last` inclusive of a representation. */
export interface ByteRange {
  readonly first: number;
  readonly last: number;
}

export type RangeOutcome =
  /** Serve the whole representation (no Range, an unknown unit, or several ranges). */
  | { readonly kind: 'full' }
  /** Serve this one range with 206. */
  | { readonly kind: 'partial'; readonly range: ByteRange }
  /** 416: the header is malformed or no byte of it lies inside the representation. */
  | { readonly kind: 'unsatisfiable'; readonly reason: string };

/** Digits only: `Number('1e3')`, `Number(' 7')` and `Number('0x10')` must not pass as offsets. */
const DIGITS = /^[0-9]+$/;

/** Longer than any safe integer: refuse before converting, so precision is never lost. */
const MAX_DIGITS = 15;

function parseOffset(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DIGITS.test(trimmed) || trimmed.length > MAX_DIGITS) return undefined;
  return Number(trimmed);
}

/**
 * Interprets a `Range` header against a representation of `length` bytes.
 *
 * - `bytes=a-b`, `bytes=a-`, `bytes=-n` (suffix): a single range, `b` clamped to the end.
 * - A unit other than `bytes`: ignored (RFC 9110 §14.2 requires it), so `full`.
 * - Several ranges: ignored as RFC 9110 allows; a web seed never asks for more than one.
 * - Anything malformed in a `bytes` range, `a > b`, `a >= length`, or `-0`: `unsatisfiable`.
 */
export function interpretRange(header: string | undefined, length: number): RangeOutcome {
  if (header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'unsatisfiable', reason: `malformed Range "${clip(header)}"` };
  const unit = header.slice(0, eq).trim().toLowerCase();
  if (unit !== 'bytes') return { kind: 'full' };
  const specs = header.slice(eq + 1);
  if (specs.includes(',')) return { kind: 'full' };
  const dash = specs.indexOf('-');
  if (dash < 0) return { kind: 'unsatisfiable', reason: `malformed byte range "${clip(specs)}"` };
  const firstText = specs.slice(0, dash);
  const lastText = specs.slice(dash + 1);

  if (firstText.trim() === '') {
    const suffix = parseOffset(lastText);
    if (suffix === undefined) return { kind: 'unsatisfiable', reason: `malformed suffix "${clip(specs)}"` };
    if (suffix === 0 || length === 0) {
      return { kind: 'unsatisfiable', reason: `suffix of ${suffix} bytes of a ${length}-byte file` };
    }
    return { kind: 'partial', range: { first: Math.max(0, length - suffix), last: length - 1 } };
  }
  const first = parseOffset(firstText);
  if (first === undefined) return { kind: 'unsatisfiable', reason: `malformed byte range "${clip(specs)}"` };
  let last = length - 1;
  if (lastText.trim() !== '') {
    const parsed = parseOffset(lastText);
    if (parsed === undefined)
      return { kind: 'unsatisfiable', reason: `malformed byte range "${clip(specs)}"` };
    if (parsed < first)
      return { kind: 'unsatisfiable', reason: `range ${first}-${parsed} ends before it starts` };
    last = Math.min(parsed, length - 1);
  }
  if (first >= length) {
    return { kind: 'unsatisfiable', reason: `range starts at ${first}, past the end of ${length} bytes` };
  }
  return { kind: 'partial', range: { first, last } };
}

/** Header values are attacker-controlled: keep them short in messages and logs. */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}
