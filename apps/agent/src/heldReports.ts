import { AUDIT_EVENT_TYPES as T, isRediverError } from '@rediver/core';
import type { Report } from '@rediver/core';
import type { AgentContext } from './agentContext';
import type { Delivery } from './agentTypes';
import { errInfo } from './internal/errInfo';
import type { PipelinePort } from './ports';

/**
 * Reports the chunk store could not keep (full disk, damaged store): the delivery router hands such a report to
 * `hold`, and the agent's `close()` calls `storeOrGiveUp` once the pipeline has stopped.
 */
export class HeldReports {
  readonly #ctx: AgentContext;

  constructor(ctx: AgentContext) {
    this.#ctx = ctx;
  }

  /** Reports held in memory because the chunk store refused them for a reason of its own (not the report's). */
  readonly #held = new Map<string, { report: Report; jobId: string | undefined; error: unknown }>();
  #notKept = 0;

  /** Reports that were neither stored nor delivered when the agent stopped (lost: said, audited, exit code). */
  get notKept(): number {
    return this.#notKept;
  }

  /**
   * The store failed to keep `report` for a reason of the host (`DISK_FULL`, `STORAGE_QUOTA`, a damaged or
   * read-only store), not of the report: hold it in memory and send it through the pipeline now (the platform may
   * be reachable even though the disk is full). Returns false for anything else (the caller fails the report).
   */
  hold(report: Report, d: Delivery, jobId: string | undefined, error: unknown): boolean {
    if (storeRefusedReport(error)) return false;
    // Delivered ones are let go (a daemon on a full disk must not keep every report it ever held).
    for (const id of this.#held.keys())
      if (this.#ctx.deliveries.get(id)?.state === 'delivered') this.#held.delete(id);
    const info = errInfo(error);
    const cause = `${info.code ?? 'error'}: ${info.message}`;
    const again = this.#held.has(d.reportId);
    this.#held.set(d.reportId, { report, jobId, error });
    d.heldInMemory = true;
    d.stored = false;
    d.error = `not stored (${info.code ?? 'store error'})`;
    this.#ctx.failed();
    if (!again && !this.#ctx.stopping) {
      try {
        const options: Parameters<PipelinePort['submit']>[1] = {
          tenantId: this.#ctx.config.tenantId,
          priority: d.priority,
        };
        if (jobId !== undefined) options.jobId = jobId;
        this.#ctx.deps.pipeline.submit(report, options);
        d.state = 'pipeline';
        d.route = 'pipeline';
      } catch {
        d.state = 'failed';
      }
    } else {
      d.state = 'failed';
    }
    const sent = d.state === 'pipeline';
    this.#ctx.audit({
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
    if (!(again && this.#ctx.stopping))
      this.#ctx.say(
        `NOT STORED: report ${d.reportId} (${d.findings} findings): ${cause} — held in memory` +
          (sent ? ', sent to the platform directly' : ' until the agent stops'),
      );
    this.#ctx.changed();
    return true;
  }

  /** At stop: each held report not delivered is stored once more (the disk may have room now), else lost. */
  async storeOrGiveUp(): Promise<void> {
    for (const [id, h] of this.#held) {
      this.#held.delete(id);
      const d = this.#ctx.deliveries.get(id);
      if (d === undefined || d.state === 'delivered' || d.stored === true) continue;
      try {
        const { totalChunks } = await this.#ctx.deps.chunks.submitReport(h.report, {
          tenantId: this.#ctx.config.tenantId,
          priority: d.priority,
        });
        d.state = 'chunks';
        d.route = 'chunks';
        d.stored = true;
        d.totalChunks = totalChunks;
        delete d.error;
        this.#ctx.audit({
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
        this.#ctx.counters.reportsFailed++;
        this.#ctx.audit({
          type: T.uploadFailed,
          severity: 'CRITICAL',
          message: `report ${id} (${d.findings} findings) was neither stored nor delivered and is lost: ${info.code ?? 'error'}: ${info.message}`,
          ...(h.jobId === undefined ? {} : { jobId: h.jobId }),
          reportId: id,
          error,
          details: { not_kept: true, findings: d.findings, first_error: errInfo(h.error) },
        });
        this.#ctx.say(
          `LOST: report ${id} (${d.findings} findings) was neither stored nor delivered (${info.code ?? info.message})`,
        );
      }
    }
    this.#ctx.changed();
  }
}

/** The store refused the report itself (its content or id), not for a reason of the host: holding it cannot help. */
export function storeRefusedReport(error: unknown): boolean {
  return isRediverError(
    error,
    'VALIDATION_FAILED',
    'REPORT_ID_INVALID',
    'REPORT_TOO_LARGE',
    'REPORT_CONFLICT',
    'INVALID_OPTION',
  );
}
