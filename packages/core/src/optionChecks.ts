import type { RediverError, RediverErrorOptions } from './errors';
import { MAX_TIMER_MS } from './timers';

/** How a package words and builds its `INVALID_OPTION` errors. */
export interface OptionCheckerConfig {
  /**
   * Builds the package's error subclass with code `INVALID_OPTION`; `options.details.option` is always set to the
   * option's name (dotted for nested options: `faults.errorRate`).
   */
  readonly error: (message: string, options: RediverErrorOptions) => RediverError;
  /**
   * The message: `option` broke `rule` (`'an integer from 1 to 64'`); `got` is the offending value as text, or
   * `undefined` when it must not be echoed (a secret) or says nothing. Default:
   * `` `${option} must be ${rule} (got ${got})` ``.
   */
  readonly message?: (option: string, rule: string, got: string | undefined) => string;
}

/** Bounds of a numeric option; both inclusive unless `exclusiveMin`. */
export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  /** The minimum itself is refused (`> 0` rather than `>= 0`). */
  readonly exclusiveMin?: boolean;
  /** `Infinity` is accepted ("no limit"). */
  readonly infinity?: boolean;
}

/** Checks option values and throws the package's `INVALID_OPTION` error, `details.option` always set. */
export interface OptionChecker {
  /** The error for `option` breaking `rule`; `value` is echoed when given (omit it for secrets). */
  invalid(option: string, rule: string, ...value: [unknown?]): RediverError;
  /** The error for `option` with a whole message of its own (not `<option> must be <rule>`); `details.option` set. */
  refuse(option: string, message: string): RediverError;
  /** A safe integer within `range` (default: any). */
  integer(option: string, value: unknown, range?: NumberRange): number;
  /** A finite number within `range` (default: any); `Infinity` only with `range.infinity`. */
  number(option: string, value: unknown, range?: NumberRange): number;
  /** A delay in ms a timer can hold: a finite number in `[min ?? 0, max ?? MAX_TIMER_MS]`. */
  duration(option: string, value: unknown, range?: NumberRange): number;
  /** A boolean. */
  boolean(option: string, value: unknown): boolean;
  /** A string; non-empty (after trimming) unless `allowEmpty`. `rule` rewords it (`'a file path'`). */
  string(
    option: string,
    value: unknown,
    how?: { readonly allowEmpty?: boolean; readonly rule?: string },
  ): string;
  /** One of `allowed`. */
  oneOf<const T extends string>(option: string, value: unknown, allowed: readonly T[]): T;
  /** A function, or `undefined`. */
  optionalFunction<F>(option: string, value: F | undefined): F | undefined;
  /**
   * The value of option `name` in `options`, or of its deprecated old name (`rename.deprecated`), never silently:
   * the old name calls `rename.warn` with a message naming the new one; both names at once is `INVALID_OPTION`.
   */
  renamed(options: object, rename: OptionRename): unknown;
}

/** An option renamed in a compatible way: the old name still works, with a warning. */
export interface OptionRename {
  /** The current name. */
  readonly name: string;
  /** The old name, still accepted. */
  readonly deprecated: string;
  /** Called once when the old name is used (the package logs it as a warning). */
  readonly warn: (message: string, details: { option: string; replacement: string }) => void;
}

/** `'an integer from 1 to 64'`, `'a number > 0'`, `'a positive integer or Infinity'`… */
function rangeRule(kind: 'an integer' | 'a number', range: NumberRange): string {
  const { min, max, exclusiveMin = false, infinity = false } = range;
  const inf = infinity ? ' or Infinity' : '';
  const bounded = max !== undefined && Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER;
  if (min === 0 && exclusiveMin && !bounded) return `a positive ${kind.slice(kind.indexOf(' ') + 1)}${inf}`;
  if (min !== undefined && bounded && !exclusiveMin) return `${kind} from ${min} to ${max}${inf}`;
  if (min !== undefined && bounded) return `${kind} > ${min} and <= ${max}${inf}`;
  if (min !== undefined) return `${kind} ${exclusiveMin ? '>' : '>='} ${min}${inf}`;
  if (bounded) return `${kind} <= ${max}${inf}`;
  return `${kind}${inf}`;
}

function inRange(value: number, range: NumberRange): boolean {
  const { min, max, exclusiveMin = false } = range;
  if (min !== undefined && (exclusiveMin ? value <= min : value < min)) return false;
  return max === undefined || value <= max;
}

/**
 * An option checker with the package's wording and error class: one vocabulary of rules (ranges, booleans,
 * strings, enums, durations) for every package, each error with `details.option`.
 * `const check = optionChecker({ error: (m, o) => new FooError('INVALID_OPTION', m, o) })`.
 */
export function optionChecker(config: OptionCheckerConfig): OptionChecker {
  const message =
    config.message ?? ((o, r, got) => `${o} must be ${r}${got === undefined ? '' : ` (got ${got})`}`);
  const invalid = (option: string, rule: string, ...value: [unknown?]): RediverError =>
    config.error(message(option, rule, value.length === 0 ? undefined : String(value[0])), {
      details: { option },
    });
  const numeric = (
    kind: 'an integer' | 'a number',
    option: string,
    value: unknown,
    range: NumberRange,
  ): number => {
    const ok =
      typeof value === 'number' &&
      ((range.infinity === true && value === Number.POSITIVE_INFINITY) ||
        (kind === 'an integer' ? Number.isSafeInteger(value) : Number.isFinite(value))) &&
      inRange(value, range);
    if (!ok) throw invalid(option, rangeRule(kind, range), value);
    return value;
  };
  return {
    invalid,
    refuse: (option, text) => config.error(text, { details: { option } }),
    integer: (option, value, range = {}) => numeric('an integer', option, value, range),
    number: (option, value, range = {}) => numeric('a number', option, value, range),
    duration: (option, value, range = {}) =>
      numeric('a number', option, value, {
        min: range.min ?? 0,
        max: Math.min(range.max ?? MAX_TIMER_MS, MAX_TIMER_MS),
        ...(range.exclusiveMin === undefined ? {} : { exclusiveMin: range.exclusiveMin }),
      }),
    boolean: (option, value) => {
      if (typeof value !== 'boolean') throw invalid(option, 'a boolean', value);
      return value;
    },
    string: (option, value, how = {}) => {
      if (typeof value !== 'string' || (how.allowEmpty !== true && value.trim() === '')) {
        throw invalid(
          option,
          how.rule ?? (how.allowEmpty === true ? 'a string' : 'a non-empty string'),
          value,
        );
      }
      return value;
    },
    oneOf: (option, value, allowed) => {
      if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
        throw invalid(option, `one of ${allowed.join(', ')}`, value);
      }
      return value as (typeof allowed)[number];
    },
    optionalFunction: (option, value) => {
      if (value !== undefined && typeof value !== 'function') throw invalid(option, 'a function', value);
      return value;
    },
    renamed: (options, { name, deprecated, warn }) => {
      const o = options as Readonly<Record<string, unknown>>;
      const old = o[deprecated];
      if (old === undefined) return o[name];
      if (o[name] !== undefined) {
        throw invalid(
          deprecated,
          `left out when ${name} is given (${deprecated} is its deprecated old name)`,
        );
      }
      warn(`option ${deprecated} is deprecated: use ${name} (same meaning)`, {
        option: deprecated,
        replacement: name,
      });
      return old;
    },
  };
}
