import type { ClientErrorCode } from '../clientError';
import { ClientError } from '../clientError';
import { parseRetryAfter } from '@rediver/core';
import { redact, sanitizeCause } from './redact';
import { TRANSPORT_CLOSED } from './transport';

/** Longest server message carried into an error. */
export const MAX_SERVER_MESSAGE_CHARS = 512;

/** The request an error belongs to. */
export interface RequestContext {
  readonly method: string;
  readonly path: string;
  readonly apiKey: string;
}

/** Pulls a human message out of an error body: JSON `message` / `error` / `error.message`, else the text. */
export function serverMessage(body: string, apiKey: string): string {
  let message = body.trim();
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json === 'object' && json !== null) {
      const o = json as Record<string, unknown>;
      const nested =
        typeof o.error === 'object' && o.error !== null
          ? (o.error as Record<string, unknown>).message
          : undefined;
      const pick = [o.message, o.error, nested, o.detail].find(
        (v) => typeof v === 'string' && v.trim() !== '',
      );
      if (typeof pick === 'string') message = pick.trim();
    }
  } catch {
    // Not JSON: the text is the message.
  }
  message = redact(message.replace(/\s+/g, ' '), apiKey);
  return message.length > MAX_SERVER_MESSAGE_CHARS
    ? `${message.slice(0, MAX_SERVER_MESSAGE_CHARS)}…`
    : message;
}

/** Classifies a non-2xx answer (`retryAfterHeader` is read against `nowMs`). */
export function errorFromStatus(
  ctx: RequestContext,
  answer: { status: number; body: string; retryAfterHeader: string | undefined },
  nowMs: number,
): ClientError {
  const { status, body, retryAfterHeader } = answer;
  const message = serverMessage(body, ctx.apiKey);
  const where = `${ctx.method} ${ctx.path}`;
  const said = message === '' ? '' : `: ${message}`;
  const base = {
    method: ctx.method,
    path: ctx.path,
    status,
    details: { method: ctx.method, path: ctx.path, serverMessage: message },
  };
  let code: ClientErrorCode;
  let text: string;
  let retryAfterMs: number | undefined;
  if (status === 429) {
    code = 'RATE_LIMITED';
    retryAfterMs = parseRetryAfter(retryAfterHeader, nowMs);
    const wait = retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`;
    text = `The platform rate-limited ${where}${wait}${said}`;
  } else if (status === 401 || status === 403) {
    code = 'AUTH_FAILED';
    text = `The platform refused the API key (HTTP ${status}) for ${where}${said}; check the key and its tenant`;
  } else if (status >= 500 || status === 408) {
    code = 'SERVER_ERROR';
    retryAfterMs = parseRetryAfter(retryAfterHeader, nowMs);
    text = `The platform failed ${where} (HTTP ${status})${said}`;
  } else if (status >= 400) {
    code = 'REQUEST_REJECTED';
    text = `The platform rejected ${where} (HTTP ${status})${said}`;
  } else {
    code = 'INVALID_RESPONSE';
    text = `Unexpected HTTP ${status} for ${where} (redirects are not followed)`;
  }
  return new ClientError(code, text, retryAfterMs === undefined ? base : { ...base, retryAfterMs });
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT']);
/** Node refusing what the client built (a header, a path): a bug of the client, not of the network. */
const BUG_CODES = new Set([
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
]);
const CLOSED_CODES = new Set([TRANSPORT_CLOSED]);

/** How a request ended without an answer. */
export type FailureReason = 'aborted' | 'timeout' | 'error';

/** Classifies a request that produced no answer (network, timeout, abort). */
export function errorFromFailure(
  ctx: RequestContext,
  reason: FailureReason,
  cause: unknown,
  timeoutMs: number,
): ClientError {
  const where = `${ctx.method} ${ctx.path}`;
  const base = { method: ctx.method, path: ctx.path, details: { method: ctx.method, path: ctx.path } };
  if (reason === 'aborted') return new ClientError('ABORTED', `${where} was aborted by the caller`, base);
  if (reason === 'timeout') {
    return new ClientError('TIMEOUT', `${where} got no complete answer within ${timeoutMs} ms`, base);
  }
  const safeCause = sanitizeCause(cause, ctx.apiKey);
  const rawCode = (cause as { code?: unknown } | null)?.code;
  const code = typeof rawCode === 'string' ? rawCode : '';
  const what = code === '' ? safeCause.message : `${code}: ${safeCause.message}`;
  if (TIMEOUT_CODES.has(code)) {
    return new ClientError('TIMEOUT', `${where} timed out (${what})`, { ...base, cause: safeCause });
  }
  if (BUG_CODES.has(code)) {
    return new ClientError('INTERNAL', `${where} could not be sent (${what}); this is a bug`, {
      ...base,
      cause: safeCause,
    });
  }
  if (CLOSED_CODES.has(code)) {
    return new ClientError('CLOSED', `${where} was not sent: the client is closed`, {
      ...base,
      cause: safeCause,
    });
  }
  return new ClientError('NETWORK', `${where} failed on the network (${what})`, {
    ...base,
    cause: safeCause,
  });
}
