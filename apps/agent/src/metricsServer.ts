import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type * as PromClient from 'prom-client';
import type { AgentFigures } from './figures';

/*
 * `run --metrics-port N`: OpenMetrics text on `/metrics` (prom-client, loaded only when the endpoint is on), the
 * same figures as JSON on `/figures` (what `status --json` shows of a live agent), `/healthz` (the process is up)
 * and `/readyz` (audit log writable, chunk store open, platform reached recently: 200, else 503 naming what is not).
 */

/** One readiness check. */
export interface ReadyCheck {
  ok: boolean;
  detail: string;
}

/** Options of `startMetricsServer`. */
export interface MetricsServerOptions {
  host: string;
  /** 0: any free port (see `url`). */
  port: number;
  figures: () => Promise<AgentFigures>;
  ready: () => Promise<Record<string, ReadyCheck>>;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

type Prom = typeof PromClient;

const STATES = {
  reports: ['pending', 'uploading', 'completed', 'failed', 'partial'],
  chunks: ['pending', 'uploading', 'uploaded', 'failed'],
} as const;

type Sample = [Record<string, string>, number];

/** One sample per `label` value: `map` names the field of `o` each value reads; none when `o` is not there. */
function byLabel<T extends object>(
  o: T | null | undefined,
  label: string,
  map: Record<string, keyof T>,
): Sample[] {
  if (o === null || o === undefined) return [];
  return Object.entries(map).map(([value, key]) => [{ [label]: value }, Number(o[key] ?? 0)]);
}

/** A label map whose values are the field names themselves. */
function same<K extends string>(keys: readonly K[]): Record<K, K> {
  return Object.fromEntries(keys.map((k) => [k, k])) as Record<K, K>;
}

/** Registers the agent's metric families; each reads the figures of the current scrape. */
function registerFamilies(
  prom: Prom,
  registry: InstanceType<Prom['Registry']>,
  current: () => AgentFigures,
): void {
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    read: (f: AgentFigures) => Sample[],
  ): void => {
    new prom.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read(current())) this.inc(labels, Math.max(0, value));
      },
    });
  };
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    read: (f: AgentFigures) => Sample[],
  ): void => {
    new prom.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read(current())) this.set(labels, value);
      },
    });
  };
  const one = (v: number | null | undefined): Sample[] => (v === null || v === undefined ? [] : [[{}, v]]);
  counter('rediver_agent_jobs_total', 'Jobs that ended, by outcome.', ['outcome'], (f) =>
    byLabel(f.jobs, 'outcome', { completed: 'completed', failed: 'failed', cancelled: 'cancelled' }),
  );
  gauge('rediver_agent_jobs', 'Jobs held now, by state.', ['state'], (f) =>
    byLabel(f.jobs, 'state', { queued: 'queued', waiting: 'waiting', running: 'running' }),
  );
  counter(
    'rediver_agent_findings_total',
    'Findings found by scanners and delivered to the platform.',
    ['stage'],
    (f) => byLabel(f.findings, 'stage', { found: 'found', delivered: 'delivered' }),
  );
  counter(
    'rediver_agent_reports_total',
    'Reports by how they ended or travelled (this run).',
    ['outcome'],
    (f) =>
      byLabel(f.reports, 'outcome', { delivered: 'delivered', failed: 'failed', persisted: 'persisted' }),
  );
  gauge('rediver_agent_pipeline_reports', 'Reports in the upload pipeline, by state.', ['state'], (f) =>
    byLabel(f.reports, 'state', { queued: 'pipelineQueued', in_flight: 'pipelineInFlight' }),
  );
  gauge('rediver_agent_stored_reports', 'Reports in the chunk store, by state.', ['state'], (f) =>
    byLabel(f.reports.stored, 'state', same(STATES.reports)),
  );
  gauge(
    'rediver_agent_stored_chunks',
    'Chunks in the chunk store, by state (failed = dead letters).',
    ['state'],
    (f) => byLabel(f.chunks.stored, 'state', same(STATES.chunks)),
  );
  counter('rediver_agent_retries_total', 'Upload retries scheduled, by route.', ['route'], (f) =>
    byLabel(f.retries, 'route', { pipeline: 'pipeline', chunks: 'chunks' }),
  );
  gauge(
    'rediver_agent_upload_concurrency',
    'Chunk uploads allowed at once now (adaptive limit, or the configured one).',
    ['source'],
    (f) => (f.upload === null ? [] : [[{ source: f.upload.concurrencySource }, f.upload.concurrencyLimit]]),
  );
  gauge('rediver_agent_slots', 'Job slots of the resource controller.', ['state'], (f) =>
    byLabel(f.throttle, 'state', { active: 'activeJobs', max: 'maxJobs', pending: 'pendingJobs' }),
  );
  gauge(
    'rediver_agent_host_cpu_percent',
    'Host (or cgroup) CPU in use, percent of the effective CPUs.',
    ['origin'],
    (f) => (f.host === null ? [] : [[{ origin: f.host.cpuOrigin }, f.host.cpuPercent]]),
  );
  gauge(
    'rediver_agent_host_memory_percent',
    'Host (or cgroup) memory in use, percent of the limit.',
    ['origin'],
    (f) => (f.host === null ? [] : [[{ origin: f.host.memoryOrigin }, f.host.memoryPercent]]),
  );
  counter(
    'rediver_agent_audit_lines_dropped_total',
    'Audit lines not written or not shipped, by reason.',
    ['reason'],
    (f) => (f.audit === null ? [] : Object.entries(f.audit.dropped).map(([reason, v]) => [{ reason }, v])),
  );
  // Families of one value each (one line per family).
  type Single = [
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    read: (f: AgentFigures) => number | null | undefined,
  ];
  // prettier-ignore
  const single: Single[] = [
    ['counter', 'rediver_agent_jobs_throttled_total', 'Jobs that had to wait for a slot.', (f) => f.jobs?.throttled],
    ['counter', 'rediver_agent_chunks_uploaded_total', 'Chunks acknowledged by the platform (this run).', (f) => f.chunks.uploaded],
    ['gauge', 'rediver_agent_backlog_bytes', 'Compressed bytes waiting in the chunk store.', (f) => f.backlogBytes],
    ['gauge', 'rediver_agent_backlog_max_bytes', 'Quota of the chunk store, bytes.', (f) => f.backlogMaxBytes],
    ['gauge', 'rediver_agent_dead_letters', 'Chunks dead-lettered in the chunk store.', (f) => f.deadLetters],
    ['gauge', 'rediver_agent_uploads_in_flight', 'Chunk uploads in flight now.', (f) => f.upload?.inFlight],
    ['gauge', 'rediver_agent_throttled', '1 while the resource controller throttles new jobs.', (f) => (f.throttle === null ? null : Number(f.throttle.throttled))],
    ['counter', 'rediver_agent_throttle_events_total', 'Times throttling started.', (f) => f.throttle?.throttleEvents],
    ['counter', 'rediver_agent_slots_rejected_total', 'Slot requests refused.', (f) => f.throttle?.rejectedJobs],
    ['gauge', 'rediver_agent_host_memory_used_bytes', 'Host (or cgroup) memory in use.', (f) => f.host?.memoryUsedBytes],
    ['gauge', 'rediver_agent_host_memory_limit_bytes', 'Host memory or the cgroup limit.', (f) => f.host?.memoryLimitBytes],
    ['gauge', 'rediver_agent_host_effective_cpus', 'Effective CPUs (cgroup quota or host).', (f) => f.host?.effectiveCpus],
    ['counter', 'rediver_agent_audit_lines_written_total', 'Audit lines written to the log file.', (f) => f.audit?.written],
    ['counter', 'rediver_agent_audit_errors_total', 'Background failures of the audit logger.', (f) => f.audit?.errors],
    ['gauge', 'rediver_agent_platform_last_ok_timestamp_seconds', 'When the platform last answered a poll or heartbeat.', (f) => f.platform?.lastOkAt === null || f.platform?.lastOkAt === undefined ? null : f.platform.lastOkAt / 1000],
  ];
  for (const [kind, name, help, read] of single)
    (kind === 'counter' ? counter : gauge)(name, help, [], (f) => one(read(f)));
}

