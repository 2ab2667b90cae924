import { randomBytes } from 'node:crypto';
import { isValidReportId } from '@rediver/core';
import { AgentError } from './errors';

/** A new report id: `<tool>-<UTC yyyymmddThhmmss>-<12 hex>`, valid per the platform's rule. */
export function newReportId(tool: string, now: Date = new Date()): string {
  const slug =
    tool
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'scan';
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  const id = `${slug}-${stamp}-${randomBytes(6).toString('hex')}`;
  if (!isValidReportId(id))
    throw new AgentError('REPORT_ID_INVALID', `generated an invalid report id from tool ${tool}`);
  return id;
}
