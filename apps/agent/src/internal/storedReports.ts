import type { ReportStatus } from '@rediver/core';
import type { ReportProgress } from '@rediver/chunk';
import type { StoredReportInfo } from '../ports';

/** Report states that are not delivered yet: what `deliver`, `status` and the backlog list. */
export const UNDELIVERED_STATUSES: readonly ReportStatus[] = Object.freeze([
  'pending',
  'uploading',
  'failed',
  'partial',
]);

/**
 * A stored report as the agent lists it: the chunk package's `listReports` row, or its `getProgress` (which has
 * no `createdAt`).
 */
export function storedReportInfo(r: ReportProgress & { createdAt?: number }): StoredReportInfo {
  const info: StoredReportInfo = {
    reportId: r.reportId,
    status: r.status,
    totalChunks: r.totalChunks,
    uploadedChunks: r.uploadedChunks,
    failedChunks: r.failedChunks,
    bytes: r.totalBytes,
  };
  if (r.createdAt !== undefined) info.createdAt = r.createdAt;
  if (r.lastError !== null) info.lastError = r.lastError;
  return info;
}
