import { SeedstreamError } from './errors.js';

/**
 * Human-friendly quantities for CLIs and experiment files: sizes (`256KiB`), bitrates (`8Mbps`)
 * and durations (`1.5s`, `1h30m`). Parsing is exact (decimal arithmetic in BigInt), so `1.1Mbps`
 * is 1_100_000, never 1_100_000.0000000002, and a value that is not a whole number of the base
 * unit (`1.5B`) is rejected rather than rounded.
 */

export class UnitError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_BAD_UNIT', message);
  }
}

const NUMBER_RE = /^(\d+)(?:\.(\d+))?/;

/** `value * multiplier` for a decimal string, exactly; throws unless the result is an integer. */
function exactProduct(intPart: string, fracPart: string, multiplier: bigint, input: string): number {
  const scale = 10n ** BigInt(fracPart.length);
  const numerator = BigInt(intPart + fracPart) * multiplier;
  if (numerator % scale !== 0n) {
    throw new UnitError(`${JSON.stringify(input)} is not a whole number of the base unit`);
  }
  const result = numerator / scale;
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UnitError(`${JSON.stringify(input)} is too large`);
  }
  return Number(result);
}

interface Quantity {
  intPart: string;
  fracPart: string;
  unit: string;
}

function splitQuantity(input: string, what: string, example: string): Quantity {
  const text = input.trim();
  const m = NUMBER_RE.exec(text);
  if (m === null) {
    throw new UnitError(
      `${JSON.stringify(input)} is not a ${what} (expected a number and a unit, like ${example})`,
    );
  }
  return { intPart: m[1], fracPart: m[2] ?? '', unit: text.slice(m[0].length).trim() };
}

const SI_PREFIXES: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  m: 1000n ** 2n,
  g: 1000n ** 3n,
  t: 1000n ** 4n,
};
const BINARY_PREFIXES: Record<string, bigint> = {
  ki: 1n << 10n,
  mi: 1n << 20n,
  gi: 1n << 30n,
  ti: 1n << 40n,
};

/** The multiplier of a prefix such as `k`, `M`, `Ki`; undefined when it is not one. */
function prefixMultiplier(prefix: string): bigint | undefined {
  const p = prefix.toLowerCase();
  // Only the `i` of binary prefixes must be lower-case (`KiB`, `kiB`), so `KIB` is rejected.
  if (p.length === 2 && prefix[1] !== 'i') return undefined;
  return Object.hasOwn(SI_PREFIXES, p) ? SI_PREFIXES[p] : BINARY_PREFIXES[p];
}

/**
 * A size in bytes: a plain number of bytes, or a number with `B`, SI (`kB`, `MB`, `GB`, `TB`:
 * powers of 1000) or binary (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024) units.
 * `parseBytes('256KiB')` is 262144. A lower-case `b` (bits) is rejected.
 */
export function parseBytes(input: string): number {
  const { intPart, fracPart, unit } = splitQuantity(input, 'size', '256KiB or 40MB');
  let prefix = unit;
  if (unit.endsWith('B')) prefix = unit.slice(0, -1);
  else if (unit !== '') {
    throw new UnitError(
      `${JSON.stringify(input)}: unknown size unit ${JSON.stringify(unit)} (use B, kB, MB, KiB, MiB...)`,
    );
  }
  const multiplier = prefixMultiplier(prefix);
  if (multiplier === undefined) {
    throw new UnitError(
      `${JSON.stringify(input)}: unknown size unit ${JSON.stringify(unit)} (use B, kB, MB, KiB, MiB...)`,
    );
  }
  return exactProduct(intPart, fracPart, multiplier, input);
}

/**
 * A bitrate in bits per second: a plain number, or a number with `bps`/`bit/s` (bits) or
 * `Bps`/`B/s` (bytes, times 8), optionally prefixed (`k`, `M`, `G`: powers of 1000; `Ki`, `Mi`:
 * powers of 1024). `parseBitrate('8Mbps')` is 8_000_000; `parseBitrate('1MB/s')` is 8_000_000.
 */
export function parseBitrate(input: string): number {
  const { intPart, fracPart, unit } = splitQuantity(input, 'bitrate', '8Mbps');
  const m = /^([a-zA-Z]{0,2}?)(bps|bit\/s|b\/s|Bps|B\/s)$/.exec(unit);
  let multiplier: bigint | undefined = unit === '' ? 1n : undefined;
  if (m !== null) {
    const prefix = prefixMultiplier(m[1]);
    if (prefix !== undefined) multiplier = m[2].startsWith('B') ? prefix * 8n : prefix;
  }
  if (multiplier === undefined) {
    throw new UnitError(
      `${JSON.stringify(input)}: unknown bitrate unit ${JSON.stringify(unit)} (use bps, kbps, Mbps, MB/s...)`,
    );
  }
  return exactProduct(intPart, fracPart, multiplier, input);
}

const DURATION_UNITS_MS: Record<string, bigint> = {
  ms: 1n,
  s: 1000n,
  sec: 1000n,
  m: 60_000n,
  min: 60_000n,
  h: 3_600_000n,
  d: 86_400_000n,
};

/**
 * A duration in milliseconds: a plain number of milliseconds, or one or more number+unit parts
 * (`ms`, `s`, `m`/`min`, `h`, `d`): `parseDuration('1.5s')` is 1500, `parseDuration('1h30m')` is
 * 5_400_000.
 */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (/^\d+$/.test(text)) return exactProduct(text, '', 1n, input);
  const partRe = /(\d+)(?:\.(\d+))?\s*([a-z]+)\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    partRe.lastIndex = pos;
    const m = partRe.exec(text);
    const unit = m === null ? undefined : DURATION_UNITS_MS[m[3]];
    if (m === null || unit === undefined || !Object.hasOwn(DURATION_UNITS_MS, m[3])) {
      throw new UnitError(
        `${JSON.stringify(input)} is not a duration (expected e.g. 200ms, 1.5s, 10m, 1h30m)`,
      );
    }
    total += exactProduct(m[1], m[2] ?? '', unit, input);
    pos = partRe.lastIndex;
  }
  if (pos === 0)
    throw new UnitError(`${JSON.stringify(input)} is not a duration (expected e.g. 200ms, 1.5s)`);
  if (!Number.isSafeInteger(total)) throw new UnitError(`${JSON.stringify(input)} is too large`);
  return total;
}

function trimNumber(value: number, decimals: number): string {
  return value.toFixed(decimals).replace(/\.?0+$/, '');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `formatBytes(262144)` is `256 KiB`; at most two decimals; parseable by `parseBytes` when exact. */
export function formatBytes(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${trimNumber(value, 2)} ${BYTE_UNITS[unit]}`;
}

const BITRATE_UNITS = ['bps', 'kbps', 'Mbps', 'Gbps', 'Tbps'];

/** `formatBitrate(8_000_000)` is `8 Mbps`. */
export function formatBitrate(bitsPerSecond: number): string {
  let unit = 0;
  let value = bitsPerSecond;
  while (Math.abs(value) >= 1000 && unit < BITRATE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${trimNumber(value, 3)} ${BITRATE_UNITS[unit]}`;
}

/** `formatDuration(5_430_500)` is `1h30m30.5s`; `formatDuration(200)` is `200ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  let out = '';
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0) out += `${minutes}m`;
  if (seconds > 0) out += `${trimNumber(seconds, 3)}s`;
  return out;
}
