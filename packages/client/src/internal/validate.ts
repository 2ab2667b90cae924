import type {
  ChunkUploadRequest,
  ChunkUploadResponse,
  Command,
  FingerprintCheckResponse,
  HeartbeatResponse,
  IngestResponse,
} from '@rediver/core';

/** A validator: the typed value, or a description of the first mismatch. */
export type Validation<T> = { ok: true; value: T } | { ok: false; problem: string };

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Go encodes an empty slice as `null`; both mean "none". */
function stringList(value: unknown): string[] | undefined {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) return undefined;
  return value.every((v) => typeof v === 'string') ? value : undefined;
}

function fail<T>(problem: string): Validation<T> {
  return { ok: false, problem };
}

function checkFields(o: Obj, strings: readonly string[], counts: readonly string[]): string | undefined {
  for (const k of strings) if (typeof o[k] !== 'string') return `\`${k}\` is not a string`;
  for (const k of counts) if (!isCount(o[k])) return `\`${k}\` is not a non-negative integer`;
  return undefined;
}

const RESULT_COUNTS = [
  'assets_created',
  'assets_updated',
  'findings_created',
  'findings_updated',
  'findings_skipped',
];

/** Validates an ingest answer (`errors` may be missing or null: none). */
export function validateIngestResponse(json: unknown): Validation<IngestResponse> {
  if (!isObject(json)) return fail('not a JSON object');
  const problem = checkFields(json, ['scan_id'], RESULT_COUNTS);
  if (problem !== undefined) return fail(problem);
  const errors = stringList(json.errors);
  if (errors === undefined) return fail('`errors` is not a list of strings');
  return { ok: true, value: { ...(json as unknown as IngestResponse), errors } };
}

/** Validates a chunk answer, and that it is the answer for `sent` (same report id and index). */
export function validateChunkUploadResponse(
  json: unknown,
  sent: ChunkUploadRequest,
): Validation<ChunkUploadResponse> {
  if (!isObject(json)) return fail('not a JSON object');
  const problem = checkFields(json, ['chunk_id', 'report_id', 'status'], ['chunk_index', ...RESULT_COUNTS]);
  if (problem !== undefined) return fail(problem);
  if (json.report_id !== sent.report_id || json.chunk_index !== sent.chunk_index) {
    return fail(
      `answer is for chunk ${String(json.chunk_index)} of another report, not chunk ${sent.chunk_index}`,
    );
  }
  return { ok: true, value: json as unknown as ChunkUploadResponse };
}

/** Validates a fingerprint check answer (null lists: none). */
export function validateFingerprintCheckResponse(json: unknown): Validation<FingerprintCheckResponse> {
  if (!isObject(json)) return fail('not a JSON object');
  const existing = stringList(json.existing);
  const missing = stringList(json.missing);
  if (existing === undefined) return fail('`existing` is not a list of strings');
  if (missing === undefined) return fail('`missing` is not a list of strings');
  return { ok: true, value: { ...json, existing, missing } };
}

/** Validates a heartbeat answer. */
export function validateHeartbeatResponse(json: unknown): Validation<HeartbeatResponse> {
  if (!isObject(json)) return fail('not a JSON object');
  const problem = checkFields(json, ['status', 'agent_id', 'tenant_id'], []);
  if (problem !== undefined) return fail(problem);
  return { ok: true, value: json as unknown as HeartbeatResponse };
}

const OPTIONAL_STRINGS = ['status', 'created_at', 'expires_at'] as const;

function commandProblem(c: unknown, i: number): string | undefined {
  if (!isObject(c)) return `command ${i} is not an object`;
  if (typeof c.id !== 'string' || c.id === '') return `command ${i} has no string \`id\``;
  if (typeof c.type !== 'string') return `command ${i} has no string \`type\``;
  if (
    c.priority !== undefined &&
    c.priority !== null &&
    typeof c.priority !== 'string' &&
    typeof c.priority !== 'number'
  ) {
    return `command ${i} has a \`priority\` that is neither string nor number`;
  }
  if (c.payload !== undefined && c.payload !== null && !isObject(c.payload))
    return `command ${i} has a non-object \`payload\``;
  for (const k of OPTIONAL_STRINGS) {
    if (c[k] !== undefined && c[k] !== null && typeof c[k] !== 'string')
      return `command ${i} has a non-string \`${k}\``;
  }
  return undefined;
}

/** Validates the commands answer: a JSON array (or `{ commands: [...] }`, or null for none). */
export function validateCommands(json: unknown): Validation<Command[]> {
  const list = json === null ? [] : isObject(json) && 'commands' in json ? (json.commands ?? []) : json;
  if (!Array.isArray(list)) return fail('not a JSON array of commands');
  for (let i = 0; i < list.length; i++) {
    const problem = commandProblem(list[i], i);
    if (problem !== undefined) return fail(problem);
  }
  return { ok: true, value: list as Command[] };
}
