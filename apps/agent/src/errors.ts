import { RediverError } from '@rediver/core';
import type { ErrorCode, RediverErrorOptions } from '@rediver/core';

/** The agent's error: a `RediverError` with a stable code (e.g. `CONFIG_INVALID`, `SCANNER_FAILED`). */
export class AgentError extends RediverError {
  /** For `CONFIG_INVALID`: the dotted path of the offending field (e.g. `pipeline.workers`). */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: RediverErrorOptions & { field?: string } = {}) {
    super(code, message, options);
    this.name = 'AgentError';
    this.field = options.field;
  }
}

/** A `CONFIG_INVALID` error naming the bad field. */
export function configError(field: string, problem: string, source?: string): AgentError {
  const where = source === undefined ? '' : ` (from ${source})`;
  return new AgentError('CONFIG_INVALID', `invalid configuration: ${field} ${problem}${where}`, { field });
}

/** `CODE: message` of a system or SQLite error (Node's own messages already start with their code: not twice). */
export function withCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}
