import type { JobResult } from '@rediver/core';
import type { AgentConfig } from './config';
import type { AgentCounters, AgentDeps, BacklogReport, Delivery, DeliveryFigures } from './agentTypes';
import type { AuditEntry } from './ports';

/**
 * What the agent's parts (job runner, delivery router, waits, backlog, audit trail) share: the agent's state and
 * its few side effects. The `Agent` builds one and hands it to each part; the parts never hold the `Agent` itself.
 */
export interface AgentContext {
  readonly config: AgentConfig;
  readonly deps: AgentDeps;
  readonly counters: AgentCounters;
  readonly delivery: DeliveryFigures;
  /** Reports handed over this run. */
  readonly deliveries: Map<string, Delivery>;
  /** Reports kept from earlier runs (`resumeBacklog`), followed by events. */
  readonly backlog: Map<string, BacklogReport>;
  /** Jobs held (waiting or running). */
  readonly jobs: Set<Promise<JobResult>>;
  /** Persisting reports into the chunk store (awaited before closing it). */
  readonly persisting: Set<Promise<void>>;
  /** Whether the agent stopped taking jobs. */
  readonly stopping: boolean;
  /** Writes an audit entry; a failing audit logger never stops the agent. */
  audit(entry: AuditEntry): void;
  /** Tells the operator something (an `agent:line` event). */
  say(text: string): void;
  /** Something a progress display shows changed (an `agent:changed` event). */
  changed(): void;
  /** Something was acknowledged or settled: the stall deadline of `waitDelivered` starts again. */
  progressed(): void;
  /** An error the agent counts (heartbeats, exit code). */
  failed(): void;
}
