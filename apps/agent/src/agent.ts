import { EventEmitter } from 'eventemitter3';
import { AUDIT_EVENT_TYPES as T, Component, isRediverError } from '@rediver/core';
import { PRIORITY, RETRYABLE_ERROR_CODES } from '@rediver/core';
import type { ErrorCode, Finding, Job, JobResult, Report } from '@rediver/core';
import type { AgentConfig } from './config';
import { resolveScanner } from './config';
import { AgentError } from './errors';
import type { AuditPort, ChunkPort, PipelinePort } from './ports';
import type { ScannerConfig } from './config';
import type {
  AgentCounters,
  AgentDeps,
  AgentEvents,
  BacklogReport,
  Delivery,
  DeliveryFigures,
  JobDelivery,
  JobHooks,
} from './agentTypes';
import { errInfo } from './internal/errInfo';
import { RateMeter } from './internal/rateMeter';
import { listenToChunks } from './chunkDelivery';
import type { SarifSummary } from './sarif';
import { partialText, runScanJob, scanSummaryDetails } from './scanners';
import type { ReportStream } from './scanners';

export type {
  AgentCounters,
  AgentDeps,
  AgentEvents,
  Delivery,
  DeliveryFigures,
  DeliveryState,
  JobDelivery,
  JobHooks,
} from './agentTypes';

const now = (): number => Date.now();

/**
 * The sample agent: admits jobs through the resource controller, runs scanners, and delivers reports —
 * small ones through the pipeline, large ones (and anything the pipeline cannot take or deliver) through
 * the chunk store, which keeps them on disk until the platform acknowledged every chunk.
 */
export class Agent extends Component<AgentEvents> {
  readonly config: AgentConfig;
  readonly deps: AgentDeps;
  readonly counters: AgentCounters = {
    jobsQueued: 0,
    jobsWaiting: 0,
    jobsRunning: 0,
    jobsCompleted: 0,
    jobsFailed: 0,
    jobsCancelled: 0,
    jobsThrottled: 0,
    throttleEvents: 0,
    findingsFound: 0,
    findingsDelivered: 0,
    reportsDelivered: 0,
    reportsFailed: 0,
    reportsPersisted: 0,
    chunksTotal: 0,
    chunksUploaded: 0,
    chunkRetries: 0,
    chunksFailed: 0,
    bytesTotal: 0,
    bytesUploaded: 0,
    uploadRetries: 0,
    backlogDelivered: 0,
    backlogReports: 0,
    backlogChunksTotal: 0,
    backlogChunksUploaded: 0,
  };
  readonly #rate = new RateMeter();
  readonly delivery: DeliveryFigures = {
    concurrencyLimit: undefined,
    outstandingChunks: undefined,
    inFlight: 0,
    lastProgressAt: now(),
    chunksPerSecond: () => this.#rate.perSecond(now()),
  };
  /** Reports kept from earlier runs (`resumeBacklog`), followed by events. */
  readonly #backlog = new Map<string, BacklogReport>();
  readonly deliveries = new Map<string, Delivery>();
  readonly startedAt = now();
  /** Fires when the agent stops taking jobs. */
  readonly #stopping = new AbortController();
  /** Fires when in-hand scans must end now (shutdown bound reached). */
  readonly #hardStop = new AbortController();
  readonly #jobs = new Set<Promise<JobResult>>();
  /** Persisting reports into the chunk store (awaited before closing it). */
  readonly #persisting = new Set<Promise<void>>();
  #started = false;
  #closing: Promise<void> | undefined;
  readonly #shutdownSteps: (() => Promise<void>)[] = [];
  #errors = 0;

  constructor(config: AgentConfig, deps: AgentDeps) {
    super(new EventEmitter());
    this.config = config;
    this.deps = deps;
  }

  /** Whether the agent stopped taking jobs. */
  get stopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  /** Errors seen (heartbeats report it). */
  get errorCount(): number {
    return this.#errors;
  }

