import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { DEFAULT_CHUNK_MANAGER_OPTIONS } from '@rediver/chunk';
import { collectFigures } from '../figures';
import type { FigureSources } from '../figures';
import type { MetricsServer, ReadyCheck } from '../metricsServer';
import { AUDIT_EVENT_TYPES as T, isRediverError } from '@rediver/core';
import type { Command, HeartbeatRequest, Job } from '@rediver/core';
import type { Agent } from '../agent';
import { CommandTracker } from '../commandTracker';
import type { PlatformPort } from '../ports';
import { VERSION } from '../version';
import { heartbeatMetrics } from '../wiring';
import type { Io } from './common';
import { COMMON_HELP, COMMON_OPTIONS, configFrom, EXIT, parse } from './common';
import { openSession } from './session';
import type { Session } from './session';

/** Help of `run`. */
export const RUN_HELP = `Usage: rediver-agent run [--config <file>] [--server <url>] [--api-key <key>] ...

The daemon: delivers anything kept from earlier runs, polls the platform's commands API for scan jobs
(acknowledging a command only when its job really starts), runs them under the resource controller,
sends heartbeats with real machine metrics, and runs until SIGINT/SIGTERM. On a signal it stops taking
jobs, finishes or persists what is in hand within shutdownTimeoutMs, flushes the audit log, exits 0.
A command's payload: {"target": "<path>", "scanners": ["secretlint", ...]} (scanners optional).

Operations:
      --metrics-port <n>  serve OpenMetrics on http://<host>:<n>/metrics, /healthz, /readyz, /figures
                          (off by default; env REDIVER_METRICS_PORT; 0 = any free port)
      --metrics-host <h>  address to listen on (default 127.0.0.1; env REDIVER_METRICS_HOST)
${COMMON_HELP}`;

/** Turns a platform command into a job. */
export function commandToJob(cmd: Command): Job {
  const payload = cmd.payload ?? {};
  const target = payload.target ?? payload.path ?? payload.repository;
  const scanners = payload.scanners ?? payload.scanner;
  const job: Job = { id: cmd.id, type: cmd.type, commandId: cmd.id, payload, receivedAt: Date.now() };
  if (typeof target === 'string') job.target = target;
  if (Array.isArray(scanners)) job.scanner = scanners.map(String).join(',');
  else if (typeof scanners === 'string') job.scanner = scanners;
  if (typeof cmd.priority === 'number') job.priority = cmd.priority;
  else if (cmd.priority === 'high' || cmd.priority === 'critical') job.priority = 10;
  return job;
}

/** What the daemon knows of its link to the platform (for `/readyz` and the metrics). */
export interface PlatformContact {
  /** Epoch ms of the last poll or heartbeat the platform answered. */
  lastOkAt: number | undefined;
  /** Epoch ms of the last failed poll or heartbeat. */
  lastErrorAt: number | undefined;
  /** Its message. */
  lastError: string | undefined;
}

/**
 * The poll/heartbeat loops of the daemon; resolves when `signal` fires. `state.contact` records the last contact with
 * the platform (the metrics endpoint reads it); `state.commands` tracks the commands taken.
 */
