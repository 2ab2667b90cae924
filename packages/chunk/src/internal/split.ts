import { ERROR_CODES, isValidReportId, MAX_TOTAL_CHUNKS } from '@rediver/core';
import type { Asset, Finding, Report } from '@rediver/core';
import { sha256Stream } from './checksum';
import { ChunkError } from '../errors';
import { PieceArena } from './pieceArena';
export { reassembleChunks } from '../reassemble';

export type { StoredChunkData } from '../chunkStoreTypes';

/** The limits a split honours. */
export interface SplitLimits {
  readonly maxFindingsPerChunk: number;
  readonly maxAssetsPerChunk: number;
  readonly maxChunkSizeBytes: number;
}

/** Knobs of the splitter that change how it works, never what it produces. */
export interface SplitterTuning {
  /**
   * Serialise runs of findings with one `JSON.stringify` of the slice, taken whole when the run fits
   * (the usual case); false forces one call per finding. Both give the same chunks, byte for byte.
   */
  readonly batch?: boolean;
  /** Memory for a cut chunk of `bytes` bytes (default: its own, unpooled `Buffer`). */
  readonly allocate?: (bytes: number) => Buffer;
  /**
   * Compute the content hash here (default). False leaves it to the caller: `contentPrefix()`, then each
   * cut chunk's findings (`findingsAt..findingsEnd`) followed by a comma, in order.
   */
  readonly hash?: boolean;
  /**
   * Findings arrive later through `push()` until `end()` (a streaming submit); the report's own `findings`
   * must then be absent. Default false: the report's findings are all there is.
   */
  readonly streaming?: boolean;
  /**
   * Also compute the content hash of earlier versions (`legacyContentHash()`: chunk 0's fields first), to
   * compare with a report stored before the header could be given at the end. Needs `hash` on.
   */
  readonly legacyHash?: boolean;
}

/**
 * One chunk as cut: its JSON up to its tail. The tail (`,"total_chunks":N,"is_final":b}`) is the only part
 * that depends on how many chunks there are, which a streaming submit learns only at its end: it comes
 * last in the JSON (JSON objects are unordered; the platform reads fields by name) and travels as a zstd
 * frame of its own, concatenated to the body's.
 */
export interface CutChunk {
  readonly index: number;
  /** True for the report's last chunk (`is_final`). */
  readonly last: boolean;
  readonly findings: number;
  readonly assets: number;
  /** A single finding (or asset group, or chunk 0's head) bigger than `maxChunkSizeBytes` alone. */
  readonly oversize: boolean;
  /** The head (`{"report_id":…,"chunk_index":i`, chunk 0's extras), then the members, nothing else. */
  readonly buffer: Buffer;
  /** Where the members start in `buffer`. */
  readonly bodyAt: number;
  /** The findings in `buffer`, joined by commas, without brackets (empty range when none). */
  readonly findingsAt: number;
  readonly findingsEnd: number;
}

/**
 * Room chunk 0 keeps for its header fields (tool, metadata, properties…) when they are smaller: a streamed
 * report whose header is final only at its end (`commit({ header })`) is cut exactly like the whole report
 * as long as both headers fit in it, since where chunk 0 ends never depends on the header's size then.
 */
