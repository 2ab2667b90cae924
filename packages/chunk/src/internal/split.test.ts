import { isRediverError, MAX_TOTAL_CHUNKS } from '@rediver/core';
import type { Asset, Finding, Report } from '@rediver/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Stream } from './checksum';
import { ChunkSplitter, planSplit, reassembleChunks } from './split';
import type { SplitLimits, StoredChunkData } from './split';

const big: SplitLimits = {
  maxFindingsPerChunk: 500,
  maxAssetsPerChunk: 100,
  maxChunkSizeBytes: 2 * 1024 * 1024,
};

function finding(i: number, extra: Partial<Finding> = {}): Finding {
  return { type: 'code', title: `finding ${i}`, severity: 'low', ...extra };
}

function report(findings: Finding[], assets: Asset[] = [], id = 'r-1'): Report {
  return {
    version: '1.0',
    metadata: { id, timestamp: '2026-01-01T00:00:00Z' },
    tool: { name: 'x' },
    assets,
    findings,
  };
}

function chunksOf(
  r: Report,
  limits: SplitLimits,
): { json: Buffer[]; data: StoredChunkData[]; oversize: boolean[] } {
  const plan = planSplit(r, limits);
  const json: Buffer[] = [];
  const oversize: boolean[] = [];
  for (let i = 0; i < plan.totalChunks; i++) {
    const c = plan.render(i);
    json.push(c.json);
    oversize.push(c.oversize);
  }
  return { json, data: json.map((b) => JSON.parse(b.toString('utf8')) as StoredChunkData), oversize };
}

const canon = (a: Asset[] | undefined): string[] => (a ?? []).map((x) => JSON.stringify(x)).sort();

const ids = ['a', 'b', 'c', 'd', 'e'];
const assetArb: fc.Arbitrary<Asset> = fc.record(
  {
    id: fc.constantFrom(...ids),
    type: fc.constantFrom('host', 'repository'),
    value: fc.string({ unit: 'binary', maxLength: 40 }),
    tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  },
  { requiredKeys: ['type', 'value'] },
);
const findingArb: fc.Arbitrary<Finding> = fc.record(
  {
    type: fc.constantFrom('code', 'secret'),
    title: fc.string({ unit: 'binary', maxLength: 60 }),
    severity: fc.constantFrom('critical' as const, 'low' as const),
    asset_ref: fc.constantFrom(...ids, 'missing'),
    description: fc.string({ unit: 'grapheme', maxLength: 400 }),
  },
  { requiredKeys: ['type', 'title', 'severity'] },
);
const reportArb: fc.Arbitrary<Report> = fc
  .record(
    {
      findings: fc.array(findingArb, { maxLength: 60 }),
      assets: fc.array(assetArb, { maxLength: 15 }),
      dependencies: fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }) }), {
        maxLength: 2,
      }),
      properties: fc.dictionary(fc.string({ maxLength: 5 }), fc.integer()),
    },
    { requiredKeys: ['findings'] },
  )
  .map((parts) => {
    const r: Report = {
      version: '1.0',
      metadata: { id: 'prop-1', timestamp: 't' },
      tool: { name: 'fc' },
      ...parts,
    };
    if (r.findings?.length === 0) delete r.findings;
    if (r.assets?.length === 0) delete r.assets;
    return r;
  });
const limitsArb: fc.Arbitrary<SplitLimits> = fc.record({
  maxFindingsPerChunk: fc.integer({ min: 1, max: 8 }),
  maxAssetsPerChunk: fc.integer({ min: 1, max: 6 }),
  maxChunkSizeBytes: fc.integer({ min: 200, max: 3000 }),
});

