import { RediverError } from '@rediver/core';
import type { ErrorCode, RediverErrorOptions } from '@rediver/core';

/** The error class of `@rediver/audit`: invalid options, write failures, use after close. */
export class AuditError extends RediverError {
  constructor(code: ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'AuditError';
  }
}