/** Starts the endpoint on `host:port` (loopback unless configured otherwise). */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  registry.setContentType(prom.Registry.OPENMETRICS_CONTENT_TYPE as never);
  // Process CPU and memory, heap, handles; the event-loop lag histogram sampled every 100 ms, not every 10.
  prom.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  let current: AgentFigures | undefined;
  registerFamilies(prom, registry, () => current!);
  let scraping: Promise<string> | undefined;
  const scrape = (): Promise<string> =>
    // Concurrent scrapes share one reading.
    (scraping ??= (async () => {
      try {
        current = await o.figures();
        return await registry.metrics();
      } finally {
        scraping = undefined;
      }
    })());
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    const fail = (e: unknown): void => send(500, 'text/plain', `error: ${(e as Error).message}\n`);
    if (path === '/metrics') {
      scrape().then((text) => send(200, registry.contentType, text), fail);
      return;
    }
    if (path === '/figures') {
      o.figures().then((f) => send(200, 'application/json', `${JSON.stringify(f)}\n`), fail);
      return;
    }
    if (path === '/readyz') {
      o.ready().then((checks) => {
        const ok = Object.values(checks).every((c) => c.ok);
        send(ok ? 200 : 503, 'application/json', `${JSON.stringify({ ready: ok, checks })}\n`);
      }, fail);
      return;
    }
    send(404, 'text/plain', 'not found: /metrics, /figures, /healthz, /readyz\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A scrape endpoint must never keep a stopping agent alive.
  server.unref();
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
