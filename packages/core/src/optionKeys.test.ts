import { describe, expect, it } from 'vitest';
import { findUnknownOption, optionNames, suggestName, unknownOptionMessage } from './optionKeys';

const KNOWN = ['cpuThreshold', 'memoryThreshold', 'maxConcurrentJobs', 'sampleIntervalMs'] as const;

describe('suggestName', () => {
  it('finds a name within two edits, ignoring case, dashes and underscores', () => {
    expect(suggestName('cpuTreshold', KNOWN)).toBe('cpuThreshold');
    expect(suggestName('MAX_CONCURRENT_JOBS', KNOWN)).toBe('maxConcurrentJobs');
    expect(suggestName('sample-interval-ms', KNOWN)).toBe('sampleIntervalMs');
  });

  it('gives nothing for a name three edits away', () => {
    expect(suggestName('cpuThr', KNOWN)).toBeUndefined();
    expect(suggestName('', KNOWN)).toBeUndefined();
  });
});

describe('findUnknownOption', () => {
  it('accepts known keys and an empty object', () => {
    expect(findUnknownOption({ cpuThreshold: 50, memoryThreshold: undefined }, KNOWN)).toBeUndefined();
    expect(findUnknownOption({}, KNOWN)).toBeUndefined();
  });

  it('reports the first unknown key, even when its value is undefined', () => {
    expect(findUnknownOption({ cpuThreshold: 1, cpuTreshold: undefined }, KNOWN)).toEqual({
      key: 'cpuTreshold',
      suggestion: 'cpuThreshold',
    });
    expect(findUnknownOption({ zzz: 1 }, KNOWN)).toEqual({ key: 'zzz', suggestion: undefined });
  });
});

describe('unknownOptionMessage', () => {
  it('names the component and the hint, or lists the options when there is none', () => {
    expect(
      unknownOptionMessage('ResourceController', { key: 'cpuTreshold', suggestion: 'cpuThreshold' }, KNOWN),
    ).toBe('"cpuTreshold" is not an option of ResourceController (did you mean cpuThreshold?)');
    expect(unknownOptionMessage('X', { key: 'zzz', suggestion: undefined }, ['b', 'a'])).toBe(
      '"zzz" is not an option of X (options: a, b)',
    );
  });
});

describe('optionNames', () => {
  it('lists the keys of a complete record, frozen', () => {
    interface Options {
      a?: number;
      b: string;
    }
    const names = optionNames<Options>({ a: true, b: true });
    expect(names).toEqual(['a', 'b']);
    expect(Object.isFrozen(names)).toBe(true);
    // @ts-expect-error a missing option does not compile
    optionNames<Options>({ a: true });
    // @ts-expect-error nor does one the type does not have
    optionNames<Options>({ a: true, b: true, c: true });
  });
});
