import type { ReportStatus } from '@rediver/core';
import type { StoredReportSummary } from '@rediver/chunk';
import type { StoredReportInfo } from '../ports';

/** Report states that are not delivered yet: what `deliver`, `status` and the backlog list. */
export const UNDELIVERED_STATUSES: readonly ReportStatus[] = Object.freeze([
  'pending',
  'uploading',
  'failed',
  'partial',
]);

/** A stored report (the chunk package's `listReports` row) as the agent lists it. */
export function storedReportInfo(r: StoredReportSummary): StoredReportInfo {
  const info: StoredReportInfo = {
    reportId: r.reportId,
    status: r.status,
    totalChunks: r.totalChunks,
    uploadedChunks: r.uploadedChunks,
    failedChunks: r.failedChunks,
    bytes: r.totalBytes,
    createdAt: r.createdAt,
  };
  if (r.lastError !== null) info.lastError = r.lastError;
  return info;
}
