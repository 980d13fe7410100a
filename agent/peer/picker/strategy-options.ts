import { SeedstreamError } from '../errors.js';
import { parseDuration } from '../units.js';

/** A strategy was given an option it does not know, or a value it cannot use. */
export class StrategyOptionError extends SeedstreamError {
  readonly strategy: string;
  readonly option: string;

  constructor(strategy: string, option: string, problem: string, options?: { cause?: unknown }) {
    super('ERR_STRATEGY_OPTION', `strategy "${strategy}": option "${option}" ${problem}`, options);
    this.strategy = strategy;
    this.option = option;
  }
}

/** Bounds of a numeric option (inclusive unless stated). */
export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** The value must be greater than `min`, not equal to it. */
  readonly minExclusive?: boolean;
  readonly integer?: boolean;
}

/**
 * A strategy's parameters as the experiment gives them (`PickerContext.options`). Every name must
 * be one the strategy declares, so a typo in an experiment fails loudly instead of silently running
 * with the default.
 */
export class StrategyOptions {
  readonly #strategy: string;
  readonly #options: Readonly<Record<string, unknown>>;

  constructor(
    strategy: string,
    options: Readonly<Record<string, unknown>> | undefined,
    known: readonly string[],
  ) {
    this.#strategy = strategy;
    this.#options = options ?? {};
    for (const name of Object.keys(this.#options)) {
      if (!known.includes(name)) {
        const list = known.length === 0 ? 'it takes none' : `known: ${known.join(', ')}`;
        throw new StrategyOptionError(strategy, name, `is unknown (${list})`);
      }
    }
  }

  /** A plain number within `rule`. */
  number(name: string, fallback: number, rule: NumberRule = {}): number {
    const value = this.#options[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new StrategyOptionError(this.#strategy, name, `must be a finite number, got ${describe(value)}`);
    }
    return this.#check(name, value, rule);
  }

  /** A duration in ms: a number of milliseconds, or a string such as `1.5s` (units.ts). */
  durationMs(name: string, fallback: number, rule: NumberRule = {}): number {
    const value = this.#options[name];
    if (value === undefined) return fallback;
    if (typeof value === 'string') {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch (err) {
        throw new StrategyOptionError(this.#strategy, name, `is not a duration: ${describe(value)}`, {
          cause: err,
        });
      }
      return this.#check(name, ms, rule);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new StrategyOptionError(
        this.#strategy,
        name,
        `must be a duration (ms, or a string like "2s"), got ${describe(value)}`,
      );
    }
    return this.#check(name, value, rule);
  }

  #check(name: string, value: number, rule: NumberRule): number {
    if (rule.integer === true && !Number.isSafeInteger(value)) {
      throw new StrategyOptionError(this.#strategy, name, `must be an integer, got ${value}`);
    }
    if (rule.min !== undefined && (rule.minExclusive === true ? value <= rule.min : value < rule.min)) {
      const bound = rule.minExclusive === true ? `greater than ${rule.min}` : `at least ${rule.min}`;
      throw new StrategyOptionError(this.#strategy, name, `must be ${bound}, got ${value}`);
    }
    if (rule.max !== undefined && value > rule.max) {
      throw new StrategyOptionError(this.#strategy, name, `must be at most ${rule.max}, got ${value}`);
    }
    return value;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}