export function headerReserveBytes(maxChunkSizeBytes: number): number {
  return Math.min(16 * 1024, Math.floor(maxChunkSizeBytes / 8));
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

/** A report split in full: every chunk cut, ready to render. */
export interface SplitPlan {
  readonly reportId: string;
  readonly totalChunks: number;
  readonly oversizeChunks: number;
  /** Renders chunk `index` (deterministic, byte for byte). */
  render(index: number): RenderedChunk;
  /**
   * Hex SHA-256 of the report's canonical content: the chunk-0 fields (in fixed order), then every asset
   * and every finding as `JSON.stringify` writes them, independent of how the report was split.
   */
  contentHash(): string;
}

const enc = (s: string): number => Buffer.byteLength(s, 'utf8');
const digits = (n: number): number => String(n).length;
/**
 * `total_chunks` is planned at its widest (5 digits for 10,000), so where a chunk is cut never depends on
 * how many chunks there will be: chunks can be cut, rendered and compressed while later findings are
 * still being serialised. The cost is at most 4 bytes of a chunk's budget.
 */
const TOTAL_DIGITS = digits(MAX_TOTAL_CHUNKS);
const ASSETS_OPEN = ',"assets":[';
const FINDINGS_KEY = ',"findings":';
const COMMA = 0x2c;
const COMMA_BYTE = Buffer.from(',');
const NEWLINE_BYTE = Buffer.from('\n');
const OPEN = 0x5b;
const CLOSE = 0x5d;
/**
 * Target JSON size of one batch of findings: under V8's large-object threshold (128 KiB), so the string
 * dies young in the nursery instead of piling up in old space until a full collection.
 */
const BATCH_TARGET_BYTES = 48 * 1024;

function refuse(
  code: 'REPORT_ID_INVALID' | 'REPORT_TOO_LARGE' | 'VALIDATION_FAILED',
  message: string,
  details?: Record<string, unknown>,
): never {
  throw new ChunkError(ERROR_CODES[code], message, details === undefined ? {} : { details });
}

/** A finding or asset must be a (non-array) object. */
function isItem(item: unknown): item is object {
  return typeof item === 'object' && item !== null && !Array.isArray(item);
}

function checkItem(kind: string, item: unknown, index: number): void {
  if (!isItem(item)) refuse('VALIDATION_FAILED', `${kind}[${index}] is not an object`, { index });
}

function stringify(kind: string, value: unknown, index: number): string {
  let s: unknown;
  try {
    s = JSON.stringify(value);
  } catch (err) {
    refuse('VALIDATION_FAILED', `${kind}[${index}] cannot be serialised: ${(err as Error).message}`, {
      index,
    });
  }
  if (typeof s !== 'string')
    refuse('VALIDATION_FAILED', `${kind}[${index}] serialises to nothing`, { index });
  return s;
}

/** The chunk being filled. */
interface OpenChunk {
  index: number;
  bytes: number;
  assets: number[];
  carried: Set<number[]>;
  findingStart: number;
  findingEnd: number;
  oversize: boolean;
}

/**
 * Cuts a report into chunks one at a time, in order, serialising each finding once. Deterministic:
 * findings keep their order and are cut greedily; each finding's `asset_ref` asset group (every asset
 * with that id) is copied into each chunk that needs it, so every chunk is self-contained; assets no
 * finding references (and assets without an id, which never merge) follow, once each. Sizes are exact
 * byte counts of the final JSON (with `total_chunks` at its widest). Refuses a bad report id and more
 * than `MAX_TOTAL_CHUNKS` chunks.
 */
export class ChunkSplitter {
  readonly reportId: string;
  readonly #limits: SplitLimits;
  readonly #batch: boolean;
  readonly #allocate: (bytes: number) => Buffer;
  /** Findings not consumed yet: `#window[i]` is finding `#base + i` (consumed ones are trimmed away). */
  #window: unknown[] = [];
  /** Asset group of each finding in `#window`. */
  #windowGroups: (number[] | undefined)[] = [];
  #base = 0;
  /** No more findings will be pushed. */
  #ended = false;
  /** The chunk being filled, kept across `next()` calls while a stream waits for findings. */
  #open: OpenChunk | undefined;
  readonly #groupOf = new Map<string, number[]>();
  readonly #referenced = new Set<number[]>();
  readonly #arena = new PieceArena();
  readonly #assetBytes: number[] = [];
  readonly #groupBytes = new Map<number[], number>();
  /** Every asset group, in report order (the ones no finding referenced go last, once each). */
  readonly #groups: number[][] = [];
  /** Asset groups no finding references, in report order (known once the findings ended). */
  #loose: number[][] = [];
  readonly #idJson: string;
  /** Chunk 0's extra members of the current header (`setHeader` may change them until the end). */
  #extras: string;
  /** Bytes chunk 0 keeps for its extras: theirs at the start, at least `headerReserveBytes`. */
  readonly #headerBudget: number;
  /** The assets' JSON at the start (a header given later must carry the same). */
  readonly #assetsJson: string;
  readonly #legacy: ReturnType<typeof sha256Stream> | undefined;
  #legacyExtras: string;
  /** Bytes of `{"report_id":…,"chunk_index":,"total_chunks":,"is_final":false}` with 5 digits of total. */
  readonly #fixedBytes: number;
  readonly #assetsKeyBytes: number;
  readonly #findingsKeyBytes: number;
  readonly #hash: ReturnType<typeof sha256Stream> | undefined;
  readonly #prefix: Buffer;
  readonly #encoder = new TextEncoder();
  #contentHash: string | undefined;
  #next = 0;
  #nextLoose = 0;
  #count = 0;
  #done = false;
  /** Serialised findings so far and their bytes (to size batches). */
  #seenFindings = 0;
  #seenFindingBytes = 0;
  /** Findings before this index go one by one (see `#addRun`). */
  #singleUntil = 0;
  /** A finding serialised for a chunk it did not fit in (it opens the next one). */
  #carry: { index: number; json: string } | undefined;
  /**
   * The open chunk's findings as JSON, `[…]` (UTF-8, `#scratchEnd` bytes; empty when it has none).
   * Reused from chunk to chunk: its size is the largest chunk's, not the report's.
   */
  #scratch = Buffer.allocUnsafeSlow(64 * 1024);
  #scratchEnd = 0;

  constructor(report: Report, limits: SplitLimits, tuning: SplitterTuning = {}) {
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
    this.reportId = rawId;
    this.#limits = limits;
    this.#batch = tuning.batch ?? true;
    this.#allocate = tuning.allocate ?? ((bytes) => Buffer.allocUnsafeSlow(bytes));
    const assets: readonly Asset[] = report.assets ?? [];
    const findings: readonly Finding[] = report.findings ?? [];
    if (!Array.isArray(assets)) refuse('VALIDATION_FAILED', 'report.assets must be an array');
    if (!Array.isArray(findings)) refuse('VALIDATION_FAILED', 'report.findings must be an array');
    if (tuning.streaming === true && findings.length > 0) {
      refuse('VALIDATION_FAILED', 'a streamed report takes its findings through addFinding, not its header');
    }

    for (let i = 0; i < assets.length; i++) {
      checkItem('assets', assets[i], i);
      this.#assetBytes.push(this.#arena.bytes(this.#arena.add(stringify('assets', assets[i], i))));
    }
    // Asset groups: every asset with the same id travels together; an asset without an id is its own group.
    const groupOf = this.#groupOf;
    const groups = this.#groups;
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
    for (const g of groups) {
      // groupBytes counts one comma per asset; the list's key accounts for one less.
      this.#groupBytes.set(g, g.reduce((s, i) => s + this.#assetBytes[i]!, 0) + g.length);
    }

    this.#idJson = JSON.stringify(this.reportId);
    this.#extras = chunkZeroExtras(report);
    this.#legacyExtras = this.#extras;
    this.#headerBudget = Math.max(enc(this.#extras), headerReserveBytes(limits.maxChunkSizeBytes));
    this.#assetsJson = JSON.stringify(assets);
    this.#fixedBytes =
      enc(`{"report_id":${this.#idJson},"chunk_index":,"total_chunks":,"is_final":false}`) + TOTAL_DIGITS;
    this.#assetsKeyBytes = enc(',"assets":[]') - 1;
    this.#findingsKeyBytes = enc(',"findings":[]');

    // The content hash (v2): assets, findings, then chunk 0's fields, so that a header final only at the end
    // (`setHeader`) is hashed like the header of a whole report.
    const members: Uint8Array[] = [];
    for (let i = 0; i < assets.length; i++) members.push(this.#arena.view(i), COMMA_BYTE);
    members.push(NEWLINE_BYTE);
    this.#prefix = Buffer.concat([Buffer.from('rediver-report-content-v2\n', 'utf8'), ...members]);
    this.#hash = tuning.hash === false ? undefined : sha256Stream().update(this.#prefix);
    this.#legacy =
      tuning.hash === false || tuning.legacyHash !== true
        ? undefined
        : sha256Stream()
            .update(Buffer.from(`rediver-report-content-v1\n${this.#extras}\n`, 'utf8'))
            .update(Buffer.concat(members));
    if (tuning.streaming !== true) {
      this.push(findings);
      this.end();
    }
  }

  /** Appends findings (a streamed report; the whole-report form pushes its own at construction). */
  push(findings: readonly unknown[]): void {
    if (this.#ended) throw new ChunkError(ERROR_CODES.INTERNAL, 'findings pushed after the end');
    for (const f of findings) {
      const ref = (f as Finding | null | undefined)?.asset_ref;
      const g = typeof ref === 'string' ? this.#groupOf.get(ref) : undefined;
      if (g) this.#referenced.add(g);
      this.#window.push(f);
      this.#windowGroups.push(g);
    }
  }

  /** No more findings: the next `next()` calls cut what is left and the loose assets. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#loose = this.#groups.filter((g) => !this.#referenced.has(g));
  }

  /** Findings pushed so far. */
  get findingsSeen(): number {
    return this.#base + this.#window.length;
  }

  /** Finding `f` (absolute index), still in the window. */
  #finding(f: number): unknown {
    return this.#window[f - this.#base];
  }

  #group(f: number): number[] | undefined {
    return this.#windowGroups[f - this.#base];
  }

  /** Forgets the findings already serialised (the window never holds more than the unconsumed ones, about). */
  #trim(): void {
    const consumed = this.#next - this.#base;
    if (consumed < 256 && consumed * 2 < this.#window.length) return;
    this.#window = this.#window.slice(consumed);
    this.#windowGroups = this.#windowGroups.slice(consumed);
    this.#base = this.#next;
  }

  /** Chunks cut so far (the final count once `next()` returned the last one). */
  get count(): number {
    return this.#count;
  }

  /** True once the last chunk was cut. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * A guess of the final chunk count from what was cut so far (exact once `done`). Used to write
   * `total_chunks` into chunks cut early; a chunk written with a wrong guess must be re-rendered.
   */
  estimateTotal(): number {
    if (this.#done) return this.#count;
    const l = this.#limits;
    const left = this.findingsSeen - this.#next;
    const perChunk = this.#next > 0 && this.#count > 0 ? this.#next / this.#count : l.maxFindingsPerChunk;
    let loose = 0;
    let looseAssets = 0;
    for (let i = this.#nextLoose; i < this.#loose.length; i++) {
      loose += this.#groupBytes.get(this.#loose[i]!)!;
      looseAssets += this.#loose[i]!.length;
    }
    const tail = Math.round(Math.max(loose / l.maxChunkSizeBytes, looseAssets / l.maxAssetsPerChunk));
    // More than MAX_TOTAL_CHUNKS is refused anyway; a guess never needs more digits than the head's room.
    return Math.min(MAX_TOTAL_CHUNKS, this.#count + Math.max(1, Math.ceil(left / perChunk) + tail));
  }

  /**
   * Cuts the next chunk, or `undefined` after the last — or, for a streamed report before `end()`, when the
   * open chunk could still take findings not pushed yet (push more, then call again).
   */
  next(): CutChunk | undefined {
    if (this.#done) return undefined;
    const index = this.#count;
    if (this.#open === undefined) {
      if (index >= MAX_TOTAL_CHUNKS) {
        refuse('REPORT_TOO_LARGE', `report splits into more than the platform's ${MAX_TOTAL_CHUNKS} chunks`, {
          maxTotalChunks: MAX_TOTAL_CHUNKS,
        });
      }
      const bytes = this.#fixedBytes + digits(index) + (index === 0 ? this.#headerBudget : 0);
      this.#open = {
        index,
        bytes,
        assets: [],
        carried: new Set(),
        findingStart: this.#next,
        findingEnd: this.#next,
        // Chunk 0's tool and metadata alone may exceed the bound: it still travels, flagged like a big finding.
        oversize: bytes > this.#limits.maxChunkSizeBytes,
      };
      this.#scratchEnd = 0;
    }
    const c = this.#open;
    let closed = this.#fillFindings(c);
    if (!closed && !this.#ended) {
      this.#trim();
      return undefined; // wait for more findings
    }
    if (!closed) closed = this.#fillLoose(c);
    this.#open = undefined;
    this.#count += 1;
    if (!closed) this.#done = true;
    const cut = this.#cut(c, !closed);
    this.#trim();
    return cut;
  }

  /** Renders a cut chunk with `totalChunks`: a copy of its JSON, head to tail. */
  render(cut: CutChunk, totalChunks: number): Buffer {
    const body = cut.index === 0 ? this.chunkZero(cut).buffer : cut.buffer;
    return Buffer.concat([body, Buffer.from(chunkTail(totalChunks, cut.last), 'latin1')]);
  }

  /**
   * Hex SHA-256 of the report's content (see `SplitPlan.contentHash`); only once every chunk is cut, and
   * only when the splitter hashes (`hash` not false).
   */
  contentHash(): string {
    if (!this.#done || this.#hash === undefined)
      throw new ChunkError(ERROR_CODES.INTERNAL, 'content hash asked before the last chunk, or not computed');
    this.#contentHash ??= this.#hash.update(this.contentSuffix()).digest('hex');
    return this.#contentHash;
  }

  /**
   * The content hash as versions before the deferred header computed it (chunk 0's fields first), with
   * `legacyHash`; undefined when the header changed since the start (it cannot be computed then).
   */
  legacyContentHash(): string | undefined {
    if (!this.#done || this.#legacy === undefined || this.#legacyExtras !== this.#extras) return undefined;
    return this.#legacy.digest('hex');
  }

  /**
   * What the content hash starts with: a version line, every asset followed by a comma, a newline. Then
   * come every chunk's findings followed by a comma, then `contentSuffix()`: nothing depends on the split.
   */
  contentPrefix(): Buffer {
    return this.#prefix;
  }

  /** What the content hash ends with: a newline and chunk 0's fields of the current header. */
  contentSuffix(): Buffer {
    return Buffer.from(`\n${this.#extras}`, 'utf8');
  }

  /**
   * Replaces the report's header (fields but findings) until the end: chunk 0 is rendered with it
   * (`chunkZero`) and it is hashed last. Same report id, same assets (they are cut into chunks already).
   */
  setHeader(header: Omit<Report, 'findings'>): void {
    if (typeof header !== 'object' || header === null || typeof header.metadata !== 'object') {
      refuse('VALIDATION_FAILED', 'the final header must be a report without findings (metadata required)');
    }
    if (header.metadata?.id !== this.reportId) {
      refuse('VALIDATION_FAILED', `the final header must keep the report id ${this.reportId}`, {
        reportId: this.reportId,
      });
    }
    if ((header as Report).findings !== undefined) {
      refuse('VALIDATION_FAILED', 'the final header carries no findings (they were added one by one)');
    }
    if (header.assets !== undefined && JSON.stringify(header.assets) !== this.#assetsJson) {
      refuse('VALIDATION_FAILED', 'the final header must carry the same assets as the first (or none)');
    }
    this.#extras = chunkZeroExtras(header);
  }

  /**
   * Chunk 0 as cut, rendered with the current header (`setHeader`): its buffer (head and members) and
   * whether it is over `maxChunkSizeBytes` (a header bigger than the room chunk 0 kept for it makes it so).
   */
  chunkZero(cut: CutChunk): { buffer: Buffer; oversize: boolean } {
    const head = Buffer.from(`{"report_id":${this.#idJson},"chunk_index":0${this.#extras}`, 'utf8');
    const buffer = Buffer.concat([head, cut.buffer.subarray(cut.bodyAt)]);
    const tailBytes = chunkTail(MAX_TOTAL_CHUNKS, false).length;
    return { buffer, oversize: cut.oversize || buffer.length + tailBytes > this.#limits.maxChunkSizeBytes };
  }

  #groupCost(c: OpenChunk, g: number[]): number {
    return (c.assets.length === 0 ? this.#assetsKeyBytes : 0) + this.#groupBytes.get(g)!;
  }

  #isEmpty(c: OpenChunk): boolean {
    return c.findingEnd === c.findingStart && c.assets.length === 0;
  }

  /**
   * Greedy: each finding joins the open chunk if it fits (count, assets, bytes), else it opens the next
   * chunk. For speed a run of findings is serialised with one `JSON.stringify` and taken whole when the
   * whole run fits, which is exactly what the one-by-one rule would do (every prefix of a fitting run
   * fits); otherwise the run's first finding goes through the one-by-one rule. Returns true when the
   * chunk is closed (a finding did not fit), false when the findings ran out.
   */
  #fillFindings(c: OpenChunk): boolean {
    const n = this.findingsSeen;
    while (this.#next < n) {
      if (this.#batch && this.#addRun(c)) continue;
      if (!this.#addOne(c)) return true;
    }
    return false;
  }

  /** Tries to add a run of findings (two or more) at once. True when it was added. */
  #addRun(c: OpenChunk): boolean {
    if (this.#seenFindings === 0) return false; // no size estimate yet
    if (this.#next < this.#singleUntil) return false;
    const l = this.#limits;
    const f0 = this.#next;
    const count = c.findingEnd - c.findingStart;
    const avg = this.#seenFindingBytes / this.#seenFindings;
    const want = Math.max(1, Math.floor(BATCH_TARGET_BYTES / (avg + 1)));
    const maxK = Math.min(want, l.maxFindingsPerChunk - count, this.findingsSeen - f0);
    // Groups the run would bring in, up to the first finding whose assets would not fit. (An empty
    // chunk takes a first finding whose group alone is over the bound; then nothing else fits.)
    let k = 0;
    let assetCount = c.assets.length;
    if (assetCount > l.maxAssetsPerChunk) return false;
    let groupBytes = 0;
    const groups: number[][] = [];
    for (; k < maxK; k++) {
      const g = this.#group(f0 + k);
      if (g !== undefined && !c.carried.has(g) && !groups.includes(g)) {
        if (assetCount + g.length > l.maxAssetsPerChunk) break;
        groups.push(g);
        assetCount += g.length;
        groupBytes += this.#groupBytes.get(g)!;
      }
    }
    if (k < 2) return false;
    const fixed =
      (groups.length > 0 && c.assets.length === 0 ? this.#assetsKeyBytes : 0) +
      groupBytes +
      (count === 0 ? this.#findingsKeyBytes : 1) -
      2; // the run's own brackets
    if (c.bytes + fixed + k * (avg + 1) > l.maxChunkSizeBytes) return false; // unlikely to fit: don't try
    // In an array, `JSON.stringify` would write a non-object or a `toJSON()` giving undefined as null, and
    // would pass `toJSON` the index as its key: such findings go one by one (refused, or serialised alone).
    for (let i = f0; i < f0 + k; i++) {
      const item: unknown = this.#finding(i);
      if (!isItem(item) || typeof (item as { toJSON?: unknown }).toJSON === 'function') {
        this.#singleUntil = i + 1;
        return false;
      }
    }
    let json: string;
    try {
      json = JSON.stringify(this.#window.slice(f0 - this.#base, f0 - this.#base + k));
    } catch {
      // A cycle or a BigInt somewhere in the run: one by one, so the error names the finding.
      this.#singleUntil = f0 + k;
      return false;
    }
    // Written where the open list's "]" is (or at the start): "[a,b]" + "[c,d]" -> "[a,b,c,d]".
    const at = count === 0 ? 0 : this.#scratchEnd - 1;
    const written = this.#write(json, at);
    if (c.bytes + fixed + written > l.maxChunkSizeBytes) {
      if (count > 0) this.#scratch[at] = CLOSE; // put the list back as it was
      return false;
    }
    if (count > 0) this.#scratch[at] = COMMA;
    this.#scratchEnd = at + written;
    for (const g of groups) {
      c.assets.push(...g);
      c.carried.add(g);
    }
    c.bytes += fixed + written;
    c.findingEnd = f0 + k;
    this.#next = f0 + k;
    this.#seenFindings += k;
    this.#seenFindingBytes += written - 1 - k;
    return true;
  }

  /** Adds the next finding if it fits (or the chunk is empty). False when it opens the next chunk. */
  #addOne(c: OpenChunk): boolean {
    const l = this.#limits;
    const f = this.#next;
    let json: string;
    if (this.#carry?.index === f) {
      json = this.#carry.json;
      this.#carry = undefined;
    } else {
      checkItem('findings', this.#finding(f), f);
      json = stringify('findings', this.#finding(f), f);
    }
    const count = c.findingEnd - c.findingStart;
    // "[" + json + "]" for the first, else "," + json + "]" where the "]" was.
    const at = count === 0 ? 0 : this.#scratchEnd - 1;
    this.#ensure(at + 2 + json.length * 3);
    const bytes = this.#encoder.encodeInto(json, this.#scratch.subarray(at + 1)).written;
    const g = this.#group(f);
    const needG = g !== undefined && !c.carried.has(g);
    const cost = (count === 0 ? this.#findingsKeyBytes : 1) + bytes + (needG ? this.#groupCost(c, g) : 0);
    const fits =
      count + 1 <= l.maxFindingsPerChunk &&
      c.assets.length + (needG ? g.length : 0) <= l.maxAssetsPerChunk &&
      c.bytes + cost <= l.maxChunkSizeBytes;
    if (!fits && !this.#isEmpty(c)) {
      if (count > 0) this.#scratch[at] = CLOSE; // the list as it was
      this.#carry = { index: f, json };
      return false;
    }
    this.#scratch[at] = count === 0 ? OPEN : COMMA;
    this.#scratch[at + 1 + bytes] = CLOSE;
    this.#scratchEnd = at + 2 + bytes;
    if (needG) {
      c.assets.push(...g);
      c.carried.add(g);
    }
    c.bytes += cost;
    c.findingEnd = f + 1;
    this.#next = f + 1;
    this.#seenFindings += 1;
    this.#seenFindingBytes += bytes;
    if (c.bytes > l.maxChunkSizeBytes) c.oversize = true;
    return true;
  }

  /** Encodes `json` into the scratch list at `at`; returns its bytes. */
  #write(json: string, at: number): number {
    this.#ensure(at + json.length * 3);
    return this.#encoder.encodeInto(json, this.#scratch.subarray(at)).written;
  }

  /** Grows the scratch list (keeping its bytes) to hold `bytes`. */
  #ensure(bytes: number): void {
    if (bytes <= this.#scratch.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * this.#scratch.length));
    this.#scratch.copy(bigger, 0, 0, this.#scratchEnd);
    this.#scratch = bigger;
  }

  /** Loose asset groups (after the last finding). Returns true when the chunk is closed. */
  #fillLoose(c: OpenChunk): boolean {
    const l = this.#limits;
    for (; this.#nextLoose < this.#loose.length; this.#nextLoose++) {
      const g = this.#loose[this.#nextLoose]!;
      const cost = this.#groupCost(c, g);
      const fits = c.assets.length + g.length <= l.maxAssetsPerChunk && c.bytes + cost <= l.maxChunkSizeBytes;
      if (!fits && !this.#isEmpty(c)) return true;
      c.assets.push(...g);
      c.bytes += cost;
      if (c.bytes > l.maxChunkSizeBytes) c.oversize = true;
    }
    return false;
  }

  /** Writes the chunk's head and members into a buffer of their exact size; hashes its findings. */
  #cut(c: OpenChunk, last: boolean): CutChunk {
    const head = `{"report_id":${this.#idJson},"chunk_index":${c.index}${c.index === 0 ? this.#extras : ''}`;
    const headRoom = enc(head);
    const bodyBytes = c.bytes - this.#fixedBytes - digits(c.index) - (c.index === 0 ? this.#headerBudget : 0);
    const buffer = this.#allocate(headRoom + bodyBytes);
    buffer.write(head, 0, 'utf8');
    let p = headRoom;
    if (c.assets.length > 0) {
      p += buffer.write(ASSETS_OPEN, p, 'latin1');
      c.assets.forEach((i, j) => {
        if (j > 0) buffer[p++] = COMMA;
        p = this.#arena.copyTo(i, buffer, p);
      });
      buffer[p++] = CLOSE;
    }
    const n = c.findingEnd - c.findingStart;
    let findingsAt = p;
    let findingsEnd = p;
    if (n > 0) {
      p += buffer.write(FINDINGS_KEY, p, 'latin1');
      const list = this.#scratch.subarray(0, this.#scratchEnd);
      buffer.set(list, p);
      findingsAt = p + 1;
      p += list.length;
      findingsEnd = p - 1;
      // Same bytes as the findings joined by commas, one trailing comma: independent of the split.
      this.#hash?.update(list.subarray(1, list.length - 1)).update(',');
      this.#legacy?.update(list.subarray(1, list.length - 1)).update(',');
    }
    if (p - headRoom !== bodyBytes) {
      throw new ChunkError(
        ERROR_CODES.INTERNAL,
        `chunk ${c.index} rendered ${p - headRoom} bytes of members, planned ${bodyBytes}`,
      );
    }
    return {
      index: c.index,
      last,
      findings: n,
      assets: c.assets.length,
      oversize: c.oversize,
      buffer,
      bodyAt: headRoom,
      findingsAt,
      findingsEnd,
    };
  }
}

/** Splits `report` in full (every chunk cut and kept): the reference form of the splitter. */
export function planSplit(report: Report, limits: SplitLimits, tuning?: SplitterTuning): SplitPlan {
  const splitter = new ChunkSplitter(report, limits, tuning);
  const cuts: CutChunk[] = [];
  for (let c = splitter.next(); c !== undefined; c = splitter.next()) cuts.push(c);
  const totalChunks = cuts.length;
  return {
    reportId: splitter.reportId,
    totalChunks,
    oversizeChunks: cuts.filter((c) => c.oversize).length,
    render(index: number): RenderedChunk {
      const c = cuts[index];
      if (c === undefined) throw new ChunkError(ERROR_CODES.INTERNAL, `no chunk ${index}`);
      return {
        index,
        json: splitter.render(c, totalChunks),
        findings: c.findings,
        assets: c.assets,
        oversize: c.oversize,
      };
    },
    contentHash: () => splitter.contentHash(),
  };
}

/** The last bytes of a chunk's JSON: the only ones that depend on the chunk count. */
export function chunkTail(totalChunks: number, last: boolean): string {
  return `,"total_chunks":${totalChunks},"is_final":${last}}`;
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
