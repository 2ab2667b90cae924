import { ERROR_CODES, isValidReportId, MAX_TOTAL_CHUNKS } from '@rediver/core';
import type { Asset, ChunkData, Finding, Report } from '@rediver/core';
import { sha256Stream } from './checksum';
import { ChunkError } from './errors';
import { PieceArena } from './pieceArena';

/** The limits a split honours. */
export interface SplitLimits {
  readonly maxFindingsPerChunk: number;
  readonly maxAssetsPerChunk: number;
  readonly maxChunkSizeBytes: number;
}

/**
 * Chunk JSON as stored: `ChunkData`, plus (chunk 0 only) the report's top-level fields ChunkData has no
 * place for, so a stored report can be reassembled whole. The platform ignores unknown fields.
 */
export interface StoredChunkData extends ChunkData {
  version?: string;
  $schema?: string;
  dependencies?: Report['dependencies'];
  properties?: Report['properties'];
}

/** One planned chunk: which assets (indices into the report's assets) and which findings (a range). */
interface PlannedChunk {
  assets: number[];
  findingStart: number;
  findingEnd: number;
  /** Exact JSON bytes (with the final total_chunks digits). */
  bytes: number;
  /** A single finding (or asset group) bigger than `maxChunkSizeBytes` alone. */
  oversize: boolean;
}

/** One rendered chunk. */
export interface RenderedChunk {
  index: number;
  /** UTF-8 JSON of the chunk (`StoredChunkData`). */
  json: Buffer;
  findings: number;
  assets: number;
  oversize: boolean;
}

/** A report prepared for storage: pieces serialised once, chunk plan fixed. */
export interface SplitPlan {
  readonly reportId: string;
  readonly totalChunks: number;
  readonly oversizeChunks: number;
  /**
   * Renders chunk `index` (deterministic, byte for byte). With `reuse`, `json` is a view of a scratch
   * buffer that the next `render(…, true)` overwrites (no allocation per chunk on the store's hot path).
   */
  render(index: number, reuse?: boolean): RenderedChunk;
  /**
   * Hex SHA-256 of the report's canonical content: the chunk-0 fields (in fixed order), then every asset
   * and every finding as `JSON.stringify` writes them, independent of how the report was split.
   */
  contentHash(): string;
}

const enc = (s: string): number => Buffer.byteLength(s, 'utf8');
const ASSETS_OPEN = ',"assets":[';
const FINDINGS_OPEN = ',"findings":[';
const COMMA = 0x2c;
const CLOSE = 0x5d;
const digits = (n: number): number => String(n).length;

function refuse(
  code: 'REPORT_ID_INVALID' | 'REPORT_TOO_LARGE' | 'VALIDATION_FAILED',
  message: string,
  details?: Record<string, unknown>,
): never {
  throw new ChunkError(ERROR_CODES[code], message, details === undefined ? {} : { details });
}

function itemJson(kind: string, item: unknown, index: number): string {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    refuse('VALIDATION_FAILED', `${kind}[${index}] is not an object`, { index });
  }
  return JSON.stringify(item);
}

/**
 * Plans the chunks of `report`. Deterministic: findings keep their order and are cut greedily; each
 * finding's `asset_ref` asset group (every asset with that id) is copied into each chunk that needs it, so
 * every chunk is self-contained; assets no finding references (and assets without an id, which never
 * merge) follow, once each. Sizes are exact byte counts of the final JSON. Refuses a bad report id and more
 * than `MAX_TOTAL_CHUNKS` chunks.
 */
