import { EventEmitter } from 'eventemitter3';
import { AUDIT_EVENT_TYPES as T, Component, PRIORITY } from '@rediver/core';
import type { Job, JobResult, Report } from '@rediver/core';
import type { AgentConfig } from './config';
import type { AgentContext } from './agentContext';
import type {
  AgentCounters,
  AgentDeps,
  AgentEvents,
  Delivery,
  DeliveryFigures,
  JobDelivery,
  JobHooks,
} from './agentTypes';
import { agentStartEntry, auditSafely, followResource } from './auditTrail';
import { resumeBacklog } from './backlog';
import { listenToChunks } from './chunkDelivery';
import { DeliveryRouter } from './deliveryRouter';
import type { StreamDelivery } from './deliveryRouter';
import { DeliveryWaits } from './deliveryWaits';
import { JobRunner } from './jobRunner';
import { RateMeter } from './internal/rateMeter';
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
 *
 * A thin composition: the job runner (`jobRunner.ts`), the delivery router (`deliveryRouter.ts`, its chunk-event
 * half `chunkDelivery.ts`, held reports `heldReports.ts`), the waits (`deliveryWaits.ts`), the backlog of earlier
 * runs (`backlog.ts`) and the audit trail (`auditTrail.ts`) share one `AgentContext`.
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
  readonly deliveries = new Map<string, Delivery>();
  readonly startedAt = now();
  /** Fires when the agent stops taking jobs. */
  readonly #stopping = new AbortController();
  /** Fires when in-hand scans must end now (shutdown bound reached). */
  readonly #hardStop = new AbortController();
  #started = false;
  #closing: Promise<void> | undefined;
  readonly #shutdownSteps: (() => Promise<void>)[] = [];
  #errors = 0;
  readonly #ctx: AgentContext;
  readonly #router: DeliveryRouter;
  readonly #runner: JobRunner;
  readonly #waits: DeliveryWaits;

  constructor(config: AgentConfig, deps: AgentDeps) {
    super(new EventEmitter());
    this.config = config;
    this.deps = deps;
    const stopping = this.#stopping.signal;
    this.#ctx = {
      config,
      deps,
      counters: this.counters,
      delivery: this.delivery,
      deliveries: this.deliveries,
      backlog: new Map(),
      jobs: new Set(),
      persisting: new Set(),
      get stopping() {
        return stopping.aborted;
      },
      audit: (entry) => auditSafely(deps.audit, entry),
      say: (text) => this.say(text),
      changed: () => this.emit('agent:changed'),
      progressed: () => {
        this.delivery.lastProgressAt = now();
      },
      failed: () => void this.#errors++,
    };
    this.#router = new DeliveryRouter(this.#ctx);
    this.#runner = new JobRunner(this.#ctx, this.#router, {
      stopping,
      hardStop: this.#hardStop.signal,
    });
    this.#waits = new DeliveryWaits(this.#ctx, this);
  }

  /** Whether the agent stopped taking jobs. */
  get stopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  /** Errors seen (heartbeats report it). */
  get errorCount(): number {
    return this.#errors;
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
    this.#ctx.audit(agentStartEntry(this.config));
    followResource(resource, this.#ctx);
    this.#router.followPipeline(pipeline);
    listenToChunks(chunks.events, {
      ...this.#ctx,
      chunkAcknowledged: () => this.#rate.tick(now()),
    });
    resource.start();
    chunks.start();
  }

  /**
   * Picks up what earlier runs left in the chunk store (one read; from then on the agent follows it by events):
   * pending reports resume by themselves. Dead letters are permanent refusals (a transient failure never
   * dead-letters), so they stay where they are — except those an earlier version dead-lettered after running out
   * of retries on a transient error (their last error says so), which are re-queued; `retryFailed` re-queues
   * every dead letter (`deliver --retry-failed`, after fixing what the platform refused).
   */
  resumeBacklog(
    options: { retryFailed?: boolean } = {},
  ): Promise<{ pending: number; requeued: number; deadLettered: number }> {
    return resumeBacklog(this.#ctx, options);
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
  deliverStream(
    stream: ReportStream,
    options: StreamDelivery,
  ): Promise<{ delivery: Delivery | undefined; findings: number }> {
    return this.#router.deliverStream(stream, options);
  }

  /** Hands a report over for delivery: pipeline when small, chunk store when large or when the queue is full. */
  deliver(report: Report, jobId?: string, priority: number = PRIORITY.normal): Promise<Delivery> {
    return this.#router.deliver(report, jobId, priority);
  }

  /**
   * Runs one job: waits for a slot (never dropped; cancelled only by shutdown, before it started), calls
   * `hooks.onStart` once it really starts, runs each scanner, and hands every report over for delivery.
   */
  runJob(job: Job, hooks: JobHooks = {}): Promise<JobResult> {
    return this.#runner.runJob(job, hooks);
  }

  /** Jobs held (waiting or running). */
  get jobsInHand(): number {
    return this.#ctx.jobs.size;
  }

  /**
   * True when every report handed over this run and every report kept from earlier runs (`resumeBacklog`) is
   * acknowledged or dead-lettered. From the agent's own state, kept by events: no query.
   */
  settled(): Promise<{ done: boolean; pending: number; failed: number }> {
    return this.#waits.settled();
  }

  /**
   * Resolves once every report of `jobId` is safe: acknowledged, stored on disk, or failed for good (then it
   * is in the chunk store's dead letters).
   */
  whenDurable(jobId: string, signal?: AbortSignal): Promise<void> {
    return this.#waits.whenDurable(jobId, signal);
  }

  /**
   * How the reports `reportIds` ended, waiting while any is on its way (through outages of any length: the
   * chunk engine never gives up on a transient failure): `delivered` once all are acknowledged, `failed` (with
   * the reason) once all settled and one was refused for good or could not be stored, `stopped` when `signal`
   * fired first. Reports of this run and of earlier runs; one unknown to both is looked up once in the store.
   */
  whenReportsSettled(reportIds: readonly string[], signal?: AbortSignal): Promise<JobDelivery> {
    return this.#waits.whenReportsSettled(reportIds, signal);
  }

  /** Reports handed over for `jobId` (this run). */
  reportsOf(jobId: string): string[] {
    return [...this.deliveries.values()].filter((d) => d.jobId === jobId).map((d) => d.reportId);
  }

  /**
   * Waits until everything is delivered (or dead-lettered): true. False once delivery made no progress (no chunk
   * or report acknowledged or settled) for `stallTimeoutMs` — it keeps waiting as long as acknowledgements come —
   * or when `signal` fires. Driven by the agent's events; nothing is polled.
   */
  waitDelivered(options: { stallTimeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    return this.#waits.waitDelivered(options);
  }

  /** Reports that were neither stored nor delivered when the agent stopped (lost: said, audited, exit code). */
  get reportsNotKept(): number {
    return this.#router.held.notKept;
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
    this.#ctx.audit({
      type: T.agentStop,
      severity: 'INFO',
      message: `agent stopping (${reason})`,
      details: { jobs_in_hand: this.#ctx.jobs.size },
    });
    const remaining = (): number => Math.max(0, bound - (now() - t0));
    const jobsDone = Promise.allSettled([...this.#ctx.jobs]);
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
      void this.#router.persist(report, d?.jobId, 'stopping');
    }
    await Promise.allSettled([...this.#ctx.persisting]);
    await this.#router.held.storeOrGiveUp();
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
    this.#ctx.audit({
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
}
