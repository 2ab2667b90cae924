import { isRediverError, systemErrorCode } from '@rediver/core';
import type { Command, HeartbeatRequest, Report, ReportStatus, SystemMetrics } from '@rediver/core';
import { AuditLogger, DEFAULT_AUDIT_LOGGER_OPTIONS } from '@rediver/audit';
import type { AuditLoggerOptions } from '@rediver/audit';
import {
  DEFAULT_RESOURCE_CONTROLLER_OPTIONS,
  ResourceController,
  SystemMetricsSource,
} from '@rediver/resource';
import type { ResourceControllerOptions, SystemMetricsSourceOptions } from '@rediver/resource';
import { DEFAULT_UPLOAD_PIPELINE_OPTIONS, UploadPipeline } from '@rediver/pipeline';
import type { UploadPipelineOptions } from '@rediver/pipeline';
import { ChunkManager, DEFAULT_CHUNK_MANAGER_OPTIONS } from '@rediver/chunk';
import type { ChunkManagerOptions } from '@rediver/chunk';
import { createClient, DEFAULT_CLIENT_OPTIONS } from '@rediver/client';
import type { ClientOptions, RediverClient } from '@rediver/client';
import type { AgentDeps } from './agent';
import type { AgentConfig, PackageSectionName } from './config';
import { registerSectionKeys } from './config';
import { AgentError, configError, withCode } from './errors';
import type { AuditPort, ChunkPort, PipelinePort, PlatformPort, ResourcePort } from './ports';
import { chunkStorePath, dataPaths } from './paths';
import { storedReportInfo, UNDELIVERED_STATUSES } from './internal/storedReports';
import { VERSION } from './version';

export { auditLogPath, chunkStorePath, dataPaths } from './paths';

/*
 * Option names of each package, as reachable from the config file (`audit.maxSizeMB`), the environment
 * (`REDIVER_AUDIT__MAX_SIZE_MB`) and `--set audit.maxSizeMB=50`. Functions, streams, loggers and clocks
 * cannot come from a file and are left out; everything else the packages accept is here.
 */
const SECTION_KEYS: Record<PackageSectionName, readonly string[]> = {
  audit: [
    ...Object.keys(DEFAULT_AUDIT_LOGGER_OPTIONS),
    'remoteHeaders',
    'transport',
    'redact',
    'hashChain',
    // For unattended installs: the operator secret a new sealing key is derived from (pass it only at set-up).
    'sealSecret',
    'verbose',
    'compress',
    'maxFiles',
    // Deprecated old names (now remoteRetryBaseDelayMs / remoteRetryMaxDelayMs): still accepted, the package warns.
    'remoteRetryBaseMs',
    'remoteRetryMaxMs',
  ].filter((k) => !['logger', 'clock', 'random', 'verboseStream'].includes(k)),
  resource: [...Object.keys(DEFAULT_RESOURCE_CONTROLLER_OPTIONS), 'maxConcurrentJobs', 'metrics'],
  pipeline: Object.keys(DEFAULT_UPLOAD_PIPELINE_OPTIONS),
  chunk: Object.keys(DEFAULT_CHUNK_MANAGER_OPTIONS).filter((k) => k !== 'logger' && k !== 'clock'),
  client: Object.keys(DEFAULT_CLIENT_OPTIONS).filter(
    (k) => !['logger', 'clock', 'baseUrl', 'apiKey', 'agentId'].includes(k),
  ),
};
for (const [section, keys] of Object.entries(SECTION_KEYS))
  registerSectionKeys(section as PackageSectionName, keys);

