import { performance } from 'node:perf_hooks';
import type {
  ChunkUploader,
  ChunkUploadRequest,
  ChunkUploadResponse,
  Command,
  CommandCompleteRequest,
  CommandFailRequest,
  FingerprintCheckRequest,
  FingerprintCheckResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  IngestResponse,
  Report,
  ReportUploader,
  UploadAttemptOptions,
  UploadResult,
} from '@rediver/core';
import {
  API_PATHS,
  ClosableBase,
  CHUNK_COMPRESSIONS,
  IDEMPOTENCY_KEY_HEADER,
  isValidReportId,
  MAX_CHUNK_DATA_BYTES,
  MAX_TOTAL_CHUNKS,
} from '@rediver/core';
import { Transport } from './internal/transport';
import { ClientError } from './clientError';
import type { ClientOptions, ResolvedClientOptions } from './clientOptions';
import { resolveClientOptions } from './clientOptions';
import type { FailureReason, RequestContext } from './internal/classify';
import { errorFromFailure, errorFromStatus } from './internal/classify';
import { isBase64 } from './internal/base64';
import { serializeChunk } from './internal/chunkBody';
import { encodeBody } from './internal/encodeBody';
import { readBody } from './internal/readBody';
import { redact } from './internal/redact';
import type { Validation } from './internal/validate';
import {
  validateChunkUploadResponse,
  validateCommands,
  validateFingerprintCheckResponse,
  validateHeartbeatResponse,
  validateIngestResponse,
} from './internal/validate';

/** Per-call options of every client method. */
export interface RequestOptions {
  /** Aborts the request; the call then rejects with `ABORTED`. */
  signal?: AbortSignal;
  /** Sent as `Idempotency-Key`; a deduplicating server applies the request once. */
  idempotencyKey?: string;
}

/** Options of `pollCommands`. */
export interface PollCommandsOptions extends RequestOptions {
  /** Most commands to fetch (`?limit=`), a positive integer; omitted: the server's default. */
  limit?: number;
}

/** Largest successful answer read, bytes (a bigger one is `INVALID_RESPONSE`). */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Largest part of an error answer read for its message, bytes. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const HEADER_VALUE = /^[\x21-\x7e]{1,256}$/;
const MAX_COMMAND_ID_CHARS = 256;

/** One request as the methods describe it. */
interface Call<T> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: string;
  readonly body?: unknown;
  /** Serialises `body` to JSON bytes; default `JSON.stringify`. */
  readonly serialize?: (body: never) => Buffer;
  /** False for bodies that are already compressed (chunk data): gzip would only burn CPU. */
  readonly compressible: boolean;
  readonly options: RequestOptions | undefined;
  /** Validates a 2xx answer; `undefined`: any 2xx answer will do and its body is ignored. */
  readonly validate: ((json: unknown) => Validation<T>) | undefined;
}

/** A 2xx answer, read and validated. */
interface Answer<T> {
  readonly status: number;
  readonly value: T;
}

/** The platform's agent API over a pooled keep-alive HTTP client. Create with `createClient`. */
export class RediverClient extends ClosableBase implements ReportUploader, ChunkUploader {
  readonly #o: ResolvedClientOptions;
  readonly #transport: Transport;
  readonly #headers: Readonly<Record<string, string>>;
  #closing: Promise<void> | undefined;

  /** Validates `options` (throws `ClientError` `INVALID_OPTION`) and opens no socket until the first call. */
  constructor(options: ClientOptions) {
    super();
    this.#o = resolveClientOptions(options);
    this.#transport = new Transport(new URL(this.#o.origin), { connections: this.#o.maxConnections });
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#o.apiKey}`,
      accept: 'application/json',
      'user-agent': this.#o.userAgent,
    };
    if (this.#o.agentId !== undefined) headers['x-agent-id'] = this.#o.agentId;
    this.#headers = Object.freeze(headers);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** `POST /api/v1/agent/ingest`: sends a whole RIS report. A non-empty `errors` answer rejects (`REQUEST_REJECTED`). */
  async ingest(report: Report, options?: RequestOptions): Promise<IngestResponse> {
    return (await this.#ingest(report, options)).value;
  }

  /** `ReportUploader`: `ingest()` as core's `UploadResult`. */
  async uploadReport(report: Report, options?: UploadAttemptOptions): Promise<UploadResult> {
    const started = performance.now();
    const { value } = await this.#ingest(report, options);
    return {
      reportId: report.metadata.id,
      scanId: value.scan_id,
      assetsCreated: value.assets_created,
      assetsUpdated: value.assets_updated,
      findingsCreated: value.findings_created,
      findingsUpdated: value.findings_updated,
      findingsSkipped: value.findings_skipped,
      durationMs: Math.round(performance.now() - started),
    };
  }

  /** `ChunkUploader`: `POST /api/v1/agent/ingest/chunk` with an `Idempotency-Key`. */
  async uploadChunk(
    chunk: ChunkUploadRequest,
    options: RequestOptions & { idempotencyKey: string },
  ): Promise<ChunkUploadResponse> {
    const path = API_PATHS.ingestChunk;
    checkChunk(chunk, path);
    if (options?.idempotencyKey === undefined)
      throw invalidArgument('POST', path, '`idempotencyKey` is required');
    const answer = await this.#call<ChunkUploadResponse>({
      method: 'POST',
      path,
      body: chunk,
      serialize: serializeChunk,
      compressible: chunk.compression === 'none',
      options,
      validate: (json) => validateChunkUploadResponse(json, chunk),
    });
    return answer.value;
  }

