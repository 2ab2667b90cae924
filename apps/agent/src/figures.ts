import type { ChunkStatus, ReportStatus, SystemMetrics } from '@rediver/core';
import type { AgentCounters } from './agent';

/*
 * The operator's figures of one agent, from the packages' own stats (the packages know nothing of metrics
 * libraries): the OpenMetrics endpoint (`run --metrics-port`) exports them and `status --json` prints them.
 */

/** The figures; `null` where the source was not available (e.g. `status` with no agent running). */
export interface AgentFigures {
  /** Where they come from: a running agent, or only what the data dir holds. */
  source: 'agent' | 'data-dir';
  /** Epoch ms. */
  at: number;
  jobs: {
    queued: number;
    waiting: number;
    running: number;
    completed: number;
    failed: number;
    cancelled: number;
    /** Jobs that had to wait for a slot. */
    throttled: number;
  } | null;
  findings: { found: number; delivered: number } | null;
  reports: {
    delivered: number;
    failed: number;
    /** Handed to the chunk store on disk instead of the pipeline (queue full, gave up, stopping). */
    persisted: number;
    /** In the upload pipeline's memory. */
    pipelineQueued: number;
    pipelineInFlight: number;
    /** In the chunk store, by state. */
    stored: Record<ReportStatus, number> | null;
  };
  chunks: {
    /** In the chunk store, by state. */
    stored: Record<ChunkStatus, number> | null;
    uploaded: number | null;
  };
  /** Compressed bytes waiting in the chunk store. */
  backlogBytes: number | null;
  /** Quota of the chunk store, bytes. */
  backlogMaxBytes: number | null;
  retries: { pipeline: number; chunks: number } | null;
  /** Chunks dead-lettered (in the store now). */
  deadLetters: number | null;
  upload: {
    /** Chunk uploads allowed at once now: the engine's adaptive limit when it has one, else the configured one. */
    concurrencyLimit: number;
    concurrencySource: 'adaptive' | 'configured';
    inFlight: number;
  } | null;
  throttle: {
    throttled: boolean;
    reason: string | null;
    activeJobs: number;
    maxJobs: number;
    pendingJobs: number;
    rejectedJobs: number;
    throttleEvents: number;
  } | null;
  host: {
    cpuPercent: number;
    memoryPercent: number;
    memoryUsedBytes: number;
    memoryLimitBytes: number;
    effectiveCpus: number;
    cpuOrigin: string;
    memoryOrigin: string;
  } | null;
  audit: {
    written: number;
    /** Lines not written or not shipped, by reason (the audit logger's `*dropped*` counters). */
    dropped: Record<string, number>;
    errors: number;
  } | null;
  process: {
    pid: number;
    cpuSeconds: number;
    rssBytes: number;
    heapUsedBytes: number;
    uptimeSeconds: number;
  };
  platform: { lastOkAt: number | null; lastErrorAt: number | null; lastError: string | null } | null;
}

/** What figures are read from (each optional). */
export interface FigureSources {
  counters?: AgentCounters;
  pipeline?: () => { queueLength: number; inProgress: number; retries: number };
  /** The chunk manager's (or store's) `getStats(tenantId)`. */
  chunkStats?: () => Promise<{
    reports: Record<ReportStatus, number>;
    chunks: Record<ChunkStatus, number>;
    storedBytes: number;
    maxStorageBytes: number;
    upload?: {
      uploaded: number;
      retries: number;
      deadLettered: number;
      inFlight: number;
      /** Uploads allowed at once now (the adaptive limit, or the configured one). */
      concurrencyLimit: number;
    };
  }>;
  configuredUploadConcurrency?: number;
  /** Whether the chunk engine adapts its concurrency (`chunk.adaptive`). */
  adaptiveUploads?: boolean;
  resource?: () => {
    throttled: boolean;
    throttleReason?: string;
    activeJobs: number;
    maxJobs: number;
    pendingJobs: number;
    rejectedJobs: number;
    metrics?: SystemMetrics;
  };
  audit?: () => Record<string, number>;
  platform?: { lastOkAt: number | undefined; lastErrorAt: number | undefined; lastError: string | undefined };
}

/** Reads every figure its sources give. */
export async function collectFigures(s: FigureSources): Promise<AgentFigures> {
  const c = s.counters;
  const p = s.pipeline?.();
  const chunk = s.chunkStats === undefined ? undefined : await s.chunkStats();
  const r = s.resource?.();
  const a = s.audit?.();
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const limit = chunk?.upload?.concurrencyLimit;
  const m = r?.metrics;
  return {
    source: c === undefined ? 'data-dir' : 'agent',
    at: Date.now(),
    jobs:
      c === undefined
        ? null
        : {
            queued: c.jobsQueued,
            waiting: c.jobsWaiting,
            running: c.jobsRunning,
            completed: c.jobsCompleted,
            failed: c.jobsFailed,
            cancelled: c.jobsCancelled,
            throttled: c.jobsThrottled,
          },
    findings: c === undefined ? null : { found: c.findingsFound, delivered: c.findingsDelivered },
    reports: {
      delivered: c?.reportsDelivered ?? 0,
      failed: c?.reportsFailed ?? 0,
      persisted: c?.reportsPersisted ?? 0,
      pipelineQueued: p?.queueLength ?? 0,
      pipelineInFlight: p?.inProgress ?? 0,
      stored: chunk?.reports ?? null,
    },
    chunks: { stored: chunk?.chunks ?? null, uploaded: chunk?.upload?.uploaded ?? c?.chunksUploaded ?? null },
    backlogBytes: chunk?.storedBytes ?? null,
    backlogMaxBytes: chunk?.maxStorageBytes ?? null,
    retries:
      p === undefined && c === undefined ? null : { pipeline: p?.retries ?? 0, chunks: c?.chunkRetries ?? 0 },
    deadLetters: chunk === undefined ? null : (chunk.chunks.failed ?? 0),
    upload:
      s.configuredUploadConcurrency === undefined && limit === undefined
        ? null
        : {
            concurrencyLimit: limit ?? s.configuredUploadConcurrency ?? 0,
            concurrencySource: limit !== undefined && s.adaptiveUploads === true ? 'adaptive' : 'configured',
            inFlight: chunk?.upload?.inFlight ?? 0,
          },
    throttle:
      r === undefined
        ? null
        : {
            throttled: r.throttled,
            reason: r.throttleReason ?? null,
            activeJobs: r.activeJobs,
            maxJobs: r.maxJobs,
            pendingJobs: r.pendingJobs,
            rejectedJobs: r.rejectedJobs,
            throttleEvents: c?.throttleEvents ?? 0,
          },
    host:
      m === undefined
        ? null
        : {
            cpuPercent: m.cpuPercent,
            memoryPercent: m.memoryPercent,
            memoryUsedBytes: m.memoryUsedBytes,
            memoryLimitBytes: m.memoryLimitBytes,
            effectiveCpus: m.effectiveCpus,
            cpuOrigin: m.cpuOrigin,
            memoryOrigin: m.memoryOrigin,
          },
    audit:
      a === undefined
        ? null
        : {
            written: a.written ?? 0,
            dropped: Object.fromEntries(Object.entries(a).filter(([k]) => /dropped/i.test(k))),
            errors: a.errors ?? 0,
          },
    process: {
      pid: process.pid,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeSeconds: Math.round(process.uptime()),
    },
    platform:
      s.platform === undefined
        ? null
        : {
            lastOkAt: s.platform.lastOkAt ?? null,
            lastErrorAt: s.platform.lastErrorAt ?? null,
            lastError: s.platform.lastError ?? null,
          },
  };
}
