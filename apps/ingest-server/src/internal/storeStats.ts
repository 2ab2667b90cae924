import type Database from 'better-sqlite3';
import { COMMAND_STATUSES } from '@rediver/core';
import type { CommandStatus } from '@rediver/core';
import type { IngestStats, ReportStats, TenantStats } from '../ingestStoreTypes';
import type { CommandTable } from './commandTable';
import type { CommandRow, ReportRow } from './storeSchema';

/** The store's totals per tenant and per report (queried on demand, never kept). */
export class StoreStats {
  readonly #db: Database.Database;
  readonly #commands: CommandTable;

  constructor(db: Database.Database, commands: CommandTable) {
    this.#db = db;
    this.#commands = commands;
  }

  /** Totals per tenant and per report; only `tenantId`'s when given (empty totals for an unknown tenant). */
  stats(tenantId?: string): IngestStats {
    const tenants =
      tenantId !== undefined
        ? [tenantId]
        : (
            this.#db
              .prepare(
                `SELECT tenant_id FROM reports UNION SELECT tenant_id FROM commands UNION SELECT tenant_id FROM heartbeats
                 UNION SELECT tenant_id FROM findings ORDER BY tenant_id`,
              )
              .all() as Array<{ tenant_id: string }>
          ).map((r) => r.tenant_id);
    return { tenants: tenants.map((t) => this.#tenantStats(t)) };
  }

  #tenantStats(tenantId: string): TenantStats {
    const count = (sql: string): number =>
      (this.#db.prepare(sql).get(tenantId) as { n: number | null }).n ?? 0;
    const rows = this.#db
      .prepare('SELECT * FROM reports WHERE tenant_id = ? ORDER BY created_at, report_id')
      .all(tenantId) as ReportRow[];
    const commands = Object.fromEntries(COMMAND_STATUSES.map((s) => [s, 0])) as Record<CommandStatus, number>;
    for (const c of this.#db
      .prepare('SELECT * FROM commands WHERE tenant_id = ?')
      .all(tenantId) as CommandRow[]) {
      commands[this.#commands.toCommand(c).status]++;
    }
    const reports = rows.map((r): ReportStats => ({
      reportId: r.report_id,
      source: r.source,
      totalChunks: r.total_chunks,
      chunksReceived: r.chunks_received,
      findingsReceived: r.findings_received,
      assetsReceived: r.assets_received,
      complete: r.complete === 1,
      toolName: r.tool_name,
      updatedAt: new Date(r.updated_at).toISOString(),
    }));
    return {
      tenantId,
      totals: {
        reports: reports.length,
        completeReports: reports.filter((r) => r.complete).length,
        findings: count('SELECT COUNT(*) AS n FROM findings WHERE tenant_id = ?'),
        findingsReceived: reports.reduce((n, r) => n + r.findingsReceived, 0),
        assets: count('SELECT COUNT(*) AS n FROM assets WHERE tenant_id = ?'),
        chunks: count('SELECT COUNT(*) AS n FROM chunks WHERE tenant_id = ?'),
        agents: count('SELECT COUNT(*) AS n FROM heartbeats WHERE tenant_id = ?'),
        heartbeats: count('SELECT SUM(count) AS n FROM heartbeats WHERE tenant_id = ?'),
        commands,
      },
      reports,
    };
  }
}
