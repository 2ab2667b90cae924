import { MAX_CHUNK_DATA_BYTES } from '@rediver/core';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A bound on one named array of a body's root object (or of `root.report`), e.g. `findings`. */
export interface NamedArrayLimit {
  /** Most items. */
  readonly max: number;
  /** What the items are, for the message (`findings per chunk`). */
  readonly what: string;
}

/**
 * What one JSON body may contain, enforced by `JsonScanner` while the body streams in, before any
 * `JSON.parse`: parsed JSON costs 10-20x its bytes when it is made of tiny values (`{},` is 3 bytes and
 * about 60 bytes of heap), so byte limits alone do not bound memory or parse time.
 */
export interface ContentLimits {
  /** Deepest nesting of objects and arrays. */
  readonly maxDepth: number;
  /** Values in the whole body: objects, arrays, strings, numbers, `true`/`false`/`null`. */
  readonly maxValues: number;
  /** Items of any one array. */
  readonly maxArrayItems: number;
  /** Members of any one object. */
  readonly maxObjectMembers: number;
  /** Bytes of any one string value, as written in the JSON text (escapes count as written). */
  readonly maxStringBytes: number;
  /** Bytes of any one member name. */
  readonly maxKeyBytes: number;
  /** Bytes of a number (or literal) token. */
  readonly maxNumberBytes: number;
  /** Bounds on arrays of the root object (or of `root.report`) by member name. */
  readonly namedArrays: Readonly<Record<string, NamedArrayLimit>>;
  /**
   * Answer for a string over `maxStringBytes` when it is not the generic 400: the chunk envelope's only
   * long string is `data`, whose spec limit is a 413 `REPORT_TOO_LARGE`.
   */
  readonly stringTooLong?: { readonly code: 'REPORT_TOO_LARGE'; readonly status: 413; readonly hint: string };
}

/**
 * The most findings and assets one chunk may carry: 10x the agent's defaults (`maxFindingsPerChunk` 500,
 * `maxAssetsPerChunk` 100).
 */
export const MAX_FINDINGS_PER_CHUNK = 5_000;
/** See `MAX_FINDINGS_PER_CHUNK`. */
export const MAX_ASSETS_PER_CHUNK = 1_000;
/**
 * The most findings and assets one whole report (`POST /ingest`) may carry: 10x the agent's thresholds
 * for chunking (2,000 findings, 200 assets); anything bigger travels in chunks.
 */
export const MAX_FINDINGS_PER_REPORT = 20_000;
/** See `MAX_FINDINGS_PER_REPORT`. */
export const MAX_ASSETS_PER_REPORT = 2_000;
/**
 * The most findings and assets one chunked report may collect over all its chunks: 5x the million
 * findings the agent is measured with at scale. Counted in the report's row as chunks are applied.
 */
export const MAX_FINDINGS_PER_CHUNKED_REPORT = 5_000_000;
/** See `MAX_FINDINGS_PER_CHUNKED_REPORT`. */
export const MAX_ASSETS_PER_CHUNKED_REPORT = 500_000;

const RIS_NAMED = (findings: number, assets: number, per: string): ContentLimits['namedArrays'] =>
  Object.freeze({
    findings: Object.freeze({ max: findings, what: `findings per ${per}` }),
    assets: Object.freeze({ max: assets, what: `assets per ${per}` }),
  });

/** Shared by every RIS body: nesting, key and number bounds that no real report comes near. */
const RIS_COMMON = {
  // RIS itself nests about 6 deep; the rest is free-form `properties`.
  maxDepth: 64,
  // Member names are field names and property keys; identifiers are capped at 1 KiB too.
  maxKeyBytes: 1 * KiB,
  // The longest JSON number a serialiser writes is about 24 bytes.
  maxNumberBytes: 64,
  // No RIS object has more than about 20 fields; `properties` bags hold tens.
  maxObjectMembers: 10_000,
} as const;

/** Bounds of a whole report (`POST /api/v1/agent/ingest`). */
export const REPORT_CONTENT_LIMITS: ContentLimits = Object.freeze({
  ...RIS_COMMON,
  // 20,000 findings of about 25 values each plus assets and free-form properties.
  maxValues: 1_000_000,
  // Above the findings bound, so `findings` is refused by its own, clearer bound.
  maxArrayItems: 100_000,
  // A string costs its bytes, no more: kept above the 20 MiB wire limit so that a body at the wire limit is
  // judged by that limit alone; it still stops one value from taking a third of the 100 MiB decoded budget.
  maxStringBytes: 32 * MiB,
  namedArrays: RIS_NAMED(MAX_FINDINGS_PER_REPORT, MAX_ASSETS_PER_REPORT, 'report'),
});

/** Bounds of a chunk's decoded `data` (`ChunkData`). */
export const CHUNK_DATA_CONTENT_LIMITS: ContentLimits = Object.freeze({
  ...RIS_COMMON,
  // 5,000 findings of about 25 values each, with room for long data flows.
  maxValues: 500_000,
  maxArrayItems: 100_000,
  // The agent caps descriptions at 8,000 characters and snippets at 4 KiB; a chunk is 2 MiB by default.
  maxStringBytes: 4 * MiB,
  namedArrays: RIS_NAMED(MAX_FINDINGS_PER_CHUNK, MAX_ASSETS_PER_CHUNK, 'chunk'),
});

/** Bounds of a chunk upload's envelope (`POST /api/v1/agent/ingest/chunk`): a flat object of 7 fields. */
export const CHUNK_ENVELOPE_CONTENT_LIMITS: ContentLimits = Object.freeze({
  maxDepth: 8,
  maxValues: 1_000,
  maxArrayItems: 100,
  maxObjectMembers: 100,
  maxKeyBytes: 1 * KiB,
  maxNumberBytes: 64,
  // `data` is at most 10 MiB of base64 (platform spec); every other field is short.
  maxStringBytes: MAX_CHUNK_DATA_BYTES,
  namedArrays: Object.freeze({}),
  stringTooLong: Object.freeze({
    code: 'REPORT_TOO_LARGE',
    status: 413,
    hint: `a chunk's data may be at most ${MAX_CHUNK_DATA_BYTES} bytes of base64`,
  }),
});

/** Bounds of every other body: heartbeats, fingerprint checks, command updates, admin requests. */
export const SMALL_BODY_CONTENT_LIMITS: ContentLimits = Object.freeze({
  ...RIS_COMMON,
  // A fingerprint check holds up to 10,000 fingerprints; a command result is a small free-form object.
  maxValues: 100_000,
  maxArrayItems: 20_000,
  maxObjectMembers: 1_000,
  // The longest field is a failed command's `error_message` (64 KiB).
  maxStringBytes: 1 * MiB,
  namedArrays: Object.freeze({}),
});
