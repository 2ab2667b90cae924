import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkIdempotencyKey } from './idempotencyKey';

const base = { tenantId: 't1', reportId: 'r-1', chunkIndex: 3, checksum: 'ab'.repeat(32) };

describe('chunkIdempotencyKey', () => {
  it('is the hex SHA-256 of tenant|report|index|checksum', () => {
    const expected = createHash('sha256')
      .update(`t1|r-1|3|${'ab'.repeat(32)}`)
      .digest('hex');
    expect(chunkIdempotencyKey(base)).toBe(expected);
    expect(chunkIdempotencyKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable for the same chunk and differs when any part differs', () => {
    const keys = new Set([
      chunkIdempotencyKey(base),
      chunkIdempotencyKey({ ...base, tenantId: 't2' }),
      chunkIdempotencyKey({ ...base, reportId: 'r-2' }),
      chunkIdempotencyKey({ ...base, chunkIndex: 4 }),
      chunkIdempotencyKey({ ...base, checksum: 'cd'.repeat(32) }),
    ]);
    expect(keys.size).toBe(5);
    expect(chunkIdempotencyKey({ ...base })).toBe(chunkIdempotencyKey(base));
  });

  it('cannot be confused by a tenant id containing the separator', () => {
    expect(chunkIdempotencyKey({ ...base, tenantId: 'a|r-1' })).not.toBe(
      chunkIdempotencyKey({ ...base, tenantId: 'a', reportId: 'r-1' }),
    );
  });
});