/** Runs a package constructor; its `INVALID_OPTION` becomes `CONFIG_INVALID` naming `section.option`. */
function construct<T>(section: PackageSectionName, options: Record<string, unknown>, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!isRediverError(e, 'INVALID_OPTION', 'CONFIG_INVALID')) throw e;
    // Every package names the offending option in `details.option` (dotted when nested: `decompressionLimits.maxRatio`).
    const option = typeof e.details?.option === 'string' ? e.details.option : undefined;
    // Options the agent fills from its own top-level fields are reported under those names.
    const topLevel: Record<string, string> = {
      apiKey: 'apiKey',
      baseUrl: 'server',
      agentId: 'agentId',
      tenantId: 'tenantId',
      logFile: 'dataDir',
      databasePath: 'dataDir',
    };
    const head = option?.split('.')[0];
    if (head !== undefined && !(head in options) && topLevel[head] !== undefined) {
      throw configError(topLevel[head], `is invalid: ${e.message}`);
    }
    throw configError(option === undefined ? section : `${section}.${option}`, `is invalid: ${e.message}`);
  }
}

/** The audit logger (first thing the agent creates). */
export async function createAudit(
  config: AgentConfig,
  extra: Partial<AuditLoggerOptions> = {},
): Promise<AuditPort & { logger: AuditLogger }> {
  const options: AuditLoggerOptions = {
    agentId: config.agentId,
    tenantId: config.tenantId,
    logFile: dataPaths(config.dataDir).auditLog,
    hashChain: true,
    ...(config.audit as AuditLoggerOptions),
    ...extra,
  };
  const logger = construct('audit', config.audit, () => new AuditLogger(options));
  let newKey: AuditPort['newKey'];
  logger.once('key:created', (e) => (newKey = e));
  await logger.start();
  return {
    logger,
    location: options.logFile ?? dataPaths(config.dataDir).auditLog,
    log: (entry) => logger.log(entry),
    flush: () => logger.flush(),
    close: () => logger.close(),
    latestCheckpoint: () => logger.latestCheckpoint(),
    ...(newKey === undefined ? {} : { newKey }),
  };
}

/** The resource controller, measuring the real machine. */
export function createResource(config: AgentConfig): ResourcePort & { controller: ResourceController } {
  const { metrics, ...rest } = config.resource as ResourceControllerOptions & {
    metrics?: SystemMetricsSourceOptions;
  };
  // The event-loop delay histogram wakes the process every 10 ms (a third of the idle daemon's CPU): measured only
  // when a threshold reads it, unless asked for (`resource.metrics.eventLoopMonitoring`).
  const sourceOptions: SystemMetricsSourceOptions = {
    eventLoopMonitoring: rest.eventLoopDelayThresholdMs !== undefined,
    ...(metrics ?? {}),
  };
  const metricsSource = construct('resource', config.resource, () => new SystemMetricsSource(sourceOptions));
  const controller = construct(
    'resource',
    config.resource,
    () => new ResourceController({ ...rest, metricsSource }),
  );
  return {
    controller,
    start: () => void controller.start(),
    // The first sample at start() has no CPU figure yet: wait (bounded) for one, so the first job is admitted knowingly.
    ready: async () => {
      await controller.whenMeasured({ timeoutMs: 3000 });
    },
    acquireSlot: () => controller.acquireSlot(),
    acquireSlotBlocking: (o) =>
      controller.acquireSlotBlocking(o.signal === undefined ? {} : { signal: o.signal }),
    getStatus: () => controller.getStatus(),
    metrics: () => controller.metrics,
    onThrottle: (fn) => void controller.on('resource:throttled', (e) => fn(e.reason, e.metrics)),
    onResume: (fn) => void controller.on('resource:resumed', (e) => fn(e.metrics)),
    onWarning: (fn) => void controller.on('resource:warning', (w) => fn(w.message, { code: w.code })),
    close: async () => {
      await controller.close();
      await metricsSource.close();
    },
  };
}

