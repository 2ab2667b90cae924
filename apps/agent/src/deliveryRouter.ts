import { AUDIT_EVENT_TYPES as T, isRediverError, PRIORITY } from '@rediver/core';
import type { Finding, Report } from '@rediver/core';
import type { AgentContext } from './agentContext';
import type { Delivery } from './agentTypes';
import { HeldReports, storeRefusedReport } from './heldReports';
import { errInfo } from './internal/errInfo';
import type { ChunkPort, PipelinePort } from './ports';
import type { SarifSummary } from './sarif';
import type { ReportStream } from './scanners';

/** How `deliverStream` hands a converted report over. */
export interface StreamDelivery {
  jobId: string | undefined;
  priority: number;
  /** Runs once the output is converted, before the report is handed over. */
  onConverted?: ((summary: SarifSummary | undefined, findings: number) => void) | undefined;
  /** Converts the output again, whole (the store could not keep the streamed report: it is held in memory). */
  convertWhole?: (() => Promise<{ report: Report; summary?: SarifSummary | undefined }>) | undefined;
}

/**
 * The delivery router: small reports go through the pipeline, large ones (and anything the pipeline cannot take
 * or deliver) into the chunk store, which keeps them on disk until the platform acknowledged every chunk; a report
 * the store cannot keep is held in memory (`HeldReports`). Its event half (the chunk store's events) is
 * `listenToChunks` in `chunkDelivery.ts`.
 */
export class DeliveryRouter {
  readonly #ctx: AgentContext;
  /** Reports the chunk store could not keep (full disk, damaged store). */
  readonly held: HeldReports;

  constructor(ctx: AgentContext) {
    this.#ctx = ctx;
    this.held = new HeldReports(ctx);
  }

  /** Follows the pipeline's outcomes: delivered, given up (then persisted), retried. */
  followPipeline(pipeline: PipelinePort): void {
    pipeline.onCompleted((item, result) => this.#onPipelineCompleted(item.report, item.jobId, result));
    pipeline.onFailed((item, error) => this.#onPipelineFailed(item.report, item.jobId, error));
    pipeline.onRetry((item, error, delayMs) => {
      this.#ctx.counters.uploadRetries++;
      const e = errInfo(error);
      this.#ctx.audit({
        type: e.code === 'RATE_LIMITED' ? T.rateLimited : T.uploadRetry,
        severity: 'WARN',
        message: `upload of report ${item.report.metadata.id} will be retried: ${e.message}`,
        ...(item.jobId === undefined ? {} : { jobId: item.jobId }),
        reportId: item.report.metadata.id,
        error,
        details: { attempt: item.attempts, delay_ms: delayMs },
      });
      this.#ctx.changed();
    });
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
    const d = this.#ctx.deliveries.get(report.metadata.id);
    if (d === undefined || d.state !== 'pipeline') return;
    this.#ctx.progressed();
    d.state = 'delivered';
    this.#ctx.counters.reportsDelivered++;
    this.#ctx.counters.findingsDelivered += d.findings;
    this.#ctx.counters.bytesUploaded += Buffer.byteLength(JSON.stringify(report));
    this.#ctx.audit({
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
    this.#ctx.changed();
  }

