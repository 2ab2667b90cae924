import { AUDIT_EVENT_TYPES as T, isRediverError } from '@rediver/core';
import type { Job, JobResult } from '@rediver/core';
import type { AgentContext } from './agentContext';
import type { JobHooks } from './agentTypes';
import { auditScanCompleted } from './auditTrail';
import { resolveScanner } from './config';
import type { DeliveryRouter } from './deliveryRouter';
import { AgentError } from './errors';
import { errInfo } from './internal/errInfo';
import { runScanJob } from './scanners';

const now = (): number => Date.now();

/** When the job runner stops: taking jobs (`stopping`), and running in-hand scans (`hardStop`). */
export interface JobSignals {
  /** Fires when the agent stops taking jobs (a job waiting for a slot is cancelled). */
  stopping: AbortSignal;
  /** Fires when in-hand scans must end now (shutdown bound reached). */
  hardStop: AbortSignal;
}

/**
 * The job runner: admission through the resource controller (a job waits for a slot, never dropped), the
 * platform's start hook, the scanners, and every report handed to the delivery router as it is converted.
 */
export class JobRunner {
  readonly #ctx: AgentContext;
  readonly #router: DeliveryRouter;
  readonly #signals: JobSignals;

  constructor(ctx: AgentContext, router: DeliveryRouter, signals: JobSignals) {
    this.#ctx = ctx;
    this.#router = router;
    this.#signals = signals;
  }

  /**
   * Runs one job: waits for a slot (never dropped; cancelled only by shutdown, before it started), calls
   * `hooks.onStart` once it really starts, runs each scanner, and hands every report over for delivery.
   */
  runJob(job: Job, hooks: JobHooks = {}): Promise<JobResult> {
    const p = this.#runJob(job, hooks).finally(() => this.#ctx.jobs.delete(p));
    this.#ctx.jobs.add(p);
    return p;
  }