/** The upload pipeline delivering whole reports through the client. */
export function createPipeline(
  config: AgentConfig,
  client: RediverClient,
): PipelinePort & { pipeline: UploadPipeline } {
  const pipeline = construct(
    'pipeline',
    config.pipeline,
    () => new UploadPipeline(client, config.pipeline as UploadPipelineOptions),
  );
  return {
    pipeline,
    submit: (report, o) => pipeline.submit(report, o),
    flush: (o) => pipeline.flush(o.signal === undefined ? {} : { signal: o.signal }),
    stop: async (o) => {
      const items = await pipeline.stop(
        o.signal === undefined ? { drain: o.drain } : { drain: o.drain, signal: o.signal },
      );
      return items.map((i) => i.report);
    },
    stats: () => {
      const s = pipeline.getStats();
      return {
        queued: s.queueLength,
        inFlight: s.inProgress,
        completed: s.completed,
        failed: s.failed,
        retries: s.retries,
      };
    },
    onCompleted: (fn) => void pipeline.on('item:completed', (e) => fn(e.item, e.result)),
    onFailed: (fn) => void pipeline.on('item:failed', (e) => fn(e.item, e.error)),
    onRetry: (fn) => void pipeline.on('item:retry', (e) => fn(e.item, e.error, e.delayMs)),
  };
}

/**
 * Opens the chunk store with `open`. A damaged file is set aside by the package itself (see `announceSetAside`);
 * what is left is a store that cannot be opened at all (a full disk, a data dir the agent may not write, a damaged
 * file that could not be moved): one clear `RediverError` naming the file, never a raw SQLite stack.
 */
export function openStore<T>(databasePath: string, open: () => T): T {
  try {
    return open();
  } catch (e) {
    if (isRediverError(e)) {
      if (e.code !== 'DISK_FULL') throw e;
      throw new AgentError('DISK_FULL', `chunk store ${databasePath}: ${e.message}`, { cause: e });
    }
    const what = withCode(e);
    // Core's one mapping of system errors; opening the store is a write (permission refused means read-only).
    const code = systemErrorCode(e, true);
    const readOnly = code === 'READ_ONLY';
    if (code === 'DISK_FULL') {
      throw new AgentError('DISK_FULL', `the chunk store ${databasePath} cannot be opened (${what})`, {
        cause: e,
      });
    }
    throw new AgentError(
      readOnly ? 'READ_ONLY' : 'INTERNAL',
      `the chunk store ${databasePath} cannot be opened (${what})${readOnly ? ': the data dir must be writable by the agent (only `status` works on a read-only data dir)' : ''}`,
      { cause: e },
    );
  }
}

/** The chunk store and upload engine, in `<dataDir>/chunks.db`. */
export function createChunks(
  config: AgentConfig,
  uploader: ChunkManagerOptions['uploader'],
): ChunkPort & { manager: ChunkManager } {
  const tenantId = config.tenantId;
  const databasePath = chunkStorePath(config);
  const manager = construct('chunk', config.chunk, () =>
    openStore(
      databasePath,
      () =>
        new ChunkManager({
          databasePath,
          ...(config.chunk as Partial<ChunkManagerOptions>),
          uploader,
        }),
    ),
  );
  const o = manager.store.options;
  return {
    manager,
    needsChunking: (r: Report) => manager.needsChunking(r),
    thresholds: () => ({
      findings: o.minFindingsForChunking,
      assets: o.minAssetsForChunking,
      bytes: o.minSizeForChunkingBytes,
    }),
    beginReport: async (b) => {
      const writer = await manager.beginReport({
        tenantId,
        header: b.header,
        assets: b.assets,
        ...(b.priority === undefined ? {} : { priority: b.priority }),
      });
      return {
        addFindings: (f) => writer.addFindings(f),
        addAll: (source) => writer.addAll(source),
        commit: async (header) => {
          const r = await writer.commit(header === undefined ? {} : { header });
          return { totalChunks: r.totalChunks, created: r.created };
        },
        abort: (reason) => writer.abort(reason),
      };
    },
    submitReport: async (r, o) => {
      const res = await manager.submitReport(
        r,
        o.priority === undefined ? { tenantId: o.tenantId } : { tenantId: o.tenantId, priority: o.priority },
      );
      return { totalChunks: res.totalChunks };
    },
    start: () => void manager.start(),
    events: manager.events,
    listReports: async () =>
      (
        await manager.listReports(tenantId, {
          // Committed reports only (a streamed report being written is `staging` and invisible here).
          statuses: UNDELIVERED_STATUSES,
          // Every one: the agent's delivery state is built from this list once, then kept by events.
          limit: Number.MAX_SAFE_INTEGER,
        })
      ).map(storedReportInfo),
    reportInfo: async (reportId) => {
      const p = await manager.getProgress(tenantId, reportId);
      return p === undefined ? undefined : storedReportInfo(p);
    },
    retryFailed: (reportId) => manager.retryFailed(tenantId, reportId),
    storage: async () => {
      const s = await manager.getStats();
      return { storedBytes: s.storedBytes, maxStorageBytes: s.maxStorageBytes };
    },
    close: () => manager.close(),
  };
}