export function planSplit(report: Report, limits: SplitLimits): SplitPlan {
  if (
    typeof report !== 'object' ||
    report === null ||
    typeof report.metadata !== 'object' ||
    report.metadata === null
  ) {
    refuse('VALIDATION_FAILED', 'report.metadata is required');
  }
  const rawId: unknown = report.metadata.id;
  if (!isValidReportId(rawId)) {
    refuse('REPORT_ID_INVALID', 'report.metadata.id must be 1..256 characters of [A-Za-z0-9_-]', {
      reportId: typeof rawId === 'string' ? rawId.slice(0, 300) : typeof rawId,
    });
  }
  const reportId = rawId;
  const assets: readonly Asset[] = report.assets ?? [];
  const findings: readonly Finding[] = report.findings ?? [];
  if (!Array.isArray(assets)) refuse('VALIDATION_FAILED', 'report.assets must be an array');
  if (!Array.isArray(findings)) refuse('VALIDATION_FAILED', 'report.findings must be an array');

  // Pieces 0..assets-1 are the assets, then the findings (piece assets.length + f).
  const arena = new PieceArena();
  const assetBytes: number[] = [];
  for (let i = 0; i < assets.length; i++)
    assetBytes.push(arena.bytes(arena.add(itemJson('assets', assets[i], i))));
  const findingBytes: number[] = [];
  for (let i = 0; i < findings.length; i++)
    findingBytes.push(arena.bytes(arena.add(itemJson('findings', findings[i], i))));
  const F0 = assets.length;

  // Asset groups: every asset with the same id travels together; an asset without an id is its own group.
  const groupOf = new Map<string, number[]>();
  const groups: number[][] = [];
  for (let i = 0; i < assets.length; i++) {
    const id = assets[i]!.id;
    if (typeof id === 'string') {
      const g = groupOf.get(id);
      if (g) g.push(i);
      else {
        const ng = [i];
        groupOf.set(id, ng);
        groups.push(ng);
      }
    } else groups.push([i]);
  }
  const referenced = new Set<number[]>();
  const findingGroup: (number[] | undefined)[] = findings.map((f) => {
    const g = typeof f.asset_ref === 'string' ? groupOf.get(f.asset_ref) : undefined;
    if (g) referenced.add(g);
    return g;
  });
  const groupBytes = new Map<number[], number>();
  for (const g of groups) groupBytes.set(g, g.reduce((s, i) => s + assetBytes[i]!, 0) + g.length);

  const idJson = JSON.stringify(reportId);
  const extras = chunkZeroExtras(report);
  const extrasBytes = enc(extras);
  // `{"report_id":<id>,"chunk_index":<i>,"total_chunks":<n>` <extras> `,"is_final":false}`
  const fixedBytes = enc(`{"report_id":${idJson},"chunk_index":,"total_chunks":,"is_final":false}`);
  // Exact bytes added by list members: the first brings its key and brackets, the others a comma.
  const ASSETS_KEY = enc(',"assets":[]') - 1; // groupBytes already counts one comma per asset
  const FINDINGS_KEY = enc(',"findings":[]');

  const plan = (totalDigits: number): PlannedChunk[] => {
    const chunks: PlannedChunk[] = [];
    let cur!: PlannedChunk;
    let carried = new Set<number[]>();
    const open = (start: number): void => {
      const index = chunks.length;
      const bytes = fixedBytes + digits(index) + totalDigits + (index === 0 ? extrasBytes : 0);
      // Chunk 0's tool and metadata alone may exceed the bound: it still travels, flagged like a big finding.
      cur = {
        assets: [],
        findingStart: start,
        findingEnd: start,
        bytes,
        oversize: bytes > limits.maxChunkSizeBytes,
      };
      chunks.push(cur);
      carried = new Set();
    };
    const isEmpty = (): boolean => cur.findingEnd === cur.findingStart && cur.assets.length === 0;
    const groupCost = (g: number[]): number =>
      (cur.assets.length === 0 ? ASSETS_KEY : 0) + groupBytes.get(g)!;
    open(0);
    for (let f = 0; f < findings.length; f++) {
      const g = findingGroup[f];
      const cost = (): [number, number] => {
        const needG = g !== undefined && !carried.has(g);
        const bytes =
          (cur.findingEnd === cur.findingStart ? FINDINGS_KEY : 1) +
          findingBytes[f]! +
          (needG ? groupCost(g) : 0);
        return [bytes, needG ? g.length : 0];
      };
      let [bytes, nAssets] = cost();
      const fits =
        cur.findingEnd - cur.findingStart + 1 <= limits.maxFindingsPerChunk &&
        cur.assets.length + nAssets <= limits.maxAssetsPerChunk &&
        cur.bytes + bytes <= limits.maxChunkSizeBytes;
      if (!fits && !isEmpty()) {
        open(f);
        [bytes, nAssets] = cost();
      }
      if (nAssets > 0) {
        cur.assets.push(...g!);
        carried.add(g!);
      }
      cur.bytes += bytes;
      cur.findingEnd = f + 1;
      if (cur.bytes > limits.maxChunkSizeBytes) cur.oversize = true;
    }
    for (const g of groups) {
      if (referenced.has(g)) continue;
      let bytes = groupCost(g);
      const fits =
        cur.assets.length + g.length <= limits.maxAssetsPerChunk &&
        cur.bytes + bytes <= limits.maxChunkSizeBytes;
      if (!fits && !isEmpty()) {
        open(findings.length);
        bytes = groupCost(g);
      }
      cur.assets.push(...g);
      cur.bytes += bytes;
      if (cur.bytes > limits.maxChunkSizeBytes) cur.oversize = true;
    }
    return chunks;
  };

  // total_chunks appears in every chunk, so its digits change sizes: plan until the digits agree.
  let totalDigits = 1;
  let chunks = plan(totalDigits);
  for (let i = 0; i < 6 && digits(chunks.length) > totalDigits; i++) {
    totalDigits = digits(chunks.length);
    chunks = plan(totalDigits);
  }
  const totalChunks = chunks.length;
  if (totalChunks > MAX_TOTAL_CHUNKS) {
    refuse(
      'REPORT_TOO_LARGE',
      `report splits into ${totalChunks} chunks, over the platform's ${MAX_TOTAL_CHUNKS}`,
      {
        totalChunks,
        maxTotalChunks: MAX_TOTAL_CHUNKS,
      },
    );
  }
  // Slack from fewer total_chunks digits than planned is fine: sizes only shrink.

  // The content hash streams over the findings' bytes as chunks are rendered in order (no second
  // encoding pass); rendering out of order falls back to hashing the serialised pieces directly.
  const streamed = sha256Stream();
  let nextInOrder = 0;
  let streamedHash: string | undefined;
  const startContentHash = (h: ReturnType<typeof sha256Stream>): void => {
    h.update('rediver-report-content-v1\n');
    h.update(extras);
    h.update('\n');
    for (let i = 0; i < assets.length; i++) h.update(arena.view(i)).update(',');
    h.update('\n');
  };
  startContentHash(streamed);

  let scratch: Buffer | undefined;
  const render = (index: number, reuse = false): RenderedChunk => {
    const c = chunks[index]!;
    const isFinal = index === totalChunks - 1;
    let head = `{"report_id":${idJson},"chunk_index":${index},"total_chunks":${totalChunks}`;
    if (index === 0) head += extras;
    const tail = `,"is_final":${isFinal}}`;
    const k = c.assets.length;
    const n = c.findingEnd - c.findingStart;
    let size = enc(head) + tail.length;
    if (k > 0) {
      size += ASSETS_OPEN.length + k; // key and "[", k-1 commas, "]"
      for (const i of c.assets) size += assetBytes[i]!;
    }
    if (n > 0) {
      size += FINDINGS_OPEN.length + n;
      for (let f = c.findingStart; f < c.findingEnd; f++) size += findingBytes[f]!;
    }
    let json: Buffer;
    if (!reuse) json = Buffer.allocUnsafe(size);
    else {
      if (scratch === undefined || scratch.length < size)
        scratch = Buffer.allocUnsafe(Math.max(size, 2 * (scratch?.length ?? 0)));
      json = scratch.subarray(0, size);
    }
    let p = json.write(head, 0, 'utf8');
    if (k > 0) {
      p += json.write(ASSETS_OPEN, p, 'latin1');
      c.assets.forEach((i, j) => {
        if (j > 0) json[p++] = COMMA;
        p = arena.copyTo(i, json, p);
      });
      json[p++] = CLOSE;
    }
    let findingsAt = 0;
    if (n > 0) {
      p += json.write(FINDINGS_OPEN, p, 'latin1');
      findingsAt = p;
      for (let f = c.findingStart; f < c.findingEnd; f++) {
        if (f > c.findingStart) json[p++] = COMMA;
        p = arena.copyTo(F0 + f, json, p);
      }
    }
    const findingsEnd = p;
    if (n > 0) json[p++] = CLOSE;
    p += json.write(tail, p, 'latin1');
    if (p !== size)
      throw new ChunkError(ERROR_CODES.INTERNAL, `chunk ${index} rendered ${p} bytes, planned ${size}`);
    if (index === nextInOrder) {
      nextInOrder += 1;
      if (n > 0) streamed.update(json.subarray(findingsAt, findingsEnd)).update(',');
      if (nextInOrder === totalChunks) streamedHash = streamed.digest('hex');
    }
    return { index, json, findings: n, assets: k, oversize: c.oversize };
  };

  const contentHash = (): string => {
    if (streamedHash !== undefined) return streamedHash;
    const h = sha256Stream();
    startContentHash(h);
    // Same bytes as the streamed form: the findings joined by commas, one trailing comma.
    for (let f = 0; f < findings.length; f++) h.update(arena.view(F0 + f)).update(',');
    return h.digest('hex');
  };

  return {
    reportId,
    totalChunks,
    oversizeChunks: chunks.filter((c) => c.oversize).length,
    render,
    contentHash,
  };
}

