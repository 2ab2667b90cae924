import { AUDIT_EVENT_TYPES as T } from '@rediver/core';
import type { AgentContext } from './agentContext';
import type { AgentConfig, ScannerConfig } from './config';
import type { AuditEntry, AuditPort, ResourcePort } from './ports';
import type { SarifSummary } from './sarif';
import { partialText, scanSummaryDetails } from './scanners';

/* The agent's audit trail: the safe write, the entries of its own lifecycle, what the resource controller says,
   and what a scanner found. The delivery router and the job runner audit their own steps through `AgentContext`. */

/** Writes an audit entry; the audit logger reports its own failures and the agent keeps going. */
export function auditSafely(port: AuditPort, entry: AuditEntry): void {
  try {
    port.log(entry);
  } catch {
    // The audit logger reports its own failures; the agent keeps going.
  }
}

/** The `agent.start` entry. */
export function agentStartEntry(config: AgentConfig): AuditEntry {
  return {
    type: T.agentStart,
    severity: 'INFO',
    message: 'agent started',
    details: {
      agent_id: config.agentId,
      data_dir: config.dataDir,
      server: config.server,
      scanners: config.scanners,
      pid: process.pid,
    },
  };
}

/** Audits, counts and announces the resource controller's throttles, resumes and warnings. */
export function followResource(resource: ResourcePort, ctx: AgentContext): void {
  resource.onThrottle((reason, metrics) => {
    ctx.counters.throttleEvents++;
    ctx.audit({
      type: T.resourceThrottle,
      severity: 'WARN',
      message: `throttling new jobs: ${reason}`,
      details:
        metrics === undefined
          ? { reason }
          : { reason, cpu_percent: metrics.cpuPercent, memory_percent: metrics.memoryPercent },
    });
    ctx.say(`throttled: ${reason}`);
    ctx.changed();
  });
  resource.onResume((metrics) => {
    ctx.audit({
      type: T.resourceResume,
      severity: 'INFO',
      message: 'resource throttling cleared',
      details:
        metrics === undefined
          ? {}
          : { cpu_percent: metrics.cpuPercent, memory_percent: metrics.memoryPercent },
    });
    ctx.say('resources back under thresholds: taking jobs again');
    ctx.changed();
  });
  resource.onWarning((message, details) => {
    ctx.audit({ type: T.resourceWarning, severity: 'WARN', message, details });
  });
}

/** Audits and announces what a scanner found (once its output is converted). */
export function auditScanCompleted(
  ctx: AgentContext,
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
  ctx.audit({
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
  ctx.say(`job ${jobId}: ${def.name} found ${r.findings} finding(s)${partial} → report ${r.reportId}`);
}