  #onPipelineFailed(report: Report, jobId: string | undefined, error: unknown): void {
    const d = this.#ctx.deliveries.get(report.metadata.id);
    const e = errInfo(error);
    this.#ctx.failed();
    this.#ctx.audit({
      type: e.code === 'AUTH_FAILED' ? T.authFailed : T.uploadFailed,
      severity: 'ERROR',
      message: `pipeline gave up on report ${report.metadata.id}: ${e.message}; keeping it in the chunk store`,
      ...(jobId === undefined ? {} : { jobId }),
      reportId: report.metadata.id,
      error,
    });
    if (d !== undefined && d.state !== 'pipeline') return;
    // Nothing is dropped: what the pipeline cannot deliver now goes to disk and is retried from there.
    void this.persist(report, jobId, 'pipeline-failed');
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
    this.#ctx.deliveries.set(d.reportId, d);
    return d;
  }

  /** Stores a report in the chunk store (durable) for the engine to deliver. */
  persist(
    report: Report,
    jobId: string | undefined,
    because: NonNullable<Delivery['persistedBecause']>,
  ): Promise<void> {
    const d = this.#ctx.deliveries.get(report.metadata.id) ?? this.#track(report, jobId, PRIORITY.normal);
    d.state = 'chunks';
    d.route = 'chunks';
    d.persistedBecause = because;
    if (because !== 'large') this.#ctx.counters.reportsPersisted++;
    const p = this.#ctx.deps.chunks
      .submitReport(report, { tenantId: this.#ctx.config.tenantId, priority: d.priority })
      .then(({ totalChunks }) => {
        d.totalChunks = totalChunks;
        d.stored = true;
        this.#ctx.audit({
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
        if (this.held.hold(report, d, jobId, error)) return;
        this.storeFailed(d, jobId, error);
      })
      .finally(() => {
        this.#ctx.persisting.delete(p);
        this.#ctx.changed();
      });
    this.#ctx.persisting.add(p);
    this.#ctx.changed();
    return p;
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
    options: StreamDelivery,
  ): Promise<{ delivery: Delivery | undefined; findings: number }> {
    const { jobId, priority, onConverted, convertWhole } = options;
    const t = this.#ctx.deps.chunks.thresholds();
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
    this.#ctx.deliveries.set(d.reportId, d);
    let converting: unknown;
    const counted = (f: Finding): Finding => {
      d.findings++;
      this.#ctx.counters.findingsFound++;
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
      writer = await this.#ctx.deps.chunks.beginReport({ header: stream.header, assets, priority });
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
    this.#ctx.persisting.add(
      stored.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      const { totalChunks } = await stored;
      d.totalChunks = totalChunks;
      d.stored = true;
      this.#ctx.audit({
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
        this.#ctx.deliveries.delete(d.reportId);
        this.#ctx.counters.findingsFound -= d.findings;
        throw error;
      }
      // The store could not keep it for a reason of the host (full disk, damaged or read-only store): the
      // report is converted again, whole, and held in memory until the scan's end (sent directly meanwhile).
      if (convertWhole !== undefined && !storeRefusedReport(error)) {
        const whole = await convertWhole().catch(() => undefined);
        if (whole !== undefined) {
          const n = whole.report.findings?.length ?? 0;
          this.#ctx.counters.findingsFound += n - d.findings;
          d.findings = n;
          if (!converted) onConverted?.(whole.summary, n);
          if (this.held.hold(whole.report, d, jobId, error)) return { delivery: d, findings: n };
        }
      }
      this.storeFailed(d, jobId, error);
      return { delivery: d, findings: d.findings };
    } finally {
      this.#ctx.changed();
    }
  }

  /** The chunk store could not keep a report and it is not held in memory: failed, counted, audited, said. */
  storeFailed(d: Delivery, jobId: string | undefined, error: unknown): void {
    d.state = 'failed';
    d.error = errInfo(error).message;
    this.#ctx.counters.reportsFailed++;
    this.#ctx.failed();
    this.#ctx.audit({
      type: T.uploadFailed,
      severity: 'CRITICAL',
      message: `report ${d.reportId} could not be stored for delivery: ${d.error}`,
      ...(jobId === undefined ? {} : { jobId }),
      reportId: d.reportId,
      error,
    });
    this.#ctx.say(`LOST? report ${d.reportId} could not be stored: ${d.error}`);
  }

  /** Hands a report over for delivery: pipeline when small, chunk store when large or when the queue is full. */
  async deliver(report: Report, jobId?: string, priority: number = PRIORITY.normal): Promise<Delivery> {
    const d = this.#track(report, jobId, priority);
    this.#ctx.counters.findingsFound += d.findings;
    if (this.#ctx.deps.chunks.needsChunking(report)) {
      await this.persist(report, jobId, 'large');
      return d;
    }
    if (this.#ctx.stopping) {
      await this.persist(report, jobId, 'stopping');
      return d;
    }
    this.#ctx.counters.bytesTotal += Buffer.byteLength(JSON.stringify(report));
    try {
      const options: Parameters<PipelinePort['submit']>[1] = {
        tenantId: this.#ctx.config.tenantId,
        priority,
      };
      if (jobId !== undefined) options.jobId = jobId;
      this.#ctx.deps.pipeline.submit(report, options);
      this.#ctx.audit({
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
        this.#ctx.counters.reportsFailed++;
        this.#ctx.failed();
        this.#ctx.audit({
          type: T.validationError,
          severity: 'ERROR',
          message: `report ${d.reportId} refused for upload: ${d.error}`,
          ...(jobId === undefined ? {} : { jobId }),
          reportId: d.reportId,
          error,
        });
        this.#ctx.changed();
        throw error;
      }
      this.#ctx.audit({
        type: T.resourceWarning,
        severity: 'WARN',
        message: `pipeline cannot take report ${d.reportId} (${error.code}); persisting it in the chunk store`,
        reportId: d.reportId,
        error,
      });
      await this.persist(report, jobId, error.code === 'QUEUE_FULL' ? 'queue-full' : 'stopping');
    }
    this.#ctx.changed();
    return d;
  }
}
