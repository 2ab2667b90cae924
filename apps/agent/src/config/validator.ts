import { configError } from '../errors';
import { DURATION_BOUNDS } from './defaults';

export class Validator {
  constructor(private readonly origin: Map<string, string>) {}

  private src(path: string): string | undefined {
    return this.origin.get(path);
  }

  fail(path: string, problem: string): never {
    throw configError(path, problem, this.src(path));
  }

  string(values: Record<string, unknown>, key: string, path = key): string | undefined {
    const v = values[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') this.fail(path, `must be a string (got ${shown(path, v)})`);
    return v;
  }

  /** An integer option from `min` to `max` (default: no upper bound); `dflt` when it is not set. */
  int(
    values: Record<string, unknown>,
    key: string,
    range: { min: number; dflt: number; max?: number },
  ): number {
    const { min, dflt, max = Number.MAX_SAFE_INTEGER } = range;
    const v = values[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      this.fail(key, `must be an integer ${range} (got ${shown(key, v)})`);
    }
    return v;
  }

  /** A duration option within its `DURATION_BOUNDS`. */
  duration(values: Record<string, unknown>, key: keyof typeof DURATION_BOUNDS, dflt: number): number {
    const [min, max] = DURATION_BOUNDS[key];
    return this.int(values, key, { min, dflt, max });
  }
}

/** Names of fields whose values are never echoed in a message (they may hold a credential). */
const SECRET_FIELD = /key|token|secret|passw|auth|header|credential/i;

/** A value as a message may show it: as JSON, or `<redacted>` for a secret-looking field; at most 80 characters. */
export function shown(path: string, value: unknown): string {
  if (SECRET_FIELD.test(path)) return '<redacted>';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