export async function daemonLoop(
  agent: Agent,
  platform: PlatformPort,
  signal: AbortSignal,
  state: { contact?: PlatformContact; commands?: CommandTracker } = {},
): Promise<void> {
  const contact = state.contact ?? { lastOkAt: undefined, lastErrorAt: undefined, lastError: undefined };
  const commands = state.commands ?? new CommandTracker(agent, platform, agent.config.dataDir);
  const reached = (): void => {
    contact.lastOkAt = Date.now();
  };
  const failed = (e: unknown): void => {
    contact.lastErrorAt = Date.now();
    contact.lastError = (e as Error).message;
  };
  const { config } = agent;
  const held = new Set<string>();
  const inflight = new Set<Promise<void>>();
  // On shutdown, let commands whose reports just became durable be completed before the client closes.
  agent.addShutdownStep(async () => {
    await Promise.allSettled([...inflight]);
  });
  const startedAt = Date.now();
  let scans = 0;
  const audit = (entry: Parameters<Agent['deps']['audit']['log']>[0]): void => agent.deps.audit.log(entry);

  const heartbeat = async (override?: 'offline'): Promise<void> => {
    const st = agent.deps.resource.getStatus();
    // The audit log's head, kept off the host: `audit verify --checkpoint` proves nothing up to it was cut.
    const checkpoint = agent.deps.audit.latestCheckpoint?.();
    try {
      const body: HeartbeatRequest = {
        name: config.agentName,
        status:
          override !== undefined || agent.stopping
            ? 'offline'
            : st.throttled
              ? 'throttled'
              : st.activeJobs > 0
                ? 'busy'
                : 'online',
        version: VERSION,
        hostname: hostname(),
        ...(st.throttled && st.throttleReason !== undefined ? { message: st.throttleReason } : {}),
        scanners: Object.keys(config.scannerDefs),
        collectors: [],
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        total_scans: scans,
        errors: agent.errorCount,
        ...heartbeatMetrics(agent.deps.resource.metrics()),
        active_jobs: st.activeJobs,
        ...(config.region === undefined ? {} : { region: config.region }),
        ...(checkpoint === undefined ? {} : { properties: { audit_checkpoint: checkpoint } }),
      };
      await platform.heartbeat(body);
      reached();
    } catch (e) {
      failed(e);
      audit({
        type: isRediverError(e, 'AUTH_FAILED') ? T.authFailed : T.agentError,
        severity: 'WARN',
        message: `heartbeat failed: ${(e as Error).message}`,
        error: e,
      });
    }
  };

  const take = (cmd: Command): void => {
    if (held.has(cmd.id)) return;
    held.add(cmd.id);
    const job = commandToJob(cmd);
    let acknowledged = false;
    const run = async (): Promise<void> => {
      if (job.type !== 'scan' || job.target === undefined) {
        await platform.acknowledge(cmd.id);
        await platform.fail(
          cmd.id,
          job.type !== 'scan'
            ? `unsupported command type ${job.type}`
            : 'scan command without payload.target',
        );
        audit({
          type: T.validationError,
          severity: 'WARN',
          message: `command ${cmd.id} refused: ${job.type}`,
          jobId: cmd.id,
        });
        return;
      }
      const result = await agent.runJob(job, {
        // Acknowledge only now: a job waiting for a slot is still the platform's to give to someone else.
        onStart: async () => {
          // Refused (another agent took it, or it expired): the job is not started and the command left alone.
          await platform.acknowledge(cmd.id);
          acknowledged = true;
          await platform.start(cmd.id);
        },
      });
      // Never taken (stopping, or refused by the platform): nothing to report back.
      if (result.outcome === 'cancelled') {
        if (acknowledged) await platform.fail(cmd.id, result.error?.message ?? 'cancelled').catch(() => {});
        return;
      }
      scans++;
      if (result.outcome === 'completed') {
        // Completed only once every report is acknowledged (failed, with the reason, when one is refused for
        // good); through an outage of any length the command stays running. Recorded on disk meanwhile, so
        // that the next start finishes it if this agent stops first.
        await commands.jobCompleted(cmd.id, job.id, {
          findings: result.findingsCount,
          durationMs: result.durationMs,
        });
      } else {
        await platform.fail(cmd.id, result.error?.message ?? result.outcome);
      }
    };
    const p = run()
      .catch((e: unknown) => {
        audit({
          type: T.agentError,
          severity: 'ERROR',
          message: `command ${cmd.id}: ${(e as Error).message}`,
          jobId: cmd.id,
          error: e,
        });
      })
      .finally(() => {
        held.delete(cmd.id);
        inflight.delete(p);
      });
    inflight.add(p);
  };

  const poll = async (): Promise<void> => {
    const room = config.maxQueuedJobs - held.size;
    if (room <= 0 || agent.stopping) return;
    try {
      const cmds = await platform.pollCommands(room, signal);
      reached();
      for (const cmd of cmds) take(cmd);
    } catch (e) {
      if (signal.aborted) return;
      failed(e);
      audit({
        type: isRediverError(e, 'AUTH_FAILED') ? T.authFailed : T.agentError,
        severity: 'WARN',
        message: `polling commands failed: ${(e as Error).message}`,
        error: e,
      });
    }
  };

  await heartbeat();
  let nextBeat = Date.now() + config.heartbeatIntervalMs;
  // One abort listener for the whole loop (not one per cycle, which piles up to a MaxListenersExceededWarning):
  // it says goodbye to the platform and cuts the current wait short.
  let wake: (() => void) | undefined;
  const onAbort = (): void => {
    // Tell the platform at once that this agent is going away (best effort, bounded by the client's timeout).
    void heartbeat('offline');
    wake?.();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      await poll();
      if (Date.now() >= nextBeat) {
        await heartbeat();
        nextBeat = Date.now() + config.heartbeatIntervalMs;
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          wake = undefined;
          resolve();
        }, config.pollIntervalMs);
        wake = () => {
          clearTimeout(t);
          wake = undefined;
          resolve();
        };
      });
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The figures of a running session (metrics endpoint, `/figures`). */
export function sessionFigureSources(session: Session, contact?: PlatformContact): FigureSources {
  const { agent, handles } = session;
  const sources: FigureSources = {
    counters: agent.counters,
    pipeline: () => handles.pipeline.getStats(),
    chunkStats: () => handles.chunks.getStats(agent.config.tenantId),
    configuredUploadConcurrency:
      (agent.config.chunk.maxConcurrentUploads as number | undefined) ??
      DEFAULT_CHUNK_MANAGER_OPTIONS.maxConcurrentUploads,
    adaptiveUploads:
      (agent.config.chunk.adaptive as boolean | undefined) ?? DEFAULT_CHUNK_MANAGER_OPTIONS.adaptive,
    resource: () => handles.resource.getStatus(),
    audit: () => ({ ...handles.audit.stats() }),
  };
  if (contact !== undefined) sources.platform = contact;
  return sources;
}