  /** `POST /api/v1/agent/ingest/check`: which fingerprints the platform already has. */
  async checkFingerprints(
    fingerprints: readonly string[],
    options?: RequestOptions,
  ): Promise<FingerprintCheckResponse> {
    const path = API_PATHS.ingestCheck;
    if (!Array.isArray(fingerprints) || !fingerprints.every((f) => typeof f === 'string')) {
      throw invalidArgument('POST', path, '`fingerprints` must be an array of strings');
    }
    const body: FingerprintCheckRequest = { fingerprints: [...fingerprints] };
    const answer = await this.#call({
      method: 'POST',
      path,
      body,
      compressible: true,
      options,
      validate: validateFingerprintCheckResponse,
    });
    return answer.value;
  }

  /** `POST /api/v1/agent/heartbeat`: reports the agent's state. */
  async heartbeat(body: HeartbeatRequest, options?: RequestOptions): Promise<HeartbeatResponse> {
    const path = API_PATHS.heartbeat;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidArgument('POST', path, 'the heartbeat body must be an object');
    }
    const answer = await this.#call({
      method: 'POST',
      path,
      body,
      compressible: true,
      options,
      validate: validateHeartbeatResponse,
    });
    return answer.value;
  }

  /** `GET /api/v1/agent/commands?limit=N`: pending commands for this agent. */
  async pollCommands(options?: PollCommandsOptions): Promise<Command[]> {
    const path = API_PATHS.commands;
    const limit = options?.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw invalidArgument('GET', path, '`limit` must be a positive integer');
    }
    const answer = await this.#call({
      method: 'GET',
      path,
      query: limit === undefined ? undefined : `limit=${limit}`,
      compressible: false,
      options,
      validate: validateCommands,
    });
    return answer.value;
  }

  /** `POST /api/v1/agent/commands/{id}/acknowledge`. */
  async acknowledgeCommand(id: string, options?: RequestOptions): Promise<void> {
    await this.#commandAction(id, 'acknowledge', {}, options);
  }

  /** `POST /api/v1/agent/commands/{id}/start`. */
  async startCommand(id: string, options?: RequestOptions): Promise<void> {
    await this.#commandAction(id, 'start', {}, options);
  }

  /** `POST /api/v1/agent/commands/{id}/complete` with `{ result }`. */
  async completeCommand(
    id: string,
    result?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<void> {
    const body: CommandCompleteRequest = result === undefined ? {} : { result };
    await this.#commandAction(id, 'complete', body, options);
  }

  /** `POST /api/v1/agent/commands/{id}/fail` with `{ error_message }`. */
  async failCommand(id: string, message: string, options?: RequestOptions): Promise<void> {
    if (typeof message !== 'string') {
      throw invalidArgument('POST', `${API_PATHS.commands}/{id}/fail`, '`message` must be a string');
    }
    const body: CommandFailRequest = { error_message: redact(message, this.#o.apiKey) };
    await this.#commandAction(id, 'fail', body, options);
  }

  /** Refuses new calls, lets in-flight requests finish (each bounded by `timeoutMs`), closes the sockets. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#transport.close().then(
      () => undefined,
      () => undefined,
    );
    return this.#closing;
  }

  async #ingest(report: Report, options: RequestOptions | undefined): Promise<Answer<IngestResponse>> {
    const path = API_PATHS.ingest;
    if (
      typeof report !== 'object' ||
      report === null ||
      typeof report.metadata !== 'object' ||
      report.metadata === null
    ) {
      throw invalidArgument('POST', path, 'the report must be an object with `metadata`');
    }
    if (!isValidReportId(report.metadata.id)) {
      throw new ClientError(
        'REPORT_ID_INVALID',
        'Report `metadata.id` must be 1..256 characters of [A-Za-z0-9_-].',
        {
          method: 'POST',
          path,
        },
      );
    }
    const answer = await this.#call({
      method: 'POST',
      path,
      body: report,
      compressible: true,
      options,
      validate: validateIngestResponse,
    });
    const errors = answer.value.errors;
    if (errors.length > 0) {
      const said = errors.slice(0, 3).map((e) => redact(e, this.#o.apiKey));
      const more = errors.length > 3 ? ` (+${errors.length - 3} more)` : '';
      const err = new ClientError(
        'REQUEST_REJECTED',
        `The platform reported errors for report ${report.metadata.id}: ${said.join('; ')}${more}`,
        {
          method: 'POST',
          path,
          status: answer.status,
          details: {
            method: 'POST',
            path,
            errors: errors.map((e) => redact(e, this.#o.apiKey)),
            response: { ...answer.value, errors: errors.map((e) => redact(e, this.#o.apiKey)) },
          },
        },
      );
      this.#o.logger.warn(
        { method: 'POST', path, code: err.code, status: err.status },
        'ingest answered with errors',
      );
      throw err;
    }
    return answer;
  }

  async #commandAction(
    id: string,
    action: string,
    body: object,
    options: RequestOptions | undefined,
  ): Promise<void> {
    const template = `${API_PATHS.commands}/{id}/${action}`;
    if (typeof id !== 'string' || id === '' || id.length > MAX_COMMAND_ID_CHARS) {
      throw invalidArgument('POST', template, `the command id must be 1..${MAX_COMMAND_ID_CHARS} characters`);
    }
    await this.#call({
      method: 'POST',
      path: `${API_PATHS.commands}/${encodeURIComponent(id)}/${action}`,
      body,
      compressible: true,
      options,
      validate: undefined,
    });
  }

  /** The one place a request is sent, and every failure classified. */
  async #call<T>(call: Call<T>): Promise<Answer<T>> {
    const { method, path, options } = call;
    const ctx: RequestContext = { method, path, apiKey: this.#o.apiKey };
    if (this.#closing !== undefined) {
      throw new ClientError('CLOSED', `${method} ${path} was not sent: the client is closed`, {
        method,
        path,
      });
    }
    const signal = options?.signal;
    if (signal?.aborted === true)
      throw this.#fail(errorFromFailure(ctx, 'aborted', undefined, this.#o.timeoutMs));
    const headers: Record<string, string> = { ...this.#headers };
    const key = options?.idempotencyKey;
    if (key !== undefined) {
      if (typeof key !== 'string' || !HEADER_VALUE.test(key)) {
        throw invalidArgument(method, path, '`idempotencyKey` must be 1..256 visible ASCII characters');
      }
      headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()] = key;
    }
    let payload: Buffer | undefined;
    let encoding: string | undefined;
    let bytes = 0;
    if (call.body !== undefined) {
      let json: Buffer;
      try {
        json =
          call.serialize === undefined
            ? Buffer.from(JSON.stringify(call.body))
            : call.serialize(call.body as never);
      } catch (cause) {
        throw invalidArgument(
          method,
          path,
          `the body cannot be serialised as JSON (${redact(String(cause), ctx.apiKey)})`,
        );
      }
      const encoded = await encodeBody(json, call.compressible, this.#o.compressionThresholdBytes);
      payload = encoded.body;
      bytes = encoded.bytes;
      encoding = encoded.encoding;
      headers['content-type'] = 'application/json';
      if (encoding !== undefined) headers['content-encoding'] = encoding;
    }

    const started = performance.now();
    const controller = new AbortController();
    let reason: FailureReason = 'error';
    // Not unref'd: the caller's promise depends on it (cleared as soon as the request ends).
    const timer = setTimeout(() => {
      reason = 'timeout';
      controller.abort();
    }, this.#o.timeoutMs);
    const onAbort = (): void => {
      reason = 'aborted';
      controller.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // The signal may have fired while the body was being compressed.
    if (isAborted(signal)) onAbort();

    let status: number;
    let text: string;
    let truncated: boolean;
    let retryAfter: string | undefined;
    try {
      const res = await this.#transport.request({
        method,
        path: this.#o.pathPrefix + path + (call.query === undefined ? '' : `?${call.query}`),
        headers,
        body: payload,
        signal: controller.signal,
      });
      status = res.statusCode;
      const ra = res.headers['retry-after'];
      retryAfter = Array.isArray(ra) ? ra[0] : ra;
      const ok = status >= 200 && status < 300;
      ({ text, truncated } = await readBody(res.body, ok ? MAX_RESPONSE_BYTES : MAX_ERROR_BODY_BYTES));
    } catch (cause) {
      if (isAborted(signal)) reason = 'aborted';
      throw this.#fail(errorFromFailure(ctx, reason, cause, this.#o.timeoutMs));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }

    const durationMs = Math.round(performance.now() - started);
    this.#o.logger.debug(
      { method, path, status, durationMs, bytes, encoding: encoding ?? 'identity' },
      'platform request',
    );
    if (status < 200 || status >= 300) {
      throw this.#fail(
        errorFromStatus(ctx, { status, body: text, retryAfterHeader: retryAfter }, this.#o.clock.now()),
      );
    }
    if (call.validate === undefined) return { status, value: undefined as T };
    if (truncated) return this.#invalid(ctx, status, `the answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.#invalid(ctx, status, 'the answer is not JSON');
    }
    const checked = call.validate(json);
    if (!checked.ok) return this.#invalid(ctx, status, checked.problem);
    return { status, value: checked.value };
  }

  #invalid(ctx: RequestContext, status: number, problem: string): never {
    const safe = redact(problem, ctx.apiKey);
    throw this.#fail(
      new ClientError(
        'INVALID_RESPONSE',
        `Unexpected answer to ${ctx.method} ${ctx.path} (HTTP ${status}): ${safe}`,
        {
          method: ctx.method,
          path: ctx.path,
          status,
          details: { method: ctx.method, path: ctx.path, problem: safe },
        },
      ),
    );
  }

  #fail(err: ClientError): ClientError {
    const level = err.code === 'ABORTED' ? 'debug' : 'warn';
    this.#o.logger[level](
      { method: err.method, path: err.path, code: err.code, status: err.status },
      'platform request failed',
    );
    return err;
  }
}

