import { AUDIT_EVENT_TYPES as T } from '@rediver/core';
import type { ChunkEventMap } from '@rediver/chunk';
import type { AgentCounters, BacklogReport, Delivery, DeliveryFigures } from './agentTypes';
import { errInfo } from './internal/errInfo';
import type { AuditEntry, ChunkEvents } from './ports';

/** What the chunk events update in the agent. */
export interface ChunkEventSink {
  readonly counters: AgentCounters;
  readonly deliveries: ReadonlyMap<string, Delivery>;
  readonly backlog: ReadonlyMap<string, BacklogReport>;
  readonly delivery: DeliveryFigures;
  audit(entry: AuditEntry): void;
  say(text: string): void;
  /** Something was acknowledged or settled (the stall deadline starts again). */
  progressed(): void;
  /** A chunk was acknowledged (the rate). */
  chunkAcknowledged(): void;
  /** A failure the agent counts (its exit code). */
  failed(): void;
  /** Something the progress display shows changed. */
  changed(): void;
}

/**
 * The delivery router's event half: the agent's delivery state, counters and audit lines kept from
 * `@rediver/chunk`'s own events (no polling, no adaptation of the payloads).
 */
export function listenToChunks(events: ChunkEvents, agent: ChunkEventSink): void {
  const on = <K extends keyof ChunkEventMap>(
    event: K,
    handle: (e: Parameters<ChunkEventMap[K]>[0]) => void,
  ): void => {
    events.on(event, (e: Parameters<ChunkEventMap[K]>[0]) => {
      handle(e);
      agent.changed();
    });
  };
  on('report:stored', (e) => {
    agent.counters.chunksTotal += e.totalChunks;
    agent.counters.bytesTotal += e.compressedBytes;
    const d = agent.deliveries.get(e.reportId);
    if (d !== undefined) d.totalChunks = e.totalChunks;
  });
  on('chunk:created', (e) =>
    agent.audit({
      type: T.chunkCreated,
      severity: 'DEBUG',
      message: `chunk ${e.chunkIndex + 1}/${e.totalChunks} of report ${e.reportId} stored`,
      reportId: e.reportId,
      details: { chunk_index: e.chunkIndex, total_chunks: e.totalChunks, bytes: e.compressedBytes },
    }),
  );
  on('chunk:uploaded', (e) => {
    agent.progressed();
    agent.chunkAcknowledged();
    const d = agent.deliveries.get(e.reportId);
    if (d !== undefined) {
      agent.counters.chunksUploaded++;
      agent.counters.bytesUploaded += e.compressedBytes;
      d.uploadedChunks++;
    } else if (agent.backlog.has(e.reportId)) agent.counters.backlogChunksUploaded++;
    agent.audit({
      type: T.chunkUploaded,
      severity: 'INFO',
      message: `chunk ${e.chunkIndex + 1}/${e.totalChunks} of report ${e.reportId} uploaded`,
      reportId: e.reportId,
      details: { chunk_index: e.chunkIndex, total_chunks: e.totalChunks, size: e.compressedBytes },
    });
  });
  on('chunk:retry', (e) => {
    agent.counters.chunkRetries++;
    const info = errInfo(e.error);
    agent.audit({
      type: info.code === 'RATE_LIMITED' ? T.rateLimited : T.uploadRetry,
      severity: 'WARN',
      message: `chunk ${e.chunkIndex} of report ${e.reportId} will be retried: ${info.message}`,
      reportId: e.reportId,
      error: e.error,
      details: { chunk_index: e.chunkIndex, attempt: e.retry, delay_ms: e.delayMs },
    });
  });
  const chunkFailed = (e: { reportId: string; chunkIndex: number; error: unknown }): void => {
    agent.progressed();
    agent.counters.chunksFailed++;
    agent.failed();
    agent.audit({
      type: T.chunkFailed,
      severity: 'ERROR',
      message: `chunk ${e.chunkIndex} of report ${e.reportId} dead-lettered: ${errInfo(e.error).message}`,
      reportId: e.reportId,
      error: e.error,
      details: { chunk_index: e.chunkIndex },
    });
  };
  on('chunk:failed', chunkFailed);
  on('chunk:corrupt', chunkFailed);
  const cleanup = (e: {
    reportId?: string | undefined;
    chunks: number;
    bytes: number;
    reason: string;
    undelivered: boolean;
  }): void =>
    agent.audit({
      type: T.chunkCleanup,
      severity: e.undelivered ? 'WARN' : 'DEBUG',
      message: `${e.chunks} chunk(s) cleaned up (${e.reason})${e.undelivered ? ' — UNDELIVERED data deleted' : ''}`,
      ...(e.reportId === undefined ? {} : { reportId: e.reportId }),
      details: { chunks: e.chunks, bytes: e.bytes, reason: e.reason, undelivered: e.undelivered },
    });
  on('chunk:cleanup', (e) =>
    cleanup({
      reportId: e.reportId,
      chunks: e.chunksDeleted + e.blobsFreed,
      bytes: e.bytesFreed,
      reason: e.reason,
      undelivered: e.undelivered,
    }),
  );
  on('report:dropped', (e) =>
    cleanup({
      reportId: e.reportId,
      chunks: e.chunks,
      bytes: e.bytes,
      reason: 'quota-drop',
      undelivered: true,
    }),
  );
  on('report:completed', (e) => {
    agent.progressed();
    const d = agent.deliveries.get(e.reportId);
    if (d === undefined) {
      const b = agent.backlog.get(e.reportId);
      if (b !== undefined) b.status = 'completed';
      agent.counters.backlogDelivered++;
      agent.say(`delivered report ${e.reportId} kept from an earlier run`);
    } else if (d.state === 'chunks') {
      d.state = 'delivered';
      agent.counters.reportsDelivered++;
      agent.counters.findingsDelivered += d.findings;
    }
    agent.audit({
      type: T.uploadCompleted,
      severity: 'INFO',
      message: `report ${e.reportId} delivered in chunks`,
      reportId: e.reportId,
      details: { route: 'chunks', findings: d?.findings, total_chunks: d?.totalChunks },
    });
  });
  on('report:failed', (e) => {
    agent.progressed();
    const d = agent.deliveries.get(e.reportId);
    const b = d === undefined ? agent.backlog.get(e.reportId) : undefined;
    const why = errInfo(e.error).message;
    if (b !== undefined) {
      b.status = e.status === 'partial' ? 'partial' : 'failed';
      b.lastError = why;
    }
    if (d !== undefined && d.state === 'chunks') {
      d.state = 'failed';
      d.error = why;
      agent.counters.reportsFailed++;
    }
    agent.failed();
    agent.audit({
      type: T.uploadFailed,
      severity: 'ERROR',
      message: `report ${e.reportId} ended ${e.status}: kept in the chunk store (see \`rediver-agent status\`)`,
      reportId: e.reportId,
      error: e.error,
      details: { status: e.status },
    });
  });
  on('upload:backlog', (e) => {
    agent.delivery.concurrencyLimit = e.concurrencyLimit;
    agent.delivery.outstandingChunks = e.outstandingChunks;
    agent.delivery.inFlight = e.inFlight;
  });
  on('upload:limit', (e) => {
    agent.delivery.concurrencyLimit = e.limit;
  });
  on('storage:full', (e) =>
    agent.audit({
      type: T.resourceWarning,
      severity: 'ERROR',
      message: `chunk storage full: ${e.action}: report ${e.reportId} needs ${e.neededBytes} bytes, ${e.storedBytes}/${e.maxStorageBytes} used`,
    }),
  );
}