/** The platform client. */
export function createPlatformClient(config: AgentConfig, server: string, apiKey: string): RediverClient {
  const options: ClientOptions = {
    ...(config.client as Partial<ClientOptions>),
    baseUrl: server,
    apiKey,
    agentId: config.agentId,
    userAgent: `rediver-agent/${VERSION}`,
  };
  if (typeof config.client.userAgent === 'string') options.userAgent = config.client.userAgent;
  return construct('client', config.client, () => createClient(options));
}

/** The commands and heartbeat API as the daemon uses it. */
export function platformPort(client: RediverClient): PlatformPort {
  return {
    heartbeat: (body: HeartbeatRequest) => client.heartbeat(body),
    pollCommands: (limit: number, signal?: AbortSignal): Promise<Command[]> =>
      client.pollCommands(signal === undefined ? { limit } : { limit, signal }),
    acknowledge: (id) => client.acknowledgeCommand(id),
    start: (id) => client.startCommand(id),
    complete: (id, result) => client.completeCommand(id, result),
    fail: (id, message) => client.failCommand(id, message),
    close: () => client.close(),
  };
}

/** The packages themselves behind the ports (for their stats: metrics, status). */
export interface PackageHandles {
  audit: AuditLogger;
  resource: ResourceController;
  pipeline: UploadPipeline;
  chunks: ChunkManager;
}

/**
 * Builds everything the agent composes, audit logger first. On a failure half-way, what was opened
 * is closed again.
 */
export async function createAgentDeps(
  config: AgentConfig,
  server: string,
  apiKey: string,
): Promise<AgentDeps & { client: RediverClient; handles: PackageHandles }> {
  const audit = await createAudit(config);
  const opened: (() => Promise<void>)[] = [() => audit.close()];
  try {
    const client = createPlatformClient(config, server, apiKey);
    opened.push(() => client.close());
    const resource = createResource(config);
    opened.push(() => resource.close());
    const chunks = createChunks(config, client);
    opened.push(() => chunks.close());
    const pipeline = createPipeline(config, client);
    return {
      audit,
      resource,
      pipeline,
      chunks,
      platform: platformPort(client),
      client,
      handles: {
        audit: audit.logger,
        resource: resource.controller,
        pipeline: pipeline.pipeline,
        chunks: chunks.manager,
      },
    };
  } catch (e) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw e;
  }
}

/** Report counts by status, for a data folder (used by `status` without starting an agent). */
export type ReportCounts = Record<ReportStatus, number>;

/** A metrics sample for heartbeats (the controller's latest). */
export function heartbeatMetrics(m: SystemMetrics | undefined): {
  cpu_percent: number;
  memory_percent: number;
} {
  return {
    cpu_percent: Math.round((m?.cpuPercent ?? 0) * 10) / 10,
    memory_percent: Math.round((m?.memoryPercent ?? 0) * 10) / 10,
  };
}
