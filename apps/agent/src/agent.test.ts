import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RediverError } from '@rediver/core';
import type { Finding, QueueItem, Report, ResourceStatus, UploadResult } from '@rediver/core';
import type {
  ChunkEventMap,
  ChunkUploadedEvent,
  ReportFailedEvent,
  ReportProgress,
  ReportStoredEvent,
  UploadBacklogEvent,
} from '@rediver/chunk';
import { Agent } from './agent';
import { loadConfig } from './config';
import type { AgentConfig } from './config';
import type {
  AuditEntry,
  ChunkingThresholds,
  ChunkPort,
  ReportHeaderPort,
  ReportWriterPort,
  StoredReportInfo,
  ChunkEvents,
  PipelinePort,
  ResourcePort,
  SlotPort,
} from './ports';
import { statusLine } from './progress';
import { generateLargeReport } from './synthetic';

/* Fakes of the agent's own ports (its boundary): they record what the agent asked for. */

class FakeAudit {
  readonly entries: AuditEntry[] = [];
  readonly location = '/dev/null';
  closed = false;
  log(e: AuditEntry): void {
    this.entries.push(e);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  types(): string[] {
    return this.entries.map((e) => e.type);
  }
}

class FakeResource implements ResourcePort {
  free: number;
  active = 0;
  waiters: { resolve: (s: SlotPort) => void; reject: (e: unknown) => void }[] = [];
  constructor(slots: number) {
    this.free = slots;
  }
  #slot(): SlotPort {
    this.active++;
    let released = false;
    return {
      release: () => {
        if (released) return false;
        released = true;
        this.active--;
        const w = this.waiters.shift();
        if (w !== undefined) w.resolve(this.#slot());
        else this.free++;
        return true;
      },
    };
  }
  start(): void {}
  acquireSlot(): SlotPort | null {
    if (this.free === 0) return null;
    this.free--;
    return this.#slot();
  }
  acquireSlotBlocking(o: { signal?: AbortSignal }): Promise<SlotPort> {
    return new Promise((res, rej) => {
      const w = { resolve: res, reject: rej };
      this.waiters.push(w);
      o.signal?.addEventListener('abort', () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        rej(new RediverError('ABORTED', 'aborted'));
      });
    });
  }
  getStatus(): ResourceStatus {
    return {
      throttled: false,
      activeJobs: this.active,
      pendingJobs: this.waiters.length,
      rejectedJobs: 0,
      maxJobs: 1,
    };
  }
  metrics(): undefined {
    return undefined;
  }
  onThrottle(): void {}
  onResume(): void {}
  onWarning(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class FakePipeline implements PipelinePort {
  queue: QueueItem[] = [];
  capacity = 10;
  stopped = false;
  completed?: (i: QueueItem, r: UploadResult) => void;
  failed?: (i: QueueItem, e: unknown) => void;
  start(): void {}
  submit(report: Report, o: { jobId?: string }): string {
    if (this.stopped) throw new RediverError('CLOSED', 'stopped');
    if (this.queue.length >= this.capacity) throw new RediverError('QUEUE_FULL', 'full');
    const item: QueueItem = {
      id: `i${this.queue.length}`,
      report,
      priority: 5,
      attempts: 0,
      submittedAt: 0,
      sizeBytes: 1,
      ...(o.jobId === undefined ? {} : { jobId: o.jobId }),
    };
    this.queue.push(item);
    return item.id;
  }
  deliverAll(): void {
    for (const i of this.queue.splice(0))
      this.completed?.(i, {
        reportId: i.report.metadata.id,
        assetsCreated: 0,
        assetsUpdated: 0,
        findingsCreated: 1,
        findingsUpdated: 0,
        findingsSkipped: 0,
      });
  }
  failAll(): void {
    for (const i of this.queue.splice(0)) this.failed?.(i, new RediverError('SERVER_ERROR', 'boom'));
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<Report[]> {
    this.stopped = true;
    return Promise.resolve(this.queue.splice(0).map((i) => i.report));
  }
  stats(): { queued: number; inFlight: number; completed: number; failed: number; retries: number } {
    return { queued: this.queue.length, inFlight: 0, completed: 0, failed: 0, retries: 0 };
  }
  onCompleted(fn: (i: QueueItem, r: UploadResult) => void): void {
    this.completed = fn;
  }
  onFailed(fn: (i: QueueItem, e: unknown) => void): void {
    this.failed = fn;
  }
  onRetry(): void {}
}

function progress(
  reportId: string,
  status: ReportProgress['status'],
  lastError: string | null,
): ReportProgress {
  return {
    tenantId: 't',
    reportId,
    status,
    priority: 5,
    totalChunks: 4,
    uploadedChunks: status === 'completed' ? 4 : 3,
    failedChunks: status === 'completed' ? 0 : 1,
    pendingChunks: 0,
    totalBytes: 40,
    uploadedBytes: 30,
    lastError,
  };
}

/** Payloads of `@rediver/chunk`'s events, as the real manager sends them. */
const chunkEvent = {
  stored: (
    reportId: string,
    totalChunks: number,
    bytes: number,
    originalBytes: number,
  ): ReportStoredEvent => ({
    tenantId: 't',
    reportId,
    totalChunks,
    priority: 5,
    originalBytes,
    compressedBytes: bytes,
  }),
  uploaded: (
    reportId: string,
    chunkIndex: number,
    totalChunks: number,
    bytes: number,
  ): ChunkUploadedEvent => ({
    tenantId: 't',
    reportId,
    chunkIndex,
    totalChunks,
    attempt: 1,
    originalBytes: bytes,
    compressedBytes: bytes,
    idempotencyKey: `${reportId}:${chunkIndex}`,
    response: {
      chunk_id: `${reportId}-${chunkIndex}`,
      report_id: reportId,
      chunk_index: chunkIndex,
      status: 'received',
      assets_created: 0,
      assets_updated: 0,
      findings_created: 0,
      findings_updated: 0,
      findings_skipped: 0,
    },
  }),
  completed: (reportId: string): ReportProgress => progress(reportId, 'completed', null),
  failed: (reportId: string, status: 'partial' | 'failed', error: RediverError): ReportFailedEvent => ({
    ...progress(reportId, status, error.message),
    error,
  }),
  backlog: (outstandingChunks: number, inFlight: number, concurrencyLimit: number): UploadBacklogEvent => ({
    outstandingChunks,
    inFlight,
    concurrencyLimit,
    uploaded: 0,
    bytesUploaded: 0,
    deadLettered: 0,
    retries: 0,
  }),
};

class FakeChunks implements ChunkPort {
  stored = new Map<string, Report>();
  readonly #listeners = new Map<string, ((e: unknown) => void)[]>();
  readonly events: ChunkEvents = {
    on: (event, listener) => {
      const list = this.#listeners.get(event) ?? [];
      list.push(listener as (e: unknown) => void);
      this.#listeners.set(event, list);
    },
  };
  closed = false;
  needsChunking(r: Report): boolean {
    return (r.findings?.length ?? 0) >= 2000;
  }
  /** Makes `submitReport` fail with it (a full disk, a damaged store), until cleared. */
  refuse: Error | undefined;
  /** The priority each stored report was submitted with. */
  priorities = new Map<string, number | undefined>();
  submitReport(r: Report, o?: { priority?: number }): Promise<{ totalChunks: number }> {
    if (this.closed) return Promise.reject(new RediverError('CLOSED', 'closed'));
    if (this.refuse !== undefined) return Promise.reject(this.refuse);
    this.stored.set(r.metadata.id, r);
    this.priorities.set(r.metadata.id, o?.priority);
    this.emit('report:stored', chunkEvent.stored(r.metadata.id, 2, 10, 20));
    return Promise.resolve({ totalChunks: 2 });
  }
  complete(id: string): void {
    this.stored.delete(id);
    this.emit('report:completed', chunkEvent.completed(id));
  }
  start(): void {}
  thresholds(): ChunkingThresholds {
    return { findings: 2000, assets: 200, bytes: 5 * 1024 * 1024 };
  }
  /** A streamed report: collected, stored at commit with its final header. */
  beginReport(b: { header: ReportHeaderPort; assets: readonly unknown[] }): Promise<ReportWriterPort> {
    const findings: Finding[] = [];
    const writer: ReportWriterPort = {
      addFindings: (f) => {
        findings.push(...f);
        return Promise.resolve();
      },
      addAll: async (source) => {
        for await (const f of source) findings.push(f);
      },
      commit: async (header) => {
        await this.submitReport({ ...(header ?? b.header), findings });
        return { totalChunks: 2, created: true };
      },
      abort: () => Promise.resolve(),
    };
    return Promise.resolve(writer);
  }
  /** Reports kept by an earlier run (what `listReports` answers), and the calls made. */
  kept: StoredReportInfo[] = [];
  calls = { listReports: 0, retryFailed: [] as string[] };
  listReports(): Promise<StoredReportInfo[]> {
    this.calls.listReports++;
    return Promise.resolve(this.kept.map((r) => ({ ...r })));
  }
  reportInfo(id: string): Promise<StoredReportInfo | undefined> {
    return Promise.resolve(this.kept.find((r) => r.reportId === id));
  }
  retryFailed(id: string): Promise<number> {
    this.calls.retryFailed.push(id);
    const r = this.kept.find((k) => k.reportId === id);
    return Promise.resolve(r?.failedChunks ?? 0);
  }
  emit<K extends keyof ChunkEventMap>(event: K, payload: Parameters<ChunkEventMap[K]>[0]): void {
    for (const l of this.#listeners.get(event) ?? []) l(payload);
  }
  storage(): Promise<{ storedBytes: number; maxStorageBytes: number }> {
    return Promise.resolve({ storedBytes: 0, maxStorageBytes: 1 });
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const target = resolve(import.meta.dirname, '../sample-target');
let dir: string;
let config: AgentConfig;
let audit: FakeAudit;
let resource: FakeResource;
let pipeline: FakePipeline;
let chunks: FakeChunks;
let agent: Agent;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-unit-'));
  config = await loadConfig({
    flags: { dataDir: dir, scanners: ['code-patterns'], shutdownTimeoutMs: 5000 },
  });
  audit = new FakeAudit();
  resource = new FakeResource(1);
  pipeline = new FakePipeline();
  chunks = new FakeChunks();
  agent = new Agent(config, { audit, resource, pipeline, chunks });
  agent.start();
});
afterEach(async () => {
  await agent.close('test end');
  await rm(dir, { recursive: true, force: true });
});

function report(id: string, findings = 3): Report {
  return generateLargeReport({ reportId: id, findings, assets: 1 });
}

describe('Agent delivery routes', () => {
  it('sends small reports through the pipeline and large ones to the chunk store', async () => {
    await agent.deliver(report('small'));
    await agent.deliver(report('large', 2500));
    expect(pipeline.queue.map((i) => i.report.metadata.id)).toEqual(['small']);
    expect([...chunks.stored.keys()]).toEqual(['large']);
    expect(agent.deliveries.get('large')).toMatchObject({
      route: 'chunks',
      persistedBecause: 'large',
      totalChunks: 2,
    });
    pipeline.deliverAll();
    chunks.complete('large');
    expect((await agent.settled()).done).toBe(true);
    expect(agent.counters.findingsDelivered).toBe(2503);
    expect(audit.types()).toEqual(expect.arrayContaining(['upload_started', 'upload_completed']));
  });

  it('persists a report when the pipeline queue is full (nothing accepted is lost)', async () => {
    pipeline.capacity = 1;
    await agent.deliver(report('a'));
    await agent.deliver(report('b'));
    expect(pipeline.queue).toHaveLength(1);
    expect(chunks.stored.has('b')).toBe(true);
    expect(agent.deliveries.get('b')?.persistedBecause).toBe('queue-full');
    expect(audit.entries.some((e) => e.type === 'resource_warning' && /QUEUE_FULL/.test(e.message))).toBe(
      true,
    );
  });

  it("persists a report at the caller's priority, not always 5", async () => {
    pipeline.capacity = 0;
    await agent.deliver(report('urgent'), 'job-1', 20);
    await agent.deliver(report('large-low', 2500), 'job-2', 0);
    await agent.deliver(report('default'));
    expect(Object.fromEntries(chunks.priorities)).toEqual({ urgent: 20, 'large-low': 0, default: 5 });
    expect(agent.deliveries.get('urgent')).toMatchObject({ persistedBecause: 'queue-full', priority: 20 });
  });

  it('persists what the pipeline gives up on, and what stop hands back', async () => {
    await agent.deliver(report('gives-up'));
    pipeline.failAll();
    await agent.settled();
    expect(chunks.stored.has('gives-up')).toBe(true);
    expect(agent.deliveries.get('gives-up')?.persistedBecause).toBe('pipeline-failed');
    await agent.deliver(report('in-queue'));
    await agent.close('test');
    expect(chunks.stored.has('in-queue')).toBe(true);
    expect(agent.deliveries.get('in-queue')?.persistedBecause).toBe('stopping');
    expect(audit.closed).toBe(true);
    expect(audit.types().filter((t) => t === 'agent_stop')).toHaveLength(2);
  });
});

describe('Agent refusals', () => {
  it('a report the pipeline refuses outright is failed for good, audited, and not waited for', async () => {
    pipeline.submit = () => {
      throw new RediverError('VALIDATION_FAILED', 'bad report');
    };
    await expect(agent.deliver(report('bad'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(agent.deliveries.get('bad')?.state).toBe('failed');
    expect(audit.types()).toContain('validation_error');
    expect(await agent.settled()).toMatchObject({ done: true, failed: 1 });
  });
});

describe('Agent jobs', () => {
  it('a job waiting for a slot starts when one is released; onStart runs only then', async () => {
    const held = resource.acquireSlot()!;
    const started: string[] = [];
    const p = agent.runJob(
      { id: 'j1', type: 'scan', target },
      { onStart: () => Promise.resolve(void started.push('j1')) },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toEqual([]);
    expect(agent.counters.jobsWaiting).toBe(1);
    held.release();
    const result = await p;
    expect(result.outcome).toBe('completed');
    expect(started).toEqual(['j1']);
    expect(result.findingsCount).toBe(7);
    expect(audit.types()).toEqual(
      expect.arrayContaining([
        'resource_warning',
        'job_started',
        'scan_started',
        'scan_completed',
        'job_completed',
      ]),
    );
  }, 30_000);

  it('stopping cancels a job still waiting for a slot without starting it', async () => {
    resource.acquireSlot();
    let started = false;
    const p = agent.runJob(
      { id: 'j2', type: 'scan', target },
      { onStart: () => Promise.resolve(void (started = true)) },
    );
    await new Promise((r) => setTimeout(r, 20));
    await agent.close('test');
    const result = await p;
    expect(result.outcome).toBe('cancelled');
    expect(started).toBe(false);
    expect(agent.counters.jobsCancelled).toBe(1);
  });

  it('a job the platform refuses to start (command taken elsewhere) is cancelled, not run', async () => {
    const r = await agent.runJob(
      { id: 'j5', type: 'scan', target },
      { onStart: () => Promise.reject(new RediverError('REQUEST_REJECTED', 'already acknowledged')) },
    );
    expect(r.outcome).toBe('cancelled');
    expect(audit.types()).not.toContain('scan_started');
    expect(resource.active).toBe(0);
  });

  it('a job naming an unknown scanner fails with a message, and a missing target too', async () => {
    const r1 = await agent.runJob({ id: 'j3', type: 'scan', target, scanner: 'nope' });
    expect(r1.outcome).toBe('failed');
    expect(r1.error?.message).toMatch(/unknown scanner nope/);
    const r2 = await agent.runJob({ id: 'j4', type: 'scan' });
    expect(r2.error?.message).toMatch(/no target/);
    expect(resource.active).toBe(0);
  });

  it('a partial scan (failed tool run, error notifications) is audited as a WARN with its counts', async () => {
    const script = join(dir, 'partial.mjs');
    const sarif = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'partial-tool' } },
          results: [
            { ruleId: 'r', message: { text: 'one' } },
            { ruleId: 'r', message: { text: 'two' }, suppressions: [{ kind: 'inSource' }] },
          ],
          invocations: [
            {
              executionSuccessful: false,
              toolExecutionNotifications: [{ level: 'error', message: { text: 'Parsing error in b.js' } }],
            },
          ],
        },
      ],
    };
    await writeFile(
      script,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2], ${JSON.stringify(JSON.stringify(sarif))});\n`,
    );
    const c2 = await loadConfig({
      flags: { dataDir: dir, scanners: [`${process.execPath} ${script} {output}`], shutdownTimeoutMs: 5000 },
    });
    const a2 = new Agent(c2, { audit, resource, pipeline, chunks });
    a2.start();
    try {
      const r2 = await a2.runJob({ id: 'j7', type: 'scan', target });
      expect(r2).toMatchObject({ outcome: 'completed', findingsCount: 1 });
      const done = audit.entries.find((e) => e.type === 'scan_completed' && e.jobId === 'j7')!;
      expect(done.severity).toBe('WARN');
      expect(done.message).toMatch(
        /found 1 finding\(s\) \(partial: 1 failed tool run\(s\), 1 error notification\(s\)\)/,
      );
      expect(done.details).toMatchObject({
        scanner: 'partial',
        coverage: 'partial',
        results: 2,
        suppressed: 1,
        failed_invocations: 1,
        error_notifications: 1,
        notifications: [
          { tool: 'partial-tool', level: 'error', message: 'execution not successful' },
          { tool: 'partial-tool', level: 'error', message: 'Parsing error in b.js' },
        ],
      });
      const sent = pipeline.queue.find((i) => i.jobId === 'j7')!.report;
      expect(sent.metadata.coverage_type).toBe('partial');
      expect(sent.properties?.scan_summary).toMatchObject({ failed_invocations: 1, suppressed: 1 });
    } finally {
      await a2.close('test');
    }
  });
});

describe('a report the chunk store cannot keep (issue 18.6)', () => {
  const diskFull = (): RediverError =>
    new RediverError('DISK_FULL', 'storing report: the disk holding the chunk store is full');

  it('is held in memory and sent through the pipeline at once, whatever its size; delivered, nothing lost', async () => {
    chunks.refuse = diskFull();
    await agent.deliver(report('big', 2500));
    await agent.settled();
    expect(pipeline.queue.map((i) => i.report.metadata.id)).toEqual(['big']);
    expect(agent.deliveries.get('big')).toMatchObject({ state: 'pipeline', heldInMemory: true });
    const critical = audit.entries.filter((e) => e.severity === 'CRITICAL');
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatchObject({
      type: 'upload_failed',
      details: { held_in_memory: true, sent_directly: true, findings: 2500 },
    });
    expect(critical[0]!.message).toContain('DISK_FULL');
    pipeline.deliverAll();
    await agent.close('test');
    expect(agent.deliveries.get('big')?.state).toBe('delivered');
    expect(agent.reportsNotKept).toBe(0);
  });

  it('not delivered by the stop: stored then if the disk has room again, else said lost', async () => {
    pipeline.capacity = 0;
    chunks.refuse = diskFull();
    await agent.deliver(report('later', 2500));
    await agent.deliver(report('lost', 2500));
    await agent.settled();
    expect(agent.deliveries.get('later')?.state).toBe('failed');
    // Room again for one of them by the time the agent stops.
    const submit = chunks.submitReport.bind(chunks);
    chunks.submitReport = (r: Report) => {
      chunks.refuse = r.metadata.id === 'later' ? undefined : diskFull();
      return submit(r);
    };
    await agent.close('test');
    expect(agent.deliveries.get('later')).toMatchObject({ state: 'chunks', stored: true });
    expect(chunks.stored.has('later')).toBe(true);
    expect(agent.deliveries.get('lost')).toMatchObject({ state: 'failed', notKept: true });
    expect(agent.reportsNotKept).toBe(1);
    expect(audit.entries.filter((e) => e.details?.not_kept === true).map((e) => e.reportId)).toEqual([
      'lost',
    ]);
  });

  it('a report refused as such (too large for the platform) is failed, not held', async () => {
    chunks.refuse = new RediverError('REPORT_TOO_LARGE', 'over 10,000 chunks');
    await agent.deliver(report('huge', 2500));
    await agent.settled();
    expect(agent.deliveries.get('huge')).toMatchObject({ state: 'failed' });
    expect(agent.deliveries.get('huge')?.heldInMemory).toBeUndefined();
    expect(pipeline.queue).toHaveLength(0);
  });
});

describe('Agent delivery state from events (issue 13) and the backlog (issue 18)', () => {
  const kept = (
    reportId: string,
    status: StoredReportInfo['status'],
    lastError?: string,
  ): StoredReportInfo => ({
    reportId,
    status,
    totalChunks: 4,
    uploadedChunks: status === 'pending' ? 0 : 1,
    failedChunks: status === 'pending' ? 0 : 3,
    bytes: 100,
    ...(lastError === undefined ? {} : { lastError }),
  });

  it('re-queues only dead letters an earlier version gave up on after transient errors (all with retryFailed)', async () => {
    chunks.kept = [
      kept('waiting', 'pending'),
      kept('gave-up', 'partial', 'SERVER_ERROR: The platform failed (HTTP 503)'),
      kept('refused', 'failed', 'REQUEST_REJECTED: The platform rejected it (HTTP 400)'),
    ];
    expect(await agent.resumeBacklog()).toEqual({ pending: 2, requeued: 3, deadLettered: 1 });
    expect(chunks.calls.retryFailed).toEqual(['gave-up']);
    expect(agent.counters).toMatchObject({ backlogReports: 2, backlogChunksTotal: 4 + 3 });
    const a2 = new Agent(config, { audit, resource, pipeline, chunks: new FakeChunks() });
    const again = a2.deps.chunks as FakeChunks;
    again.kept = chunks.kept;
    a2.start();
    try {
      expect(await a2.resumeBacklog({ retryFailed: true })).toMatchObject({ deadLettered: 0 });
      expect(again.calls.retryFailed).toEqual(['gave-up', 'refused']);
    } finally {
      await a2.close('test');
    }
  });

  it('knows when everything settled from events alone: no query per change', async () => {
    chunks.kept = [kept('a', 'pending'), kept('b', 'uploading'), kept('c', 'failed', 'REQUEST_REJECTED: no')];
    await agent.resumeBacklog();
    expect(chunks.calls.listReports).toBe(1);
    expect(await agent.settled()).toEqual({ done: false, pending: 2, failed: 1 });
    for (let i = 0; i < 4; i++) chunks.emit('chunk:uploaded', chunkEvent.uploaded('a', i, 4, 10));
    chunks.emit('report:completed', chunkEvent.completed('a'));
    chunks.emit(
      'report:failed',
      chunkEvent.failed('b', 'partial', new RediverError('REQUEST_REJECTED', 'bad chunk')),
    );
    expect(await agent.settled()).toEqual({ done: true, pending: 0, failed: 2 });
    expect(agent.counters).toMatchObject({ backlogChunksUploaded: 4, backlogDelivered: 1 });
    expect(chunks.calls.listReports).toBe(1);
    expect(await agent.whenReportsSettled(['a'])).toEqual({ outcome: 'delivered', reports: ['a'] });
    expect(await agent.whenReportsSettled(['a', 'b'])).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^report b: partial: bad chunk$/),
    });
  });

  it('waits while acknowledgements come and gives up only after a stall (stallTimeoutMs)', async () => {
    chunks.kept = [kept('slow', 'pending')];
    await agent.resumeBacklog();
    // An acknowledgement every 30 ms for 300 ms: ten times the stall time in total, never a stall.
    let n = 0;
    const ticker = setInterval(() => {
      n++;
      chunks.emit('chunk:uploaded', chunkEvent.uploaded('slow', n, 20, 1));
      if (n === 10) chunks.emit('report:completed', chunkEvent.completed('slow'));
    }, 30);
    try {
      expect(await agent.waitDelivered({ stallTimeoutMs: 150 })).toBe(true);
    } finally {
      clearInterval(ticker);
    }
    chunks.kept = [kept('stuck', 'pending')];
    const a2 = new Agent(config, {
      audit,
      resource,
      pipeline,
      chunks: Object.assign(new FakeChunks(), { kept: chunks.kept }),
    });
    a2.start();
    try {
      await a2.resumeBacklog();
      expect(await a2.waitDelivered({ stallTimeoutMs: 100 })).toBe(false);
    } finally {
      await a2.close('test');
    }
  });

  it("progress keeps this run's chunks apart from the backlog, with percent, the upload limit, rate and ETA", async () => {
    chunks.kept = [kept('old', 'pending')];
    await agent.resumeBacklog();
    await agent.deliver(report('new', 2500));
    chunks.emit('chunk:uploaded', chunkEvent.uploaded('new', 0, 2, 5));
    chunks.emit('chunk:uploaded', chunkEvent.uploaded('old', 0, 4, 5));
    chunks.emit('upload:backlog', chunkEvent.backlog(4, 2, 6));
    const plain = statusLine(agent);
    expect(plain).toMatch(/chunks 1\/2 \(50%\)/);
    expect(plain).toMatch(/backlog 1\/4 chunks \(25%\) of 1 earlier report\(s\)/);
    expect(plain).toMatch(/6 at once/);
    expect(plain).not.toMatch(/ETA/);
    // The rate counts whole seconds: wait for one to pass.
    await new Promise((r) => setTimeout(r, 1100));
    expect(statusLine(agent, true)).toMatch(/\d+\.\d chunks\/s · ETA \d+(s|m)/);
  });
});
