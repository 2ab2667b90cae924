import type { Component } from '@rediver/core';
import type { AgentContext } from './agentContext';
import type { AgentEvents, BacklogReport, JobDelivery } from './agentTypes';

const now = (): number => Date.now();

/** Where the waits hear that something changed (the agent's own `agent:changed` event). */
export type ChangeEvents = Pick<Component<AgentEvents>, 'on' | 'off'>;

/**
 * The agent's waits: until everything is settled, a job's reports are durable or settled, or delivery stalls.
 * Kept from the agent's own state and woken by its `agent:changed` events: nothing is polled.
 */
export class DeliveryWaits {
  readonly #ctx: AgentContext;
  readonly #events: ChangeEvents;

  constructor(ctx: AgentContext, events: ChangeEvents) {
    this.#ctx = ctx;
    this.#events = events;
  }

  /**
   * True when every report handed over this run and every report kept from earlier runs (`resumeBacklog`) is
   * acknowledged or dead-lettered. From the agent's own state, kept by events: no query.
   */
  async settled(): Promise<{ done: boolean; pending: number; failed: number }> {
    await Promise.allSettled([...this.#ctx.persisting]);
    let pending = 0;
    let failed = 0;
    for (const d of this.#ctx.deliveries.values()) {
      if (d.state === 'pipeline' || d.state === 'chunks') pending++;
      if (d.state === 'failed') failed++;
    }
    for (const b of this.#ctx.backlog.values()) {
      if (b.status === 'pending' || b.status === 'uploading') pending++;
      if (b.status === 'failed' || b.status === 'partial') failed++;
    }
    return { done: this.#ctx.jobs.size === 0 && pending === 0, pending, failed };
  }

  /**
   * Resolves once every report of `jobId` is safe: acknowledged, stored on disk, or failed for good (then it
   * is in the chunk store's dead letters).
   */
  async whenDurable(jobId: string, signal?: AbortSignal): Promise<void> {
    const unsafe = (): boolean =>
      [...this.#ctx.deliveries.values()].some(
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
      if (this.#ctx.deliveries.has(id) || this.#ctx.backlog.has(id)) continue;
      const info = await this.#ctx.deps.chunks.reportInfo(id);
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
        this.#ctx.backlog.set(id, entry);
      else looked.set(id, entry);
    }
    const state = (id: string): { done: boolean; error?: string } => {
      const d = this.#ctx.deliveries.get(id);
      if (d !== undefined) {
        if (d.state === 'delivered') return { done: true };
        if (d.state === 'failed') return { done: true, error: d.error ?? 'refused' };
        return { done: false };
      }
      const b = this.#ctx.backlog.get(id) ?? looked.get(id);
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

  /** Waits (on change events, never polling) until `cond` holds or `signal` fires. */
  async #until(cond: () => boolean, signal?: AbortSignal): Promise<void> {
    while (!cond() && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#events.off('agent:changed', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.#events.on('agent:changed', done);
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
    this.#ctx.delivery.lastProgressAt = Math.max(this.#ctx.delivery.lastProgressAt, now());
    for (;;) {
      const s = await this.settled();
      if (s.done) return true;
      const stallAt = this.#ctx.delivery.lastProgressAt + options.stallTimeoutMs;
      if (now() >= stallAt || options.signal?.aborted === true) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.#events.off('agent:changed', onChange);
          options.signal?.removeEventListener('abort', done);
          resolve();
        };
        // A pending promise depends on this timer: it keeps the process alive.
        const t = setTimeout(done, Math.max(1, stallAt - now()));
        // Re-check soon after a change (settling events come in bursts), not on every one.
        const onChange = (): void => {
          this.#events.off('agent:changed', onChange);
          setTimeout(done, 10);
        };
        this.#events.on('agent:changed', onChange);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
