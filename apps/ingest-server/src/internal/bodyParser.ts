import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_PATHS } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import type { ResolvedIngestServerOptions } from '../ingestServerOptions';
import { parseContentEncoding, readBoundedBody } from './boundedDecoder';
import type { BodyEncoding } from './boundedDecoder';
import {
  CHUNK_ENVELOPE_CONTENT_LIMITS,
  REPORT_CONTENT_LIMITS,
  SMALL_BODY_CONTENT_LIMITS,
} from './contentLimits';
import type { ContentLimits } from './contentLimits';
import { headerValue, routeOf } from './http';
import { JsonScanner } from './jsonScanner';
import { parseJsonBody } from './validation';

/* Reading request bodies: bounded while they stream in, refused before parsing, drained or the connection closed. */

export const REFUSED = Symbol('refused');
const RAW_BODY = Symbol('rawBody');
/** Requests whose refused body was not drained: their connection closes after the answer. */
export const closeAfterAnswer = new WeakSet<IncomingMessage>();
/** Requests whose body the server started to read (the body parser ran). */
const bodyRead = new WeakSet<IncomingMessage>();
/** Requests of a known tenant: a body they send is worth draining to keep their connection alive. */
export const authenticated = new WeakSet<IncomingMessage>();
/** Most bytes of a tenant's body refused before reading that are read and discarded to keep the connection alive. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
/**
 * Most bytes of a body read and discarded after an answer given before reading it to a caller without a valid
 * key, or for an unknown route: more and the connection is closed instead. Nobody unauthenticated gets the
 * server to read megabytes.
 */
const MAX_ANONYMOUS_DRAIN_BYTES = 64 * 1024;

export interface RefusedBody {
  [REFUSED]: unknown;
}

/** A chunk or report body read and scanned on the main thread; the pool does the rest. */
interface RawBody {
  [RAW_BODY]: Buffer;
}

export function bodyOf(request: FastifyRequest): unknown {
  return request.body;
}

/** The raw bytes of a chunk or report body (scanned, not parsed). */
export function rawBodyOf(request: FastifyRequest): Buffer {
  const body = request.body as Partial<RawBody> | undefined;
  const raw = typeof body === 'object' && body !== null ? body[RAW_BODY] : undefined;
  if (raw === undefined)
    throw new IngestServerError('VALIDATION_FAILED', 'a JSON body is required', { status: 400 });
  return raw;
}

function limitsFor(
  options: ResolvedIngestServerOptions,
  path: string,
): ResolvedIngestServerOptions['ingestLimits'] {
  return path.startsWith(API_PATHS.ingest) ? options.ingestLimits : options.defaultLimits;
}

/** What a route's body may contain, and whether the body pool (not the main thread) parses it. */
function contentFor(path: string): { limits: ContentLimits; pooled: boolean } {
  if (path === API_PATHS.ingestChunk) return { limits: CHUNK_ENVELOPE_CONTENT_LIMITS, pooled: true };
  if (path === API_PATHS.ingest) return { limits: REPORT_CONTENT_LIMITS, pooled: true };
  return { limits: SMALL_BODY_CONTENT_LIMITS, pooled: false };
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return true;
  const media = header.split(';')[0]!.trim().toLowerCase();
  return (
    media === '' ||
    media === 'application/json' ||
    (media.startsWith('application/') && media.endsWith('+json'))
  );
}

/** Discards the rest of a refused body when its declared length is small; otherwise closes after the answer. */
function drainOrClose(request: FastifyRequest, payload: IncomingMessage): void {
  const declared = Number(headerValue(request.headers['content-length']));
  if (Number.isFinite(declared) && declared <= MAX_DRAIN_BYTES) payload.resume();
  else closeAfterAnswer.add(request.raw);
}

/**
 * True when an answer given before the body was read must close the connection: the body is unbounded
 * (chunked), or longer than what the server reads and discards for this caller.
 */
export function mustCloseUnread(request: FastifyRequest): boolean {
  if (bodyRead.has(request.raw)) return false;
  const lengthHeader = headerValue(request.headers['content-length']);
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (lengthHeader === undefined && !chunked) return false;
  const declared = Number(lengthHeader);
  if (chunked || !Number.isFinite(declared)) return true;
  return declared > (authenticated.has(request.raw) ? MAX_DRAIN_BYTES : MAX_ANONYMOUS_DRAIN_BYTES);
}

export function registerBodyParser(app: FastifyInstance, options: ResolvedIngestServerOptions): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    (
      request: FastifyRequest,
      payload: IncomingMessage,
      done: (err: Error | null, body?: unknown) => void,
    ) => {
      bodyRead.add(request.raw);
      const refuse = (error: unknown): void => done(null, { [REFUSED]: error } satisfies RefusedBody);
      let encoding: BodyEncoding;
      try {
        if (!isJsonContentType(headerValue(request.headers['content-type']))) {
          throw new IngestServerError('UNSUPPORTED_ENCODING', 'Content-Type must be application/json', {
            status: 415,
          });
        }
        encoding = parseContentEncoding(headerValue(request.headers['content-encoding']));
      } catch (error) {
        drainOrClose(request, payload);
        refuse(error);
        return;
      }
      const lengthHeader = headerValue(request.headers['content-length']);
      const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
      const path = routeOf(request);
      const content = contentFor(path);
      // What the body contains is bounded while it streams in, before anything is parsed.
      const scanner = new JsonScanner(content.limits);
      void readBoundedBody(payload, {
        encoding,
        limits: limitsFor(options, path),
        declaredLength: declared !== undefined && Number.isFinite(declared) ? declared : undefined,
        observe: (part) => scanner.write(part),
      }).then((outcome) => {
        if (!outcome.ok) {
          // The rest of an unbounded body is not read: answer, then close the connection.
          if (!outcome.failure.drained) closeAfterAnswer.add(request.raw);
          refuse(outcome.failure.error);
          return;
        }
        if (content.pooled && outcome.body.length > 0) {
          done(null, { [RAW_BODY]: outcome.body } satisfies RawBody);
          return;
        }
        try {
          done(null, parseJsonBody(outcome.body, { limits: content.limits, scanned: true }));
        } catch (error) {
          refuse(error);
        }
      });
    },
  );
}
