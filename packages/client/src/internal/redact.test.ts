import { describe, expect, it } from 'vitest';
import { REDACTED, redact, sanitizeCause } from './redact';

const SECRET = 'rdv_secret_123456';

describe('redact', () => {
  it('replaces every occurrence and leaves other text alone', () => {
    expect(redact(`a ${SECRET} b ${SECRET}`, SECRET)).toBe(`a ${REDACTED} b ${REDACTED}`);
    expect(redact('nothing here', SECRET)).toBe('nothing here');
  });
});

describe('sanitizeCause', () => {
  it('copies name, code, message, stack and nested causes without the secret or other references', () => {
    const inner = Object.assign(new Error(`inner ${SECRET}`), {
      code: 'ECONNRESET',
      socket: { secret: SECRET },
    });
    const outer = Object.assign(new Error(`outer ${SECRET}`, { cause: inner }), { code: 'UND_ERR_SOCKET' });
    outer.name = 'SocketError';
    const copy = sanitizeCause(outer, SECRET);
    expect(copy.name).toBe('SocketError');
    expect(copy.message).toBe(`outer ${REDACTED}`);
    expect((copy as Error & { code?: string }).code).toBe('UND_ERR_SOCKET');
    expect((copy.cause as Error).message).toBe(`inner ${REDACTED}`);
    expect((copy.cause as Error & { code?: string }).code).toBe('ECONNRESET');
    expect('socket' in (copy.cause as object)).toBe(false);
    expect(copy.stack).not.toContain(SECRET);
  });

  it('wraps non-errors and stops at a bounded depth on cyclic causes', () => {
    expect(sanitizeCause(`text ${SECRET}`, SECRET).message).toBe(`text ${REDACTED}`);
    const a = new Error('a');
    a.cause = a;
    let depth = 0;
    for (let e: unknown = sanitizeCause(a, SECRET); e instanceof Error; e = e.cause) depth++;
    expect(depth).toBeLessThan(10);
  });
});
