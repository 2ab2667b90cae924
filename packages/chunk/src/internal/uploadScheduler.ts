import type { ActiveReport, ClaimedChunk } from './uploadQueue';

interface Entry {
  report: ActiveReport;
  /** Sequence number of the last chunk taken from this report (0 = never). */
  lastServed: number;
}

/**
 * Chooses which report the next chunk comes from: strictly higher priority first; among reports of equal
 * priority, round robin (the one served longest ago, then the oldest), so a large report cannot starve a small
 * one submitted after it. Only report keys live in memory — chunks stay in SQLite until claimed.
 */
export class FairScheduler {
  readonly #entries = new Map<string, Entry>();
  #served = 0;
  #stale = true;

  /** Marks the report list stale (a report was submitted or re-queued). */
  invalidate(): void {
    this.#stale = true;
  }

  /** Reports currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Takes the next chunk: tries reports in scheduling order with `claim` (which returns `undefined` when the
   * report has nothing due). Reloads the report list with `load` when it is stale, and once more before giving up.
   */
  next(
    load: () => ActiveReport[],
    claim: (report: ActiveReport) => ClaimedChunk | undefined,
  ): ClaimedChunk | undefined {
    let reloaded = false;
    if (this.#stale) {
      this.#reload(load());
      reloaded = true;
    }
    for (;;) {
      const order = [...this.#entries.values()].sort(
        (a, b) =>
          b.report.priority - a.report.priority ||
          a.lastServed - b.lastServed ||
          a.report.createdAt - b.report.createdAt ||
          (keyOf(a.report) < keyOf(b.report) ? -1 : 1),
      );
      for (const entry of order) {
        const chunk = claim(entry.report);
        if (chunk !== undefined) {
          entry.lastServed = ++this.#served;
          return chunk;
        }
      }
      if (reloaded) return undefined;
      this.#reload(load());
      reloaded = true;
    }
  }

  #reload(reports: ActiveReport[]): void {
    this.#stale = false;
    const next = new Map<string, Entry>();
    for (const report of reports) {
      const key = keyOf(report);
      next.set(key, { report, lastServed: this.#entries.get(key)?.lastServed ?? 0 });
    }
    this.#entries.clear();
    for (const [k, v] of next) this.#entries.set(k, v);
  }
}

function keyOf(r: ActiveReport): string {
  return `${r.tenantId}\u0000${r.reportId}`;
}