  async #runJob(job: Job, hooks: JobHooks): Promise<JobResult> {
    const started = now();
    const jobAudit = { jobId: job.id };
    this.#ctx.counters.jobsQueued++;
    this.#ctx.changed();
    if (job.commandId !== undefined) {
      this.#ctx.audit({
        type: T.jobReceived,
        severity: 'INFO',
        message: `job ${job.id} received`,
        ...jobAudit,
        details: { type: job.type, target: job.target, command_id: job.commandId },
      });
    }
    const cancelled = (why: string): JobResult => {
      this.#ctx.counters.jobsQueued--;
      this.#ctx.counters.jobsCancelled++;
      this.#ctx.audit({
        type: T.jobFailed,
        severity: 'WARN',
        message: `job ${job.id} not started: ${why}`,
        ...jobAudit,
        details: { outcome: 'cancelled' },
      });
      this.#ctx.changed();
      return {
        jobId: job.id,
        outcome: 'cancelled',
        durationMs: now() - started,
        findingsCount: 0,
        error: { message: why, code: 'ABORTED' },
      };
    };
    if (this.#ctx.stopping) return cancelled('agent stopping');
    let slot = this.#ctx.deps.resource.acquireSlot();
    if (slot === null) {
      this.#ctx.counters.jobsWaiting++;
      this.#ctx.counters.jobsThrottled++;
      const st = this.#ctx.deps.resource.getStatus();
      this.#ctx.audit({
        type: T.resourceWarning,
        severity: 'INFO',
        message: `job ${job.id} waits for a slot (${st.throttled ? `throttled: ${st.throttleReason ?? ''}` : `${st.activeJobs}/${st.maxJobs} slots busy`})`,
        ...jobAudit,
        details: { active_jobs: st.activeJobs, max_jobs: st.maxJobs, throttled: st.throttled },
      });
      this.#ctx.changed();
      try {
        slot = await this.#ctx.deps.resource.acquireSlotBlocking({ signal: this.#signals.stopping });
      } catch (e) {
        this.#ctx.counters.jobsWaiting--;
        if (this.#ctx.stopping || isRediverError(e, 'ABORTED'))
          return cancelled('agent stopping before a slot was free');
        return cancelled(`no slot: ${errInfo(e).message}`);
      } finally {
        if (slot !== null) this.#ctx.counters.jobsWaiting--;
      }
    }
    this.#ctx.counters.jobsQueued--;
    this.#ctx.counters.jobsRunning++;
    this.#ctx.changed();
    let findings = 0;
    try {
      try {
        await hooks.onStart?.();
      } catch (e) {
        // The platform would not let this job start (e.g. another agent took the command): not ours to run.
        this.#ctx.counters.jobsCancelled++;
        this.#ctx.audit({
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
      this.#ctx.audit({
        type: T.jobStarted,
        severity: 'INFO',
        message: `job ${job.id} started`,
        ...jobAudit,
        details: { type: job.type, target: job.target, scanners: this.#scannersOf(job) },
      });
      const target = job.target;
      if (target === undefined) throw new AgentError('VALIDATION_FAILED', `job ${job.id} has no target`);
      const defs = this.#scannersOf(job).map((name) => {
        const def = resolveScanner(this.#ctx.config, name);
        if (def === undefined)
          throw new AgentError('VALIDATION_FAILED', `job ${job.id} names an unknown scanner ${name}`);
        return def;
      });
      // Every scanner runs first, then every output is converted with the secrets of the whole scan masked.
      const { failures, lastError } = await runScanJob(defs, target, {
        signal: this.#signals.hardStop,
        scratchDir: this.#ctx.config.dataDir,
        onStarted: (def) =>
          this.#ctx.audit({
            type: T.scanStarted,
            severity: 'INFO',
            message: `${def.name} scanning ${target}`,
            ...jobAudit,
            details: { scanner: def.name, target },
          }),
        onFailed: (def, e, durationMs) => {
          const info = errInfo(e);
          this.#ctx.audit({
            type: info.code === 'TIMEOUT' ? T.jobTimeout : T.scanFailed,
            severity: 'ERROR',
            message: `${def.name} failed: ${info.message}`,
            ...jobAudit,
            durationMs,
            error: e,
            details: { scanner: def.name },
          });
          this.#ctx.say(`job ${job.id}: ${def.name} failed: ${info.message}`);
        },
        onReport: async (def, outcome) => {
          const n = outcome.report.findings?.length ?? 0;
          findings += n;
          auditScanCompleted(this.#ctx, def, job.id, {
            reportId: outcome.report.metadata.id,
            findings: n,
            assets: outcome.report.assets?.length ?? 0,
            durationMs: outcome.durationMs,
            exitCode: outcome.exitCode,
            summary: outcome.summary,
          });
          await this.#router.deliver(outcome.report, job.id, job.priority ?? 5);
        },
        // Outputs are converted finding by finding and streamed into the chunk store once they are large.
        onReportStream: async (def, stream, run, convertWhole) => {
          const r = await this.#router.deliverStream(stream, {
            jobId: job.id,
            priority: job.priority ?? 5,
            onConverted: (summary, n) =>
              auditScanCompleted(this.#ctx, def, job.id, {
                reportId: stream.reportId,
                findings: n,
                assets: stream.assets.length,
                durationMs: run.durationMs,
                exitCode: run.exitCode,
                summary,
              }),
            convertWhole,
          });
          findings += r.findings;
        },
      });
      if (failures > 0 && failures === this.#scannersOf(job).length) throw lastError;
      const durationMs = now() - started;
      this.#ctx.counters.jobsCompleted++;
      this.#ctx.audit({
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
      this.#ctx.counters.jobsFailed++;
      this.#ctx.failed();
      this.#ctx.audit({
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
      this.#ctx.counters.jobsRunning--;
      slot.release();
      this.#ctx.changed();
    }
  }

  #scannersOf(job: Job): string[] {
    return job.scanner !== undefined
      ? job.scanner.split(',').map((s) => s.trim())
      : this.#ctx.config.scanners;
  }
}
