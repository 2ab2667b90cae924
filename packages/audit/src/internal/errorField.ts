import { isRediverError } from '@rediver/core';

/** The `error` member of an audit line. */
export interface AuditErrorField {
  message: string;
  code?: string;
}

/** Turns anything thrown into `{ message, code }` (code from a RediverError or a Node `code` string). */
export function toErrorField(err: unknown): AuditErrorField | undefined {
  if (err === undefined || err === null) return undefined;
  if (isRediverError(err)) return { message: err.message, code: err.code };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
  }
  if (typeof err === 'string') return { message: err };
  if (typeof err === 'object') {
    const o = err as { message?: unknown; code?: unknown };
    if (typeof o.message === 'string') {
      return typeof o.code === 'string' ? { message: o.message, code: o.code } : { message: o.message };
    }
  }
  if (typeof err === 'object') {
    try {
      return { message: JSON.stringify(err) ?? 'unknown error' };
    } catch {
      return { message: 'unserialisable error object' };
    }
  }
  return { message: typeof err === 'symbol' ? err.toString() : `${err as number | boolean | bigint}` };
}