describe('planSplit', () => {
  it('reassembles to the same report and keeps every bound and self-containment (property)', () => {
    fc.assert(
      fc.property(reportArb, limitsArb, (r, limits) => {
        const { json, data, oversize } = chunksOf(r, limits);
        const n = data.length;
        const back = reassembleChunks(data);
        // Findings in order; assets as the same multiset (repeats removed); every other field exact.
        expect(back.findings).toEqual(r.findings);
        expect(canon(back.assets)).toEqual(canon(r.assets));
        expect({ ...back, assets: undefined, findings: undefined }).toEqual({
          ...r,
          assets: undefined,
          findings: undefined,
        });
        const reportIds = new Set((r.assets ?? []).map((a) => a.id).filter((x) => x !== undefined));
        data.forEach((c, i) => {
          expect(c.report_id).toBe('prop-1');
          expect(c.chunk_index).toBe(i);
          expect(c.total_chunks).toBe(n);
          expect(c.is_final).toBe(i === n - 1);
          expect(c.tool !== undefined).toBe(i === 0);
          expect(c.metadata !== undefined).toBe(i === 0);
          expect((c.findings ?? []).length).toBeLessThanOrEqual(limits.maxFindingsPerChunk);
          if (oversize[i]) expect((c.findings ?? []).length).toBeLessThanOrEqual(1);
          else expect(json[i]!.length).toBeLessThanOrEqual(limits.maxChunkSizeBytes);
          if ((c.assets ?? []).length > limits.maxAssetsPerChunk)
            expect((c.findings ?? []).length).toBeLessThanOrEqual(1);
          const here = new Set((c.assets ?? []).map((a) => a.id));
          for (const f of c.findings ?? []) {
            if (f.asset_ref !== undefined && reportIds.has(f.asset_ref))
              expect(here.has(f.asset_ref)).toBe(true);
          }
        });
        // An asset no finding references appears exactly once overall.
        const refs = new Set((r.findings ?? []).map((f) => f.asset_ref));
        const all = data.flatMap((c) => c.assets ?? []);
        for (const a of r.assets ?? []) {
          if (a.id !== undefined && refs.has(a.id)) continue;
          const s = JSON.stringify(a);
          const want = (r.assets ?? []).filter((x) => JSON.stringify(x) === s).length;
          expect(all.filter((x) => JSON.stringify(x) === s).length).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic byte for byte and its content hash does not depend on the limits (property)', () => {
    fc.assert(
      fc.property(reportArb, limitsArb, limitsArb, (r, l1, l2) => {
        const a = chunksOf(r, l1).json;
        const b = chunksOf(structuredClone(r), l1).json;
        expect(Buffer.concat(b).equals(Buffer.concat(a))).toBe(true);
        // Streamed while rendering in order, or computed from the pieces: the same hash, for any limits.
        const rendered = planSplit(r, l1);
        for (let i = 0; i < rendered.totalChunks; i++) rendered.render(i);
        expect(rendered.contentHash()).toBe(planSplit(r, l2).contentHash());
      }),
      { numRuns: 100 },
    );
  });

  it('gives a different content hash for different content', () => {
    const r1 = report([finding(1)]);
    const r2 = report([finding(2)]);
    expect(planSplit(r1, big).contentHash()).not.toBe(planSplit(r2, big).contentHash());
  });

  it('cuts at exactly maxFindingsPerChunk', () => {
    const at = Array.from({ length: 500 }, (_, i) => finding(i));
    expect(planSplit(report(at), big).totalChunks).toBe(1);
    expect(planSplit(report([...at, finding(500)]), big).totalChunks).toBe(2);
  });

  it('cuts at exactly maxAssetsPerChunk', () => {
    const assets = Array.from({ length: 4 }, (_, i) => ({ id: `a${i}`, type: 'host', value: `h${i}` }));
    const findings = assets.map((a, i) => finding(i, { asset_ref: a.id }));
    const limits = { ...big, maxAssetsPerChunk: 4 };
    expect(planSplit(report(findings, assets), limits).totalChunks).toBe(1);
    expect(planSplit(report(findings, assets), { ...limits, maxAssetsPerChunk: 3 }).totalChunks).toBe(2);
  });

  it('fills a chunk to exactly maxChunkSizeBytes (total_chunks counted at its widest) and not one byte more', () => {
    const findings = Array.from({ length: 3 }, (_, i) => finding(i));
    const twoPerChunk = chunksOf(report(findings), { ...big, maxFindingsPerChunk: 2 });
    // Chunk 0 with two findings, not final; its "total_chunks":2 is planned as 5 digits (10000).
    const rendered = twoPerChunk.json[0]!.length;
    const planned = rendered + String(MAX_TOTAL_CHUNKS).length - 1;
    const at = chunksOf(report(findings), { ...big, maxChunkSizeBytes: planned });
    expect(at.data[0]!.findings).toHaveLength(2);
    expect(at.json[0]!.length).toBe(rendered);
    const under = chunksOf(report(findings), { ...big, maxChunkSizeBytes: planned - 1 });
    expect(under.data[0]!.findings).toHaveLength(1);
    expect(under.json.every((j) => j.length <= planned - 1)).toBe(true);
  });

  it('counts bytes, not characters (multi-byte text)', () => {
    const findings = Array.from({ length: 40 }, (_, i) => finding(i, { description: 'é漢🙂'.repeat(20) }));
    const { json } = chunksOf(report(findings), { ...big, maxChunkSizeBytes: 1500 });
    for (const j of json) expect(j.length).toBeLessThanOrEqual(1500);
  });

  it('sends a finding bigger than maxChunkSizeBytes alone, flagged oversize', () => {
    const findings = [finding(0), finding(1, { description: 'x'.repeat(5000) }), finding(2)];
    const { data, oversize, json } = chunksOf(report(findings), { ...big, maxChunkSizeBytes: 2048 });
    expect(data.map((c) => c.findings?.map((f) => f.title))).toEqual([
      ['finding 0'],
      ['finding 1'],
      ['finding 2'],
    ]);
    expect(oversize).toEqual([false, true, false]);
    expect(json[1]!.length).toBeGreaterThan(2048);
  });

  it('never merges assets without an id', () => {
    const same = { type: 'host', value: 'h' };
    const { data } = chunksOf(report([], [same, same, same]), { ...big, maxAssetsPerChunk: 2 });
    expect(data.flatMap((c) => c.assets ?? [])).toEqual([same, same, same]);
  });

  it('stores an empty report as one final chunk carrying tool and metadata', () => {
    const { data } = chunksOf(
      { version: '1.0', metadata: { id: 'e', timestamp: 't' }, tool: { name: 'x' } },
      big,
    );
    expect(data).toEqual([
      {
        report_id: 'e',
        chunk_index: 0,
        total_chunks: 1,
        tool: { name: 'x' },
        metadata: { id: 'e', timestamp: 't' },
        version: '1.0',
        is_final: true,
      },
    ]);
  });

  it(`allows exactly ${MAX_TOTAL_CHUNKS} chunks and refuses one more`, () => {
    const one = { ...big, maxFindingsPerChunk: 1 };
    const findings = Array.from({ length: MAX_TOTAL_CHUNKS }, (_, i) => finding(i));
    expect(planSplit(report(findings), one).totalChunks).toBe(MAX_TOTAL_CHUNKS);
    let err: unknown;
    try {
      planSplit(report([...findings, finding(-1)]), one);
    } catch (e) {
      err = e;
    }
    expect(isRediverError(err, 'REPORT_TOO_LARGE')).toBe(true);
  });

  it('enforces the report id rule at its edges', () => {
    expect(planSplit(report([], [], 'a'.repeat(256)), big).reportId).toHaveLength(256);
    for (const bad of ['a'.repeat(257), '', 'a b', 'a/b', 'é']) {
      let err: unknown;
      try {
        planSplit(report([], [], bad), big);
      } catch (e) {
        err = e;
      }
      expect(isRediverError(err, 'REPORT_ID_INVALID')).toBe(true);
    }
  });

  it('refuses findings that are not objects', () => {
    expect(() => planSplit(report([null as unknown as Finding]), big)).toThrow(/findings\[0\]/);
  });

  it('cuts the same chunks, byte for byte, serialising runs of findings or one finding at a time (property)', () => {
    fc.assert(
      fc.property(reportArb, limitsArb, (r, limits) => {
        const runs = planSplit(r, limits);
        const single = planSplit(r, limits, { batch: false });
        expect(runs.totalChunks).toBe(single.totalChunks);
        for (let i = 0; i < runs.totalChunks; i++) {
          expect(runs.render(i).json.equals(single.render(i).json)).toBe(true);
        }
        expect(runs.contentHash()).toBe(single.contentHash());
      }),
      { numRuns: 300 },
    );
  });

  it('cuts the same chunks either way on a large report whose byte bound sometimes decides', () => {
    // Sizes vary by a factor of 50, so some chunks close on the byte bound, some on the count, some on assets.
    const assets = Array.from({ length: 40 }, (_, i) => ({ id: `a${i}`, type: 'host', value: `h${i}` }));
    const findings = Array.from({ length: 3000 }, (_, i) =>
      finding(i, { asset_ref: `a${Math.floor(i / 7) % 40}`, description: 'd'.repeat((i * 7919) % 5000) }),
    );
    const limits = { maxFindingsPerChunk: 120, maxAssetsPerChunk: 9, maxChunkSizeBytes: 64 * 1024 };
    const runs = planSplit(report(findings, assets), limits);
    const single = planSplit(report(findings, assets), limits, { batch: false });
    expect(runs.totalChunks).toBeGreaterThan(30);
    expect(runs.totalChunks).toBe(single.totalChunks);
    for (let i = 0; i < runs.totalChunks; i++) {
      const a = runs.render(i).json;
      expect(a.equals(single.render(i).json)).toBe(true);
      expect(a.length).toBeLessThanOrEqual(limits.maxChunkSizeBytes);
    }
  });

  it("lets the caller compute the content hash from the prefix, each chunk's findings range and the suffix", () => {
    const assets = [{ id: 'a', type: 'host', value: 'h' }];
    const findings = Array.from({ length: 50 }, (_, i) => finding(i, { asset_ref: 'a' }));
    const limits = { ...big, maxFindingsPerChunk: 7 };
    const splitter = new ChunkSplitter(report(findings, assets), limits, { hash: false });
    const h = sha256Stream().update(splitter.contentPrefix());
    for (let c = splitter.next(); c !== undefined; c = splitter.next()) {
      if (c.findingsEnd > c.findingsAt) h.update(c.buffer.subarray(c.findingsAt, c.findingsEnd)).update(',');
    }
    h.update(splitter.contentSuffix());
    expect(h.digest('hex')).toBe(planSplit(report(findings, assets), big).contentHash());
    expect(() => splitter.contentHash()).toThrow(/not computed/);
  });

  it('guesses the final count while cutting, exactly for evenly sized findings', () => {
    const findings = Array.from({ length: 1234 }, (_, i) => finding(i));
    const splitter = new ChunkSplitter(report(findings), { ...big, maxFindingsPerChunk: 100 });
    const guesses: number[] = [];
    for (let c = splitter.next(); c !== undefined; c = splitter.next())
      guesses.push(splitter.estimateTotal());
    expect(splitter.count).toBe(13);
    expect(new Set(guesses)).toEqual(new Set([13]));
  });

  it('renders a cut chunk with whatever count it is given, head and tail in place', () => {
    const splitter = new ChunkSplitter(report([finding(1), finding(2)]), { ...big, maxFindingsPerChunk: 1 });
    const first = splitter.next()!;
    const a = JSON.parse(splitter.render(first, 7).toString('utf8')) as StoredChunkData;
    expect(a).toMatchObject({ chunk_index: 0, total_chunks: 7, is_final: false });
    const b = JSON.parse(splitter.render(first, 10_000).toString('utf8')) as StoredChunkData;
    expect(b).toMatchObject({ chunk_index: 0, total_chunks: 10_000, is_final: false });
    expect(b.findings).toEqual([finding(1)]);
  });

  it('refuses a finding that cannot be serialised, with its index, runs or not', () => {
    const findings: Finding[] = Array.from({ length: 40 }, (_, i) => finding(i));
    const cyclic: Record<string, unknown> = { type: 'code', title: 'x', severity: 'low' };
    cyclic.self = cyclic;
    findings[17] = cyclic as unknown as Finding;
    for (const batch of [true, false]) {
      let err: unknown;
      try {
        planSplit(report(findings), big, { batch });
      } catch (e) {
        err = e;
      }
      expect(isRediverError(err, 'VALIDATION_FAILED')).toBe(true);
      expect(String(err)).toMatch(/findings\[17\]/);
    }
  });

  it('treats a finding with toJSON exactly as on its own, runs or not', () => {
    const findings: Finding[] = Array.from({ length: 40 }, (_, i) => finding(i));
    // toJSON gets "" alone but the index in an array: the bytes must be those of the finding alone.
    findings[12] = { toJSON: (key: string) => finding(12, { title: `key=[${key}]` }) } as unknown as Finding;
    const runs = planSplit(report(findings), big);
    const single = planSplit(report(findings), big, { batch: false });
    expect(runs.render(0).json.equals(single.render(0).json)).toBe(true);
    expect(runs.render(0).json.toString()).toContain('key=[]');
    // A toJSON giving nothing is refused with its index, never written as null.
    findings[12] = { toJSON: () => undefined } as unknown as Finding;
    for (const batch of [true, false]) {
      expect(() => planSplit(report(findings), big, { batch })).toThrow(/findings\[12\]/);
    }
  });
});