  #audit(entry: Parameters<AuditPort['log']>[0]): void {
    try {
      this.deps.audit.log(entry);
    } catch {
      // The audit logger reports its own failures; the agent keeps going.
    }
  }

  #changed(): void {
    this.emit('agent:changed');
  }

  /** Something was acknowledged or settled: the stall deadline of `waitDelivered` starts again. */
  #progressed(): void {
    this.delivery.lastProgressAt = now();
  }

  #say(text: string): void {
    this.say(text);
  }

  /** Tells the operator something (an `agent:line` event: the progress display prints it). */
  say(text: string): void {
    this.emit('agent:line', { text });
  }

  /** Starts the composed packages; the chunk engine replays any backlog left by an earlier run. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { resource, pipeline, chunks } = this.deps;
    this.#audit({
      type: T.agentStart,
      severity: 'INFO',
      message: 'agent started',
      details: {
        agent_id: this.config.agentId,
        data_dir: this.config.dataDir,
        server: this.config.server,
        scanners: this.config.scanners,
        pid: process.pid,
      },
    });
    resource.onThrottle((reason, metrics) => {
      this.counters.throttleEvents++;
      this.#audit({
        type: T.resourceThrottle,
        severity: 'WARN',
        message: `throttling new jobs: ${reason}`,
        details:
          metrics === undefined
            ? { reason }
            : { reason, cpu_percent: metrics.cpuPercent, memory_percent: metrics.memoryPercent },
      });
      this.#say(`throttled: ${reason}`);
      this.#changed();
    });
    resource.onResume((metrics) => {
      this.#audit({
        type: T.resourceResume,
        severity: 'INFO',
        message: 'resource throttling cleared',
        details:
          metrics === undefined
            ? {}
            : { cpu_percent: metrics.cpuPercent, memory_percent: metrics.memoryPercent },
      });
      this.#say('resources back under thresholds: taking jobs again');
      this.#changed();
    });
    resource.onWarning((message, details) => {
      this.#audit({ type: T.resourceWarning, severity: 'WARN', message, details });
    });
    pipeline.onCompleted((item, result) => this.#onPipelineCompleted(item.report, item.jobId, result));
    pipeline.onFailed((item, error) => this.#onPipelineFailed(item.report, item.jobId, error));
    pipeline.onRetry((item, error, delayMs) => {
      this.counters.uploadRetries++;
      const e = errInfo(error);
      this.#audit({
        type: e.code === 'RATE_LIMITED' ? T.rateLimited : T.uploadRetry,
        severity: 'WARN',
        message: `upload of report ${item.report.metadata.id} will be retried: ${e.message}`,
        ...(item.jobId === undefined ? {} : { jobId: item.jobId }),
        reportId: item.report.metadata.id,
        error,
        details: { attempt: item.attempts, delay_ms: delayMs },
      });
      this.#changed();
    });
    listenToChunks(chunks.events, {
      counters: this.counters,
      deliveries: this.deliveries,
      backlog: this.#backlog,
      delivery: this.delivery,
      audit: (entry) => this.#audit(entry),
      say: (text) => this.#say(text),
      progressed: () => this.#progressed(),
      chunkAcknowledged: () => this.#rate.tick(now()),
      failed: () => void this.#errors++,
      changed: () => this.#changed(),
    });
    resource.start();
    chunks.start();
  }

  #onPipelineCompleted(
    report: Report,
    jobId: string | undefined,
    result: {
      durationMs?: number;
      findingsCreated: number;
      findingsUpdated: number;
      findingsSkipped: number;
    },
  ): void {
    const d = this.deliveries.get(report.metadata.id);
    if (d === undefined || d.state !== 'pipeline') return;
    this.#progressed();
    d.state = 'delivered';
    this.counters.reportsDelivered++;
    this.counters.findingsDelivered += d.findings;
    this.counters.bytesUploaded += Buffer.byteLength(JSON.stringify(report));
    this.#audit({
      type: T.uploadCompleted,
      severity: 'INFO',
      message: `report ${d.reportId} delivered (${d.findings} findings)`,
      ...(jobId === undefined ? {} : { jobId }),
      reportId: d.reportId,
      ...(result.durationMs === undefined ? {} : { durationMs: result.durationMs }),
      details: {
        route: 'pipeline',
        findings: d.findings,
        findings_created: result.findingsCreated,
        findings_updated: result.findingsUpdated,
        findings_skipped: result.findingsSkipped,
      },
    });
    this.#changed();
  }

  #onPipelineFailed(report: Report, jobId: string | undefined, error: unknown): void {
    const d = this.deliveries.get(report.metadata.id);
    const e = errInfo(error);
    this.#errors++;
    this.#audit({
      type: e.code === 'AUTH_FAILED' ? T.authFailed : T.uploadFailed,
      severity: 'ERROR',
      message: `pipeline gave up on report ${report.metadata.id}: ${e.message}; keeping it in the chunk store`,
      ...(jobId === undefined ? {} : { jobId }),
      reportId: report.metadata.id,
      error,
    });
    if (d !== undefined && d.state !== 'pipeline') return;
    // Nothing is dropped: what the pipeline cannot deliver now goes to disk and is retried from there.
    void this.#persist(report, jobId, 'pipeline-failed');
  }

  #track(report: Report, jobId: string | undefined, priority: number): Delivery {
    const d: Delivery = {
      reportId: report.metadata.id,
      jobId,
      findings: report.findings?.length ?? 0,
      assets: report.assets?.length ?? 0,
      state: 'pipeline',
      route: 'pipeline',
      priority,
      uploadedChunks: 0,
    };
    this.deliveries.set(d.reportId, d);
    return d;
  }

  /** Stores a report in the chunk store (durable) for the engine to deliver. */
  #persist(
    report: Report,
    jobId: string | undefined,
    because: NonNullable<Delivery['persistedBecause']>,
  ): Promise<void> {
    const d = this.deliveries.get(report.metadata.id) ?? this.#track(report, jobId, PRIORITY.normal);
    d.state = 'chunks';
    d.route = 'chunks';
    d.persistedBecause = because;
    if (because !== 'large') this.counters.reportsPersisted++;
    const p = this.deps.chunks
      .submitReport(report, { tenantId: this.config.tenantId, priority: d.priority })
      .then(({ totalChunks }) => {
        d.totalChunks = totalChunks;
        d.stored = true;
        this.#audit({
          type: T.uploadStarted,
          severity: 'INFO',
          message: `report ${d.reportId} stored as ${totalChunks} chunk(s) (${because})`,
          ...(jobId === undefined ? {} : { jobId }),
          reportId: d.reportId,
          details: {
            route: 'chunks',
            reason: because,
            total_chunks: totalChunks,
            findings: d.findings,
            assets: d.assets,
          },
        });
      })
      .catch((error: unknown) => {
        if (this.#holdInMemory(report, d, jobId, error)) return;
        this.#storeFailed(d, jobId, error);
      })
      .finally(() => {
        this.#persisting.delete(p);
        this.#changed();
      });
    this.#persisting.add(p);
    this.#changed();
    return p;
  }

  /**
   * Picks up what earlier runs left in the chunk store (one read; from then on the agent follows it by events):
   * pending reports resume by themselves. Dead letters are permanent refusals (a transient failure never
   * dead-letters), so they stay where they are — except those an earlier version dead-lettered after running out
   * of retries on a transient error (their last error says so), which are re-queued; `retryFailed` re-queues
   * every dead letter (`deliver --retry-failed`, after fixing what the platform refused).
   */
  async resumeBacklog(
    options: { retryFailed?: boolean } = {},
  ): Promise<{ pending: number; requeued: number; deadLettered: number }> {
    const reports = await this.deps.chunks.listReports();
    let requeued = 0;
    let deadLettered = 0;
    for (const r of reports) {
      if (this.deliveries.has(r.reportId)) continue;
      let status = r.status;
      let requeuedHere = 0;
      if (status === 'failed' || status === 'partial') {
        const code = /^([A-Z_]+):/.exec(r.lastError ?? '')?.[1] as ErrorCode | undefined;
        const transient = code !== undefined && RETRYABLE_ERROR_CODES.has(code);
        if (options.retryFailed === true || transient) {
          const n = await this.deps.chunks.retryFailed(r.reportId);
          requeued += n;
          requeuedHere = n;
          if (n > 0) {
            status = 'uploading';
            this.#audit({
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
      this.#backlog.set(r.reportId, entry);
      if (status === 'failed' || status === 'partial') deadLettered++;
      else {
        this.counters.backlogReports++;
        this.counters.backlogChunksTotal += Math.max(
          0,
          r.totalChunks - r.uploadedChunks - (requeuedHere > 0 ? 0 : r.failedChunks),
        );
      }
    }
    const pending = reports.length - deadLettered;
    if (pending > 0)
      this.#say(
        `${pending} report(s) kept from an earlier run: delivering them (${requeued} chunk(s) re-queued)`,
      );
    if (deadLettered > 0)
      this.#say(
        `${deadLettered} report(s) refused by the platform are kept as dead letters (see \`rediver-agent status\`; \`deliver --retry-failed\` re-sends them)`,
      );
    this.#changed();
    return { pending, requeued, deadLettered };
  }

  /** Audits and announces what a scanner found (once its output is converted). */
  #scanCompleted(
    def: ScannerConfig,
    jobId: string,
    r: {
      reportId: string;
      findings: number;
      assets: number;
      durationMs: number;
      exitCode: number | null;
      summary: SarifSummary | undefined;
    },
  ): void {
    const s = r.summary;
    const partial = s?.partial === true ? ` (partial: ${partialText(s)})` : '';
    this.#audit({
      type: T.scanCompleted,
      severity: partial === '' ? 'INFO' : 'WARN',
      message: `${def.name} found ${r.findings} finding(s)${partial}`,
      jobId,
      reportId: r.reportId,
      durationMs: r.durationMs,
      details: {
        scanner: def.name,
        findings: r.findings,
        assets: r.assets,
        exit_code: r.exitCode,
        ...(s === undefined ? {} : scanSummaryDetails(s)),
      },
    });
    this.#say(`job ${jobId}: ${def.name} found ${r.findings} finding(s)${partial} → report ${r.reportId}`);
  }

  /**
   * Delivers a scanner's output while it is converted. Findings are buffered while the report stays under the
   * chunking thresholds (findings, assets, JSON bytes of the chunk options); a report that ends under them goes
   * through the pipeline whole, as `deliver` does. Once it crosses one, a chunk writer is begun, what was
   * buffered is written and the rest streams through, so the agent's memory does not depend on the report's
   * size; the final header (coverage, scan summary), known only after the last finding, goes with the commit.
   * `onConverted(summary, findings)` runs once the output is converted, before the report is handed over.
   * A conversion error is thrown (the scanner failed); a report that cannot be stored is a failed delivery
   * (audited), as with `deliver`.
   */
  async deliverStream(
    stream: ReportStream,
    jobId: string | undefined,
    priority: number,
    onConverted?: (summary: SarifSummary | undefined, findings: number) => void,
    convertWhole?: () => Promise<{ report: Report; summary?: SarifSummary | undefined }>,
  ): Promise<{ delivery: Delivery | undefined; findings: number }> {
    const t = this.deps.chunks.thresholds();
    const assets = stream.assets;
    const buffered: Finding[] = [];
    let bytes = Buffer.byteLength(JSON.stringify({ ...stream.header, assets }));
    let large = assets.length >= t.assets || bytes >= t.bytes;
    const source = stream.findings[Symbol.asyncIterator]();
    while (!large) {
      const next = await source.next();
      if (next.done === true) break;
      buffered.push(next.value);
      bytes += Buffer.byteLength(JSON.stringify(next.value)) + 1;
      large = buffered.length >= t.findings || bytes >= t.bytes;
    }
    if (!large) {
      const { header, summary } = await stream.final();
      onConverted?.(summary, buffered.length);
      const d = await this.deliver({ ...header, assets, findings: buffered }, jobId, priority);
      return { delivery: d, findings: buffered.length };
    }
    // Large: into the chunk store as it comes.
    const d: Delivery = {
      reportId: stream.reportId,
      jobId,
      findings: 0,
      assets: assets.length,
      state: 'chunks',
      route: 'chunks',
      persistedBecause: 'large',
      priority,
      uploadedChunks: 0,
    };
    this.deliveries.set(d.reportId, d);
    let converting: unknown;
    const counted = (f: Finding): Finding => {
      d.findings++;
      this.counters.findingsFound++;
      return f;
    };
    async function* rest(): AsyncGenerator<Finding> {
      for (;;) {
        let next: IteratorResult<Finding>;
        try {
          next = await source.next();
        } catch (e) {
          converting = e;
          throw e;
        }
        if (next.done === true) return;
        yield counted(next.value);
      }
    }
    let writer: Awaited<ReturnType<ChunkPort['beginReport']>> | undefined;
    let converted = false;
    const stored = (async (): Promise<{ totalChunks: number }> => {
      writer = await this.deps.chunks.beginReport({ header: stream.header, assets, priority });
      await writer.addFindings(buffered.map(counted));
      buffered.length = 0;
      await writer.addAll(rest());
      let final: Awaited<ReturnType<ReportStream['final']>>;
      try {
        final = await stream.final();
      } catch (e) {
        converting = e;
        throw e;
      }
      converted = true;
      onConverted?.(final.summary, d.findings);
      return writer.commit(final.header);
    })();
    this.#persisting.add(
      stored.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      const { totalChunks } = await stored;
      d.totalChunks = totalChunks;
      d.stored = true;
      this.#audit({
        type: T.uploadStarted,
        severity: 'INFO',
        message: `report ${d.reportId} stored as ${totalChunks} chunk(s) while converted (large)`,
        ...(jobId === undefined ? {} : { jobId }),
        reportId: d.reportId,
        details: {
          route: 'chunks',
          reason: 'large',
          total_chunks: totalChunks,
          findings: d.findings,
          assets: d.assets,
        },
      });
      return { delivery: d, findings: d.findings };
    } catch (error) {
      await writer?.abort(error).catch(() => {});
      if (converting !== undefined) {
        // The scanner's output could not be converted: nothing was handed over.
        this.deliveries.delete(d.reportId);
        this.counters.findingsFound -= d.findings;
        throw error;
      }
      // The store could not keep it for a reason of the host (full disk, damaged or read-only store): the
      // report is converted again, whole, and held in memory until the scan's end (sent directly meanwhile).
      if (convertWhole !== undefined && !storeRefusedReport(error)) {
        const whole = await convertWhole().catch(() => undefined);
        if (whole !== undefined) {
          const n = whole.report.findings?.length ?? 0;
          this.counters.findingsFound += n - d.findings;
          d.findings = n;
          if (!converted) onConverted?.(whole.summary, n);
          if (this.#holdInMemory(whole.report, d, jobId, error)) return { delivery: d, findings: n };
        }
      }
      this.#storeFailed(d, jobId, error);
      return { delivery: d, findings: d.findings };
    } finally {
      this.#changed();
    }
  }

  /** The chunk store could not keep a report and it is not held in memory: failed, counted, audited, said. */
  #storeFailed(d: Delivery, jobId: string | undefined, error: unknown): void {
    d.state = 'failed';
    d.error = errInfo(error).message;
    this.counters.reportsFailed++;
    this.#errors++;
    this.#audit({
      type: T.uploadFailed,
      severity: 'CRITICAL',
      message: `report ${d.reportId} could not be stored for delivery: ${d.error}`,
      ...(jobId === undefined ? {} : { jobId }),
      reportId: d.reportId,
      error,
    });
    this.#say(`LOST? report ${d.reportId} could not be stored: ${d.error}`);
  }

  /** Hands a report over for delivery: pipeline when small, chunk store when large or when the queue is full. */
  async deliver(report: Report, jobId?: string, priority: number = PRIORITY.normal): Promise<Delivery> {
    const d = this.#track(report, jobId, priority);
    this.counters.findingsFound += d.findings;
    if (this.deps.chunks.needsChunking(report)) {
      await this.#persist(report, jobId, 'large');
      return d;
    }
    if (this.stopping) {
      await this.#persist(report, jobId, 'stopping');
      return d;
    }
    this.counters.bytesTotal += Buffer.byteLength(JSON.stringify(report));
    try {
      const options: Parameters<PipelinePort['submit']>[1] = { tenantId: this.config.tenantId, priority };
      if (jobId !== undefined) options.jobId = jobId;
      this.deps.pipeline.submit(report, options);
      this.#audit({
        type: T.uploadStarted,
        severity: 'INFO',
        message: `report ${d.reportId} queued for upload (${d.findings} findings)`,
        ...(jobId === undefined ? {} : { jobId }),
        reportId: d.reportId,
        details: { route: 'pipeline', findings: d.findings },
      });
    } catch (error) {
      if (!isRediverError(error, 'QUEUE_FULL', 'CLOSED')) {
        // Refused as such (e.g. a report the platform would reject): failed for good, said so, never waited for.
        d.state = 'failed';
        d.error = errInfo(error).message;
        this.counters.reportsFailed++;
        this.#errors++;
        this.#audit({
          type: T.validationError,
          severity: 'ERROR',
          message: `report ${d.reportId} refused for upload: ${d.error}`,
          ...(jobId === undefined ? {} : { jobId }),
          reportId: d.reportId,
          error,
        });
        this.#changed();
        throw error;
      }
      this.#audit({
        type: T.resourceWarning,
        severity: 'WARN',
        message: `pipeline cannot take report ${d.reportId} (${error.code}); persisting it in the chunk store`,
        reportId: d.reportId,
        error,
      });
      await this.#persist(report, jobId, error.code === 'QUEUE_FULL' ? 'queue-full' : 'stopping');
    }
    this.#changed();
    return d;
  }

  /**
   * Runs one job: waits for a slot (never dropped; cancelled only by shutdown, before it started), calls
   * `hooks.onStart` once it really starts, runs each scanner, and hands every report over for delivery.
   */
  runJob(job: Job, hooks: JobHooks = {}): Promise<JobResult> {
    const p = this.#runJob(job, hooks).finally(() => this.#jobs.delete(p));
    this.#jobs.add(p);
    return p;
  }

  async #runJob(job: Job, hooks: JobHooks): Promise<JobResult> {
    const started = now();
    const jobAudit = { jobId: job.id };
    this.counters.jobsQueued++;
    this.#changed();
    if (job.commandId !== undefined) {
      this.#audit({
        type: T.jobReceived,
        severity: 'INFO',
        message: `job ${job.id} received`,
        ...jobAudit,
        details: { type: job.type, target: job.target, command_id: job.commandId },
      });
    }
    const cancelled = (why: string): JobResult => {
      this.counters.jobsQueued--;
      this.counters.jobsCancelled++;
      this.#audit({
        type: T.jobFailed,
        severity: 'WARN',
        message: `job ${job.id} not started: ${why}`,
        ...jobAudit,
        details: { outcome: 'cancelled' },
      });
      this.#changed();
      return {
        jobId: job.id,
        outcome: 'cancelled',
        durationMs: now() - started,
        findingsCount: 0,
        error: { message: why, code: 'ABORTED' },
      };
    };
    if (this.stopping) return cancelled('agent stopping');
    let slot = this.deps.resource.acquireSlot();
    if (slot === null) {
      this.counters.jobsWaiting++;
      this.counters.jobsThrottled++;
      const st = this.deps.resource.getStatus();
      this.#audit({
        type: T.resourceWarning,
        severity: 'INFO',
        message: `job ${job.id} waits for a slot (${st.throttled ? `throttled: ${st.throttleReason ?? ''}` : `${st.activeJobs}/${st.maxJobs} slots busy`})`,
        ...jobAudit,
        details: { active_jobs: st.activeJobs, max_jobs: st.maxJobs, throttled: st.throttled },
      });
      this.#changed();
      try {
        slot = await this.deps.resource.acquireSlotBlocking({ signal: this.#stopping.signal });
      } catch (e) {
        this.counters.jobsWaiting--;
        if (this.stopping || isRediverError(e, 'ABORTED'))
          return cancelled('agent stopping before a slot was free');
        return cancelled(`no slot: ${errInfo(e).message}`);
      } finally {
        if (slot !== null) this.counters.jobsWaiting--;
      }
    }
    this.counters.jobsQueued--;
    this.counters.jobsRunning++;
    this.#changed();
    let findings = 0;
    try {
      try {
        await hooks.onStart?.();
      } catch (e) {
        // The platform would not let this job start (e.g. another agent took the command): not ours to run.
        this.counters.jobsCancelled++;
        this.#audit({
          type: T.jobFailed,
          severity: 'WARN',
          message: `job ${job.id} not started: ${errInfo(e).message}`,
          ...jobAudit,
          error: e,
          details: { outcome: 'cancelled' },
        });
        return {
          jobId: job.id,
          outcome: 'cancelled',
          durationMs: now() - started,
          findingsCount: 0,
          error: { ...errInfo(e), code: 'ABORTED' },
        };
      }
      this.#audit({
        type: T.jobStarted,
        severity: 'INFO',
        message: `job ${job.id} started`,
        ...jobAudit,
        details: { type: job.type, target: job.target, scanners: this.#scannersOf(job) },
      });
      const target = job.target;
      if (target === undefined) throw new AgentError('VALIDATION_FAILED', `job ${job.id} has no target`);
      const defs = this.#scannersOf(job).map((name) => {
        const def = resolveScanner(this.config, name);
        if (def === undefined)
          throw new AgentError('VALIDATION_FAILED', `job ${job.id} names an unknown scanner ${name}`);
        return def;
      });
      // Every scanner runs first, then every output is converted with the secrets of the whole scan masked.
      const { failures, lastError } = await runScanJob(defs, target, {
        signal: this.#hardStop.signal,
        scratchDir: this.config.dataDir,
        onStarted: (def) =>
          this.#audit({
            type: T.scanStarted,
            severity: 'INFO',
            message: `${def.name} scanning ${target}`,
            ...jobAudit,
            details: { scanner: def.name, target },
          }),
        onFailed: (def, e, durationMs) => {
          const info = errInfo(e);
          this.#audit({
            type: info.code === 'TIMEOUT' ? T.jobTimeout : T.scanFailed,
            severity: 'ERROR',
            message: `${def.name} failed: ${info.message}`,
            ...jobAudit,
            durationMs,
            error: e,
            details: { scanner: def.name },
          });
          this.#say(`job ${job.id}: ${def.name} failed: ${info.message}`);
        },
        onReport: async (def, outcome) => {
          const n = outcome.report.findings?.length ?? 0;
          findings += n;
          this.#scanCompleted(def, job.id, {
            reportId: outcome.report.metadata.id,
            findings: n,
            assets: outcome.report.assets?.length ?? 0,
            durationMs: outcome.durationMs,
            exitCode: outcome.exitCode,
            summary: outcome.summary,
          });
          await this.deliver(outcome.report, job.id, job.priority ?? 5);
        },
        // Outputs are converted finding by finding and streamed into the chunk store once they are large.
        onReportStream: async (def, stream, run, convertWhole) => {
          const r = await this.deliverStream(
            stream,
            job.id,
            job.priority ?? 5,
            (summary, n) =>
              this.#scanCompleted(def, job.id, {
                reportId: stream.reportId,
                findings: n,
                assets: stream.assets.length,
                durationMs: run.durationMs,
                exitCode: run.exitCode,
                summary,
              }),
            convertWhole,
          );
          findings += r.findings;
        },
      });
      if (failures > 0 && failures === this.#scannersOf(job).length) throw lastError;
      const durationMs = now() - started;
      this.counters.jobsCompleted++;
      this.#audit({
        type: T.jobCompleted,
        severity: 'INFO',
        message: `job ${job.id} completed`,
        ...jobAudit,
        durationMs,
        details: { findings_count: findings, failed_scanners: failures },
      });
      return { jobId: job.id, outcome: 'completed', durationMs, findingsCount: findings };
    } catch (e) {
      const durationMs = now() - started;
      const info = errInfo(e);
      this.counters.jobsFailed++;
      this.#errors++;
      this.#audit({
        type: info.code === 'TIMEOUT' ? T.jobTimeout : T.jobFailed,
        severity: 'ERROR',
        message: `job ${job.id} failed: ${info.message}`,
        ...jobAudit,
        durationMs,
        error: e,
      });
      return {
        jobId: job.id,
        outcome: info.code === 'TIMEOUT' ? 'timeout' : 'failed',
        durationMs,
        findingsCount: findings,
        error: info,
      };
    } finally {
      this.counters.jobsRunning--;
      slot.release();
      this.#changed();
    }
  }

  #scannersOf(job: Job): string[] {
    return job.scanner !== undefined ? job.scanner.split(',').map((s) => s.trim()) : this.config.scanners;
  }

  /** Jobs held (waiting or running). */
  get jobsInHand(): number {
    return this.#jobs.size;
  }

  /**
   * True when every report handed over this run and every report kept from earlier runs (`resumeBacklog`) is
   * acknowledged or dead-lettered. From the agent's own state, kept by events: no query.
   */
  async settled(): Promise<{ done: boolean; pending: number; failed: number }> {
    await Promise.allSettled([...this.#persisting]);
    let pending = 0;
    let failed = 0;
    for (const d of this.deliveries.values()) {
      if (d.state === 'pipeline' || d.state === 'chunks') pending++;
      if (d.state === 'failed') failed++;
    }
    for (const b of this.#backlog.values()) {
      if (b.status === 'pending' || b.status === 'uploading') pending++;
      if (b.status === 'failed' || b.status === 'partial') failed++;
    }
    return { done: this.#jobs.size === 0 && pending === 0, pending, failed };
  }

  /**
   * Resolves once every report of `jobId` is safe: acknowledged, stored on disk, or failed for good (then it
   * is in the chunk store's dead letters).
   */
  async whenDurable(jobId: string, signal?: AbortSignal): Promise<void> {
    const unsafe = (): boolean =>
      [...this.deliveries.values()].some(
        (d) => d.jobId === jobId && d.state !== 'delivered' && d.state !== 'failed' && d.stored !== true,
      );
    await this.#until(() => !unsafe(), signal);
  }

  /**
   * How the reports `reportIds` ended, waiting while any is on its way (through outages of any length: the
   * chunk engine never gives up on a transient failure): `delivered` once all are acknowledged, `failed` (with
   * the reason) once all settled and one was refused for good or could not be stored, `stopped` when `signal`
   * fired first. Reports of this run and of earlier runs; one unknown to both is looked up once in the store.
   */
  async whenReportsSettled(reportIds: readonly string[], signal?: AbortSignal): Promise<JobDelivery> {
    const reports = [...reportIds];
    const looked = new Map<string, BacklogReport | undefined>();
    for (const id of reports) {
      if (this.deliveries.has(id) || this.#backlog.has(id)) continue;
      const info = await this.deps.chunks.reportInfo(id);
      const entry: BacklogReport | undefined =
        info === undefined
          ? undefined
          : { status: info.status, ...(info.lastError === undefined ? {} : { lastError: info.lastError }) };
      if (
        entry !== undefined &&
        entry.status !== 'completed' &&
        entry.status !== 'failed' &&
        entry.status !== 'partial'
      )
        this.#backlog.set(id, entry);
      else looked.set(id, entry);
    }
    const state = (id: string): { done: boolean; error?: string } => {
      const d = this.deliveries.get(id);
      if (d !== undefined) {
        if (d.state === 'delivered') return { done: true };
        if (d.state === 'failed') return { done: true, error: d.error ?? 'refused' };
        return { done: false };
      }
      const b = this.#backlog.get(id) ?? looked.get(id);
      if (b === undefined)
        return { done: true, error: 'no longer in the chunk store (dropped to make room?)' };
      if (b.status === 'completed') return { done: true };
      if (b.status === 'failed' || b.status === 'partial')
        return { done: true, error: `${b.status}: ${b.lastError ?? 'refused by the platform'}` };
      return { done: false };
    };
    const all = (): boolean => reports.every((id) => state(id).done);
    await this.#until(all, signal);
    if (!all()) return { outcome: 'stopped', reports };
    const errors = reports.flatMap((id) => {
      const e = state(id).error;
      return e === undefined ? [] : [`report ${id}: ${e}`];
    });
    return errors.length === 0
      ? { outcome: 'delivered', reports }
      : { outcome: 'failed', reports, reason: errors.join('; ') };
  }

  /** Reports handed over for `jobId` (this run). */
  reportsOf(jobId: string): string[] {
    return [...this.deliveries.values()].filter((d) => d.jobId === jobId).map((d) => d.reportId);
  }

  /** Waits (on change events, never polling) until `cond` holds or `signal` fires. */
  async #until(cond: () => boolean, signal?: AbortSignal): Promise<void> {
    while (!cond() && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.off('agent:changed', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.on('agent:changed', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /**
   * Waits until everything is delivered (or dead-lettered): true. False once delivery made no progress (no chunk
   * or report acknowledged or settled) for `stallTimeoutMs` — it keeps waiting as long as acknowledgements come —
   * or when `signal` fires. Driven by the agent's events; nothing is polled.
   */
  async waitDelivered(options: { stallTimeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    // Progress is counted from now: the scan itself (however long) is not a stall of delivery.
    this.delivery.lastProgressAt = Math.max(this.delivery.lastProgressAt, now());
    for (;;) {
      const s = await this.settled();
      if (s.done) return true;
      const stallAt = this.delivery.lastProgressAt + options.stallTimeoutMs;
      if (now() >= stallAt || options.signal?.aborted === true) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.off('agent:changed', onChange);
          options.signal?.removeEventListener('abort', done);
          resolve();
        };
        // A pending promise depends on this timer: it keeps the process alive.
        const t = setTimeout(done, Math.max(1, stallAt - now()));
        // Re-check soon after a change (settling events come in bursts), not on every one.
        const onChange = (): void => {
          this.off('agent:changed', onChange);
          setTimeout(done, 10);
        };
        this.on('agent:changed', onChange);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Adds a step run during `close()` after in-hand work is persisted, before the client and audit log close. */
  addShutdownStep(step: () => Promise<void>): void {
    this.#shutdownSteps.push(step);
  }

  /**
   * Graceful stop: take no more jobs, let in-hand jobs finish within `shutdownTimeoutMs` (then kill their
   * scanners), drain the pipeline within what remains of the bound and persist whatever it hands back
   * into the chunk store, close the chunk engine, the resource controller, and flush the audit log.
   */
  close(reason = 'stopped'): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: string): Promise<void> {
    const t0 = now();
    const bound = this.config.shutdownTimeoutMs;
    this.#stopping.abort();
    this.#audit({
      type: T.agentStop,
      severity: 'INFO',
      message: `agent stopping (${reason})`,
      details: { jobs_in_hand: this.#jobs.size },
    });
    const remaining = (): number => Math.max(0, bound - (now() - t0));
    const jobsDone = Promise.allSettled([...this.#jobs]);
    const timer = setTimeout(() => this.#hardStop.abort(), remaining());
    timer.unref();
    await jobsDone;
    clearTimeout(timer);
    // Drain the pipeline for part of what is left; hand back the rest and keep it on disk.
    const drainMs = Math.max(0, Math.min(remaining(), 10_000));
    const undelivered = await this.deps.pipeline.stop({
      drain: drainMs > 0,
      signal: AbortSignal.timeout(Math.max(1, drainMs)),
    });
    for (const report of undelivered) {
      const d = this.deliveries.get(report.metadata.id);
      void this.#persist(report, d?.jobId, 'stopping');
    }
    await Promise.allSettled([...this.#persisting]);
    await this.#storeHeldOrGiveUp();
    await this.deps.chunks.close();
    await this.deps.resource.close();
    for (const step of this.#shutdownSteps) {
      await Promise.race([
        step().catch(() => {}),
        new Promise((r) => setTimeout(r, Math.max(1000, remaining())).unref()),
      ]);
    }
    await this.deps.platform?.close();
    const pending = [...this.deliveries.values()].filter(
      (d) => d.state !== 'delivered' && d.state !== 'failed',
    );
    this.#audit({
      type: T.agentStop,
      severity: 'INFO',
      message: `agent stopped (${reason})`,
      durationMs: now() - t0,
      details: {
        reports_delivered: this.counters.reportsDelivered,
        reports_kept_on_disk: pending.length,
        reports_failed: this.counters.reportsFailed,
        jobs_completed: this.counters.jobsCompleted,
      },
    });
    await this.deps.audit.close();
  }

  // ---- Reports the chunk store could not keep (full disk, damaged store) ----
  // Kept apart from the delivery code above: `#persist` hands such a report here, and `close()` calls
  // `#storeHeldOrGiveUp` once the pipeline has stopped.

  /** Reports held in memory because the chunk store refused them for a reason of its own (not the report's). */
  readonly #held = new Map<string, { report: Report; jobId: string | undefined; error: unknown }>();
  #notKept = 0;

  /** Reports that were neither stored nor delivered when the agent stopped (lost: said, audited, exit code). */
  get reportsNotKept(): number {
    return this.#notKept;
  }

  /**
   * The store failed to keep `report` for a reason of the host (`DISK_FULL`, `STORAGE_QUOTA`, a damaged or
   * read-only store), not of the report: hold it in memory and send it through the pipeline now (the platform may
   * be reachable even though the disk is full). Returns false for anything else (the caller fails the report).
   */
  #holdInMemory(report: Report, d: Delivery, jobId: string | undefined, error: unknown): boolean {
    if (storeRefusedReport(error)) return false;
    // Delivered ones are let go (a daemon on a full disk must not keep every report it ever held).
    for (const id of this.#held.keys())
      if (this.deliveries.get(id)?.state === 'delivered') this.#held.delete(id);
    const info = errInfo(error);
    const cause = `${info.code ?? 'error'}: ${info.message}`;
    const again = this.#held.has(d.reportId);
    this.#held.set(d.reportId, { report, jobId, error });
    d.heldInMemory = true;
    d.stored = false;
    d.error = `not stored (${info.code ?? 'store error'})`;
    this.#errors++;
    if (!again && !this.stopping) {
      try {
        const options: Parameters<PipelinePort['submit']>[1] = {
          tenantId: this.config.tenantId,
          priority: d.priority,
        };
        if (jobId !== undefined) options.jobId = jobId;
        this.deps.pipeline.submit(report, options);
        d.state = 'pipeline';
        d.route = 'pipeline';
      } catch {
        d.state = 'failed';
      }
    } else {
      d.state = 'failed';
    }
    const sent = d.state === 'pipeline';
    this.#audit({
      type: T.uploadFailed,
      severity: 'CRITICAL',
      message:
        `report ${d.reportId} (${d.findings} findings) could not be stored for delivery (${cause}): held in memory ` +
        (sent
          ? 'and sent to the platform directly; lost if the agent stops before the platform acknowledges it'
          : 'until the agent stops, then stored if the disk has room again, else lost'),
      ...(jobId === undefined ? {} : { jobId }),
      reportId: d.reportId,
      error,
      details: { held_in_memory: true, sent_directly: sent, findings: d.findings },
    });
    // Handed back by the pipeline as the agent stops: the stop says what became of it (stored, or lost).
    if (!(again && this.stopping))
      this.#say(
        `NOT STORED: report ${d.reportId} (${d.findings} findings): ${cause} — held in memory` +
          (sent ? ', sent to the platform directly' : ' until the agent stops'),
      );
    this.#changed();
    return true;
  }

  /** At stop: each held report not delivered is stored once more (the disk may have room now), else lost. */
  async #storeHeldOrGiveUp(): Promise<void> {
    for (const [id, h] of this.#held) {
      this.#held.delete(id);
      const d = this.deliveries.get(id);
      if (d === undefined || d.state === 'delivered' || d.stored === true) continue;
      try {
        const { totalChunks } = await this.deps.chunks.submitReport(h.report, {
          tenantId: this.config.tenantId,
          priority: d.priority,
        });
        d.state = 'chunks';
        d.route = 'chunks';
        d.stored = true;
        d.totalChunks = totalChunks;
        delete d.error;
        this.#audit({
          type: T.uploadStarted,
          severity: 'WARN',
          message: `report ${id} held in memory is stored now (${totalChunks} chunk(s)): delivered at the next start`,
          ...(h.jobId === undefined ? {} : { jobId: h.jobId }),
          reportId: id,
          details: { route: 'chunks', reason: 'held-in-memory', total_chunks: totalChunks },
        });
      } catch (error) {
        const info = errInfo(error);
        d.state = 'failed';
        d.notKept = true;
        d.error = `NOT KEPT: neither stored (${info.code ?? 'store error'}: ${info.message}) nor delivered`;
        this.#notKept++;
        this.counters.reportsFailed++;
        this.#audit({
          type: T.uploadFailed,
          severity: 'CRITICAL',
          message: `report ${id} (${d.findings} findings) was neither stored nor delivered and is lost: ${info.code ?? 'error'}: ${info.message}`,
          ...(h.jobId === undefined ? {} : { jobId: h.jobId }),
          reportId: id,
          error,
          details: { not_kept: true, findings: d.findings, first_error: errInfo(h.error) },
        });
        this.#say(
          `LOST: report ${id} (${d.findings} findings) was neither stored nor delivered (${info.code ?? info.message})`,
        );
      }
    }
    this.#changed();
  }
}

/** The store refused the report itself (its content or id), not for a reason of the host: holding it cannot help. */
function storeRefusedReport(error: unknown): boolean {
  return isRediverError(
    error,
    'VALIDATION_FAILED',
    'REPORT_ID_INVALID',
    'REPORT_TOO_LARGE',
    'REPORT_CONFLICT',
    'INVALID_OPTION',
  );
}
