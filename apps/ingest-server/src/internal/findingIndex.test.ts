import { describe, expect, it } from 'vitest';
import { FindingIndex, hashKey } from './findingIndex';

describe('FindingIndex', () => {
  const rows = new Map<number, { tenant_id: string; fingerprint: string }>();
  const rowAt = (rowid: number) => rows.get(rowid);
  const put = (index: FindingIndex, rowid: number, tenant: string, fingerprint: string) => {
    rows.set(rowid, { tenant_id: tenant, fingerprint });
    index.add(tenant, fingerprint, rowid);
  };

  it('finds a finding by tenant and fingerprint, and only in its tenant', () => {
    const index = new FindingIndex();
    put(index, 1, 'a', 'fp-1');
    put(index, 2, 'b', 'fp-1');
    expect(index.find('a', 'fp-1', rowAt)).toBe(1);
    expect(index.find('b', 'fp-1', rowAt)).toBe(2);
    expect(index.find('a', 'fp-2', rowAt)).toBeUndefined();
    expect(index.find('c', 'fp-1', rowAt)).toBeUndefined();
    expect(index.size).toBe(2);
  });

  it('never trusts the hash alone: a row that is not the finding sends the lookup to the exact keys', () => {
    const index = new FindingIndex();
    put(index, 10, 't', 'x');
    // The hash of ('t','x') now points at row 10; pretend row 10 holds another finding (a collision).
    rows.set(10, { tenant_id: 't', fingerprint: 'someone else' });
    expect(index.find('t', 'x', rowAt)).toBeUndefined();
    // A second finding with the same hash is kept under its full key.
    put(index, 11, 't', 'x');
    expect(index.find('t', 'x', rowAt)).toBe(11);
  });

  it('forgets what a rolled-back transaction added', () => {
    const index = new FindingIndex();
    put(index, 20, 't', 'kept');
    put(index, 21, 't', 'rolled-back');
    index.remove('t', 'rolled-back', 21);
    expect(index.find('t', 'rolled-back', rowAt)).toBeUndefined();
    expect(index.find('t', 'kept', rowAt)).toBe(20);
  });

  it('hashes the tenant and the fingerprint apart', () => {
    expect(hashKey('ab', 'c')).not.toBe(hashKey('a', 'bc'));
    expect(hashKey('t', 'fp')).toBe(hashKey('t', 'fp'));
    expect(Number.isSafeInteger(hashKey('t', 'f'.repeat(64)))).toBe(true);
  });
});
