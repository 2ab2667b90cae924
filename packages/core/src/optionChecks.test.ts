import { describe, expect, it } from 'vitest';
import { isRediverError, RediverError } from './errors';
import { optionChecker } from './optionChecks';
import { MAX_TIMER_MS } from './timers';

const check = optionChecker({ error: (m, o) => new RediverError('INVALID_OPTION', m, o) });

function refused(fn: () => unknown): RediverError {
  try {
    fn();
  } catch (e) {
    if (isRediverError(e, 'INVALID_OPTION')) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('optionChecker', () => {
  it('checks integers at the edges of their range', () => {
    expect(check.integer('n', 1, { min: 1, max: 64 })).toBe(1);
    expect(check.integer('n', 64, { min: 1, max: 64 })).toBe(64);
    for (const v of [0, 65, 1.5, Number.NaN, '3', Number.POSITIVE_INFINITY, 2 ** 53]) {
      const e = refused(() => check.integer('n', v, { min: 1, max: 64 }));
      expect(e.details).toEqual({ option: 'n' });
    }
    expect(refused(() => check.integer('n', 0, { min: 1, max: 64 })).message).toBe(
      'n must be an integer from 1 to 64 (got 0)',
    );
    expect(refused(() => check.integer('n', -1, { min: 0 })).message).toBe(
      'n must be an integer >= 0 (got -1)',
    );
  });

  it('checks numbers, exclusive minimums and Infinity', () => {
    expect(check.number('r', 0, { min: 0, max: 1 })).toBe(0);
    expect(check.number('r', 1, { min: 0, max: 1 })).toBe(1);
    expect(refused(() => check.number('r', 1.01, { min: 0, max: 1 })).message).toBe(
      'r must be a number from 0 to 1 (got 1.01)',
    );
    expect(refused(() => check.number('p', 0, { min: 0, exclusiveMin: true })).message).toBe(
      'p must be a positive number (got 0)',
    );
    expect(check.number('p', Number.MIN_VALUE, { min: 0, exclusiveMin: true })).toBe(Number.MIN_VALUE);
    expect(refused(() => check.number('p', Number.POSITIVE_INFINITY, { min: 0 })).message).toBe(
      'p must be a number >= 0 (got Infinity)',
    );
    expect(check.integer('f', Number.POSITIVE_INFINITY, { min: 0, exclusiveMin: true, infinity: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(
      refused(() => check.integer('f', 0.5, { min: 0, exclusiveMin: true, infinity: true })).message,
    ).toBe('f must be a positive integer or Infinity (got 0.5)');
  });

  it('checks durations against the timer cap', () => {
    expect(check.duration('t', 0)).toBe(0);
    expect(check.duration('t', MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
    expect(refused(() => check.duration('t', MAX_TIMER_MS + 1)).message).toBe(
      `t must be a number from 0 to ${MAX_TIMER_MS} (got ${MAX_TIMER_MS + 1})`,
    );
    expect(() => check.duration('t', 10, { max: 2 ** 40 })).not.toThrow();
    expect(() => check.duration('t', 2 ** 40, { max: 2 ** 40 })).toThrow();
    expect(() => check.duration('t', 0, { min: 0, exclusiveMin: true })).toThrow();
  });

  it('checks booleans, strings, enums and functions', () => {
    expect(check.boolean('b', false)).toBe(false);
    expect(refused(() => check.boolean('b', 'yes')).message).toBe('b must be a boolean (got yes)');
    expect(check.string('s', 'x')).toBe('x');
    expect(refused(() => check.string('s', '  ')).message).toBe('s must be a non-empty string (got   )');
    expect(check.string('s', '', { allowEmpty: true })).toBe('');
    expect(refused(() => check.string('path', 3, { rule: 'a file path' })).message).toBe(
      'path must be a file path (got 3)',
    );
    expect(check.oneOf('mode', 'json', ['json', 'ndjson'])).toBe('json');
    expect(refused(() => check.oneOf('mode', 'xml', ['json', 'ndjson'])).message).toBe(
      'mode must be one of json, ndjson (got xml)',
    );
    const f = (): void => {};
    expect(check.optionalFunction('f', f)).toBe(f);
    expect(check.optionalFunction('f', undefined)).toBeUndefined();
    expect(refused(() => check.optionalFunction('f', 1 as never)).details).toEqual({ option: 'f' });
  });

  it("uses the package's wording and class, and never echoes a value it was not given", () => {
    class FooError extends RediverError {}
    const foo = optionChecker({
      error: (m, o) => new FooError('INVALID_OPTION', m, o),
      message: (o, r, got) => `foo: option ${o} must be ${r}${got === undefined ? '' : `, got ${got}`}`,
    });
    const e = refused(() => foo.integer('a.b', 0, { min: 1 }));
    expect(e).toBeInstanceOf(FooError);
    expect(e.message).toBe('foo: option a.b must be an integer >= 1, got 0');
    expect(e.details).toEqual({ option: 'a.b' });
    expect(foo.invalid('secret', 'at least 16 characters').message).toBe(
      'foo: option secret must be at least 16 characters',
    );
    const own = foo.refuse('host', 'host h is reachable from other machines');
    expect([own.message, own.details, own instanceof FooError]).toEqual([
      'host h is reachable from other machines',
      { option: 'host' },
      true,
    ]);
  });

  it('accepts a renamed option under its old name, never silently, and refuses both names', () => {
    const warnings: string[] = [];
    const rename = {
      name: 'retryBaseDelayMs',
      deprecated: 'retryBaseMs',
      warn: (m: string) => warnings.push(m),
    };
    expect(check.renamed({ retryBaseDelayMs: 5 }, rename)).toBe(5);
    expect(check.renamed({}, rename)).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(check.renamed({ retryBaseMs: 7 }, rename)).toBe(7);
    expect(warnings).toEqual(['option retryBaseMs is deprecated: use retryBaseDelayMs (same meaning)']);
    const e = refused(() => check.renamed({ retryBaseMs: 7, retryBaseDelayMs: 5 }, rename));
    expect(e.details).toEqual({ option: 'retryBaseMs' });
  });
});
