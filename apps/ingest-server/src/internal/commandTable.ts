import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { CommandStatus } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import type { CommandAction, EnqueueCommandInput, StoredCommand } from '../ingestStoreTypes';
import type { CommandRow, Statements } from './storeSchema';

const TRANSITIONS: Record<CommandAction, { from: readonly CommandStatus[]; to: CommandStatus }> = {
  acknowledge: { from: ['pending'], to: 'acknowledged' },
  start: { from: ['pending', 'acknowledged'], to: 'running' },
  complete: { from: ['acknowledged', 'running'], to: 'completed' },
  fail: { from: ['pending', 'acknowledged', 'running'], to: 'failed' },
};

/** The commands a tenant's agents poll: queued, moved along their lifecycle, expired by time. */
export class CommandTable {
  readonly #db: Database.Database;
  readonly #st: Statements;
  readonly #now: () => number;

  constructor(db: Database.Database, st: Statements, now: () => number) {
    this.#db = db;
    this.#st = st;
    this.#now = now;
  }

  /** Queues a command for a tenant's agents. */
  enqueue(input: EnqueueCommandInput): StoredCommand {
    if (typeof input.tenantId !== 'string' || input.tenantId.length === 0) {
      throw new IngestServerError('VALIDATION_FAILED', 'tenantId is required', { status: 400 });
    }
    if (typeof input.type !== 'string' || input.type.length === 0 || input.type.length > 256) {
      throw new IngestServerError('VALIDATION_FAILED', 'type must be 1..256 characters', { status: 400 });
    }
    const priority = input.priority ?? 0;
    if (!Number.isInteger(priority)) {
      throw new IngestServerError('VALIDATION_FAILED', 'priority must be an integer', { status: 400 });
    }
    if (
      input.payload !== undefined &&
      (typeof input.payload !== 'object' || input.payload === null || Array.isArray(input.payload))
    ) {
      throw new IngestServerError('VALIDATION_FAILED', 'payload must be a JSON object', { status: 400 });
    }
    const at = this.#now();
    const id = randomUUID();
    this.#st.insertCommand.run(
      id,
      input.tenantId,
      input.agentId ?? null,
      input.type,
      priority,
      input.payload === undefined ? null : JSON.stringify(input.payload),
      'pending',
      at,
      at,
      input.expiresAt ?? null,
    );
    return this.toCommand(this.#st.getCommand.get(input.tenantId, id)!);
  }

  /** Pending, unexpired commands of a tenant for an agent (or unassigned), highest priority first. */
  pending(tenantId: string, agentId: string | undefined, limit: number): StoredCommand[] {
    return this.#st.pending.all(tenantId, agentId ?? null, this.#now(), limit).map((r) => this.toCommand(r));
  }

  /** A command of a tenant (undefined for another tenant's). */
  get(tenantId: string, id: string): StoredCommand | undefined {
    const row = this.#st.getCommand.get(tenantId, id);
    return row ? this.toCommand(row) : undefined;
  }

  /**
   * Moves a command along its lifecycle. Repeating the call that reached the current state is a no-op (a retried
   * request); any other impossible move is 409. Unknown or other-tenant ids are 404.
   */
  transition(
    tenantId: string,
    id: string,
    action: CommandAction,
    extra: { result?: Record<string, unknown>; errorMessage?: string } = {},
  ): StoredCommand {
    return this.#db.transaction((): StoredCommand => {
      const row = this.#st.getCommand.get(tenantId, id);
      if (!row) throw new IngestServerError('NOT_FOUND', `command ${id} not found`, { status: 404 });
      const current = this.toCommand(row).status;
      const rule = TRANSITIONS[action];
      if (current === rule.to) return this.toCommand(row);
      if (!rule.from.includes(current)) {
        throw new IngestServerError('VALIDATION_FAILED', `cannot ${action} a command that is ${current}`, {
          status: 409,
          details: { status: current },
        });
      }
      this.#st.setCommand.run(
        rule.to,
        extra.result === undefined ? null : JSON.stringify(extra.result),
        extra.errorMessage ?? null,
        this.#now(),
        tenantId,
        id,
      );
      return this.toCommand(this.#st.getCommand.get(tenantId, id)!);
    })();
  }

  toCommand(row: CommandRow): StoredCommand {
    const expired = row.status === 'pending' && row.expires_at !== null && row.expires_at <= this.#now();
    return {
      id: row.id,
      type: row.type,
      priority: row.priority,
      ...(row.payload === null ? {} : { payload: JSON.parse(row.payload) as Record<string, unknown> }),
      status: expired ? 'expired' : row.status,
      tenant_id: row.tenant_id,
      ...(row.agent_id === null ? {} : { agent_id: row.agent_id }),
      ...(row.result === null ? {} : { result: JSON.parse(row.result) as Record<string, unknown> }),
      ...(row.error_message === null ? {} : { error_message: row.error_message }),
      created_at: new Date(row.created_at).toISOString(),
      updated_at: new Date(row.updated_at).toISOString(),
      ...(row.expires_at === null ? {} : { expires_at: new Date(row.expires_at).toISOString() }),
    };
  }
}
