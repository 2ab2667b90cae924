import { describe, expect, it } from 'vitest';
import { expandHome } from './paths';

describe('expandHome', () => {
  it('expands ~ and ~/ only', () => {
    expect(expandHome('~', '/home/a')).toBe('/home/a');
    expect(expandHome('~/.rediver/audit.log', '/home/a')).toBe('/home/a/.rediver/audit.log');
    expect(expandHome('~/x', '/')).toBe('/x');
    expect(expandHome('~user/x', '/home/a')).toBe('~user/x');
    expect(expandHome('a/~/b', '/home/a')).toBe('a/~/b');
    expect(expandHome('/abs', '/home/a')).toBe('/abs');
  });
});
