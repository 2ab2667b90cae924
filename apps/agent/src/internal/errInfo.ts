import { isRediverError } from '@rediver/core';

/** A failure's message and code (when it is a `RediverError`), for audit lines and operator messages. */
export function errInfo(e: unknown): { message: string; code?: string } {
  if (isRediverError(e)) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? e.message : String(e) };
}