/** Creates a client for the platform's agent API. Throws `ClientError` `INVALID_OPTION` on a bad option. */
export function createClient(options: ClientOptions): RediverClient {
  return new RediverClient(options);
}

/** Reads `aborted` afresh (TypeScript would keep an earlier check's narrowing across awaits). */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function invalidArgument(method: string, path: string, reason: string): ClientError {
  return new ClientError('VALIDATION_FAILED', `${method} ${path} was not sent: ${reason}.`, { method, path });
}

function checkChunk(chunk: ChunkUploadRequest, path: string): void {
  const bad = (reason: string): never => {
    throw invalidArgument('POST', path, reason);
  };
  if (typeof chunk !== 'object' || chunk === null) bad('the chunk must be an object');
  if (!isValidReportId(chunk.report_id)) {
    throw new ClientError(
      'REPORT_ID_INVALID',
      'Chunk `report_id` must be 1..256 characters of [A-Za-z0-9_-].',
      {
        method: 'POST',
        path,
      },
    );
  }
  const { total_chunks: total, chunk_index: index } = chunk;
  if (!Number.isSafeInteger(total) || total < 1 || total > MAX_TOTAL_CHUNKS) {
    bad(`\`total_chunks\` must be an integer in 1..${MAX_TOTAL_CHUNKS}`);
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= total)
    bad('`chunk_index` must be an integer in 0..total_chunks-1');
  if (!(CHUNK_COMPRESSIONS as readonly string[]).includes(chunk.compression)) {
    bad(`\`compression\` must be one of ${CHUNK_COMPRESSIONS.join(', ')}`);
  }
  if (typeof chunk.is_final !== 'boolean') bad('`is_final` must be a boolean');
  if (typeof chunk.data !== 'string' || chunk.data === '') bad('`data` must be a non-empty base64 string');
  if (chunk.data.length > MAX_CHUNK_DATA_BYTES) {
    throw new ClientError(
      'REPORT_TOO_LARGE',
      `Chunk data is ${chunk.data.length} bytes of base64, over the platform's ${MAX_CHUNK_DATA_BYTES}.`,
      { method: 'POST', path },
    );
  }
  if (!isBase64(chunk.data)) bad('`data` must be padded base64');
}
