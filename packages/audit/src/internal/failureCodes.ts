import { errorCodes } from '@rediver/core';

/** Codes of a local failure of the audit log (file, transport): a full disk has its own; anything else is INTERNAL. */
export const AUDIT_FAILURE_CODES = errorCodes('DISK_FULL', 'INTERNAL');