/** Chunk 0's extra members, each `,"key":value`, in a fixed order. */
function chunkZeroExtras(report: Report): string {
  let s = '';
  const add = (key: string, value: unknown): void => {
    if (value !== undefined) s += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  };
  add('tool', report.tool);
  add('metadata', report.metadata);
  add('version', report.version);
  add('$schema', report.$schema);
  add('dependencies', report.dependencies);
  add('properties', report.properties);
  return s;
}

/**
 * Rebuilds a report from its chunks (in any order). Findings come back in order; assets come back as the
 * same multiset (each asset group once, from the first chunk carrying it). Inverse of `planSplit`.
 */
export function reassembleChunks(chunks: readonly StoredChunkData[]): Report {
  const sorted = [...chunks].sort((a, b) => a.chunk_index - b.chunk_index);
  const first = sorted[0];
  if (!first || first.chunk_index !== 0)
    throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'chunk 0 is missing');
  const report: Report = { version: first.version as string, metadata: first.metadata! };
  if (first.version === undefined) delete (report as Partial<Report>).version;
  if (first.$schema !== undefined) report.$schema = first.$schema;
  if (first.tool !== undefined) report.tool = first.tool;
  if (first.dependencies !== undefined) report.dependencies = first.dependencies;
  if (first.properties !== undefined) report.properties = first.properties;
  const assets: Asset[] = [];
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const c of sorted) {
    const inChunk = new Set<string>();
    for (const a of c.assets ?? []) {
      if (typeof a.id === 'string') {
        if (seen.has(a.id) && !inChunk.has(a.id)) continue;
        seen.add(a.id);
        inChunk.add(a.id);
      }
      assets.push(a);
    }
    for (const f of c.findings ?? []) findings.push(f);
  }
  if (assets.length > 0) report.assets = assets;
  if (findings.length > 0) report.findings = findings;
  return report;
}
