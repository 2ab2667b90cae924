import { ERROR_CODES, isRediverError } from '@rediver/core';
import type { ErrorCode } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';

/** An error as it crosses a thread boundary (structured clone keeps no class). */
export interface WireError {
  code: ErrorCode;
  message: string;
  status: number;
  details?: Record<string, unknown>;
}

/** The cloneable form of an error thrown on a worker. */
export function toWireError(error: unknown): WireError {
  if (isRediverError(error)) {
    return {
      code: error.code,
      message: error.message,
      status: error.status ?? 400,
      ...(error.details === undefined ? {} : { details: { ...error.details } }),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: ERROR_CODES.INTERNAL, message: `body worker failed: ${message}`, status: 500 };
}

/** The `IngestServerError` back from its wire form. */
export function fromWireError(wire: WireError): IngestServerError {
  return new IngestServerError(wire.code, wire.message, {
    status: wire.status,
    ...(wire.details === undefined ? {} : { details: wire.details }),
  });
}