/** `/readyz`: the audit log writable, the chunk store open, the platform answered within a few poll intervals. */
export function readiness(
  session: Session,
  contact: PlatformContact,
): () => Promise<Record<string, ReadyCheck>> {
  const { agent, handles } = session;
  const { config } = agent;
  const windowMs = Math.max(3 * config.pollIntervalMs, 2 * config.heartbeatIntervalMs, 30_000);
  return async () => {
    const auditDir = dirname(agent.deps.audit.location);
    const audit: ReadyCheck = await access(auditDir, constants.W_OK).then(
      () =>
        agent.stopping
          ? { ok: false, detail: 'agent stopping' }
          : {
              ok: true,
              detail: `${handles.audit.stats().written} line(s) written to ${agent.deps.audit.location}`,
            },
      (e: unknown) => ({ ok: false, detail: `${auditDir} not writable: ${(e as Error).message}` }),
    );
    const chunkStore: ReadyCheck = await handles.chunks.getStats(config.tenantId).then(
      (st) => ({ ok: true, detail: `open, ${st.storedBytes} byte(s) stored` }),
      (e: unknown) => ({ ok: false, detail: `not usable: ${(e as Error).message}` }),
    );
    const age = contact.lastOkAt === undefined ? undefined : Date.now() - contact.lastOkAt;
    const platform: ReadyCheck =
      age !== undefined && age <= windowMs
        ? { ok: true, detail: `answered ${Math.round(age / 1000)} s ago` }
        : {
            ok: false,
            detail: `${age === undefined ? 'never answered' : `last answered ${Math.round(age / 1000)} s ago`} (window ${Math.round(windowMs / 1000)} s)${contact.lastError === undefined ? '' : `; last error: ${contact.lastError}`}`,
          };
    return { audit, chunkStore, platform };
  };
}

/** `rediver-agent run`. */
export async function runCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    ...COMMON_OPTIONS,
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
  });
  if (values.help === true) {
    io.out.write(`${RUN_HELP}\n`);
    return EXIT.ok;
  }
  const config = await configFrom(values, io.env);
  const session = await openSession(config, io, {
    command: 'rediver-agent run',
    waitLock: values['wait-lock'] === true,
  });
  const { agent } = session;
  const contact: PlatformContact = { lastOkAt: undefined, lastErrorAt: undefined, lastError: undefined };
  let metrics: MetricsServer | undefined;
  try {
    if (config.metricsPort !== undefined) {
      const { startMetricsServer } = await import('../metricsServer');
      const sources = sessionFigureSources(session, contact);
      metrics = await startMetricsServer({
        host: config.metricsHost,
        port: config.metricsPort,
        figures: () => collectFigures(sources),
        ready: readiness(session, contact),
      });
      session.lock.advertise(metrics.url);
    }
    await agent.resumeBacklog();
    const commands = new CommandTracker(agent, agent.deps.platform!, config.dataDir);
    await commands.resume();
    session.progress.line(
      `rediver-agent ${VERSION} running as ${config.agentId} against ${config.server ?? ''} (data dir ${config.dataDir})${metrics === undefined ? '' : `; metrics ${metrics.url}/metrics`}`,
    );
    await daemonLoop(agent, agent.deps.platform!, session.signal, { contact, commands });
    await metrics?.close();
    await session.close('signal');
    io.out.write(
      `stopped: ${agent.counters.jobsCompleted} job(s) completed, ${agent.counters.reportsDelivered} report(s) delivered; audit log ${agent.deps.audit.location}\n`,
    );
    return EXIT.ok;
  } catch (e) {
    await metrics?.close().catch(() => {});
    await session.close('error').catch(() => {});
    throw e;
  }
}
