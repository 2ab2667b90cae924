import { AUDIT_EVENT_TYPES as T, RETRYABLE_ERROR_CODES } from '@rediver/core';
import type { ErrorCode } from '@rediver/core';
import type { AgentContext } from './agentContext';
import type { BacklogReport } from './agentTypes';

/**
 * Picks up what earlier runs left in the chunk store (one read; from then on the agent follows it by events):
 * pending reports resume by themselves. Dead letters are permanent refusals (a transient failure never
 * dead-letters), so they stay where they are — except those an earlier version dead-lettered after running out
 * of retries on a transient error (their last error says so), which are re-queued; `retryFailed` re-queues
 * every dead letter (`deliver --retry-failed`, after fixing what the platform refused).
 */
export async function resumeBacklog(
  ctx: AgentContext,
  options: { retryFailed?: boolean } = {},
): Promise<{ pending: number; requeued: number; deadLettered: number }> {
  const reports = await ctx.deps.chunks.listReports();
  let requeued = 0;
  let deadLettered = 0;
  for (const r of reports) {
    if (ctx.deliveries.has(r.reportId)) continue;
    let status = r.status;
    let requeuedHere = 0;
    if (status === 'failed' || status === 'partial') {
      const code = /^([A-Z_]+):/.exec(r.lastError ?? '')?.[1] as ErrorCode | undefined;
      const transient = code !== undefined && RETRYABLE_ERROR_CODES.has(code);
      if (options.retryFailed === true || transient) {
        const n = await ctx.deps.chunks.retryFailed(r.reportId);
        requeued += n;
        requeuedHere = n;
        if (n > 0) {
          status = 'uploading';
          ctx.audit({
            type: T.uploadRetry,
            severity: 'INFO',
            message: `re-queued ${n} dead-lettered chunk(s) of report ${r.reportId} kept from an earlier run (${transient ? 'given up on a transient error by an earlier version' : 'asked for'})`,
            reportId: r.reportId,
            details: { chunks: n, last_error: r.lastError },
          });
        }
      }
    }
    const entry: BacklogReport = { status };
    if (r.lastError !== undefined) entry.lastError = r.lastError;
    ctx.backlog.set(r.reportId, entry);
    if (status === 'failed' || status === 'partial') deadLettered++;
    else {
      ctx.counters.backlogReports++;
      ctx.counters.backlogChunksTotal += Math.max(
        0,
        r.totalChunks - r.uploadedChunks - (requeuedHere > 0 ? 0 : r.failedChunks),
      );
    }
  }
  const pending = reports.length - deadLettered;
  if (pending > 0)
    ctx.say(
      `${pending} report(s) kept from an earlier run: delivering them (${requeued} chunk(s) re-queued)`,
    );
  if (deadLettered > 0)
    ctx.say(
      `${deadLettered} report(s) refused by the platform are kept as dead letters (see \`rediver-agent status\`; \`deliver --retry-failed\` re-sends them)`,
    );
  ctx.changed();
  return { pending, requeued, deadLettered };
}
