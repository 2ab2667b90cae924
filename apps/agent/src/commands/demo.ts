import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIngestServer } from '@rediver/ingest-server';
import type { Job, JobResult } from '@rediver/core';
import { loadConfig } from '../config';
import { appRoot } from '../paths';
import { formatBytes } from '../progress';
import type { Io } from './common';
import { COMMON_OPTIONS, EXIT, parse, sourcesFrom } from './common';
import { openSession } from './session';

/** Help of `demo`. */
export const DEMO_HELP = `Usage: rediver-agent demo [--data-dir <dir>] [--faults <error rate 0..1>] [--set <path=value>]...

Starts the local ingest server (apps/ingest-server) on a free loopback port with a temporary database,
runs several scan jobs on the bundled sample target (planted FAKE secrets and insecure code) plus one
large generated report (6,000 findings over 320 assets, delivered in chunks), delivers everything, and
prints what the agent sent against what the server received. Exit 0 only when the counts match.

  --data-dir <dir>   where the agent's audit log and chunk store go (default: a new temp folder)
  --faults <rate>    make the server fail this share of requests (5xx/429/resets) to watch retries
  --findings <n>     size of the generated report (default 6000)
  --set <path=value> any agent option, e.g. --set resource.cpuThreshold=5 to watch jobs wait
  --progress <mode>  auto | tty | plain | quiet`;

const SAMPLE_TARGET = join(appRoot(), 'sample-target');

/** `rediver-agent demo`. */
export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    ...COMMON_OPTIONS,
    faults: { type: 'string' },
    findings: { type: 'string' },
  });
  if (values.help === true) {
    io.out.write(`${DEMO_HELP}\n`);
    return EXIT.ok;
  }
  const t0 = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'rediver-demo-'));
  const dataDir = values['data-dir'] ?? join(work, 'agent');
  const tenantId = 'demo-tenant';
  const apiKey = `rdv_demo_${randomBytes(12).toString('hex')}`;
  const faultRate = values.faults === undefined ? 0 : Number(values.faults);
  const findings = values.findings === undefined ? 6000 : Number(values.findings);
  if (!(faultRate >= 0 && faultRate < 1) || !Number.isInteger(findings) || findings < 1) {
    io.err.write('rediver-agent demo: --faults must be in [0, 1) and --findings a positive integer\n');
    return EXIT.usage;
  }
  const server = await startIngestServer({
    host: '127.0.0.1',
    port: 0,
    databasePath: join(work, 'ingest-server.db'),
    apiKeys: { [apiKey]: tenantId },
    faults:
      faultRate > 0
        ? {
            errorRate: faultRate * 0.6,
            rateLimitRate: faultRate * 0.2,
            resetRate: faultRate * 0.2,
            retryAfterSeconds: 1,
          }
        : {},
  });
  try {
    const sources = sourcesFrom(values, io.env);
    // The demo talks to its own server; the user's REDIVER_SERVER/API key do not apply.
    sources.flags = { ...sources.flags, server: server.url, apiKey, tenantId, dataDir };
    // Quick retries and pacing so the demo ends in seconds; --set still overrides these.
    sources.sets = [
      'chunk.uploadDelayMs=5',
      'chunk.maxConcurrentUploads=3',
      'chunk.retryBaseDelayMs=200',
      'chunk.retryMaxDelayMs=2000',
      'chunk.maxRetries=8',
      'pipeline.retryDelayMs=200',
      'pipeline.maxRetryDelayMs=2000',
      'pipeline.retryAttempts=8',
      'resource.sampleIntervalMs=500',
      'resource.cooldownMs=2000',
      'resource.maxConcurrentJobs=2',
      'audit.flushIntervalMs=500',
      ...(sources.sets ?? []),
    ];
    const config = await loadConfig(sources);
    config.deliveryStallTimeoutMs = Math.min(config.deliveryStallTimeoutMs, 45_000);
    const session = await openSession(config, io, {
      server: { url: server.url, apiKey },
      command: 'rediver-agent demo',
    });
    const { agent } = session;
    const say = (t: string): void => session.progress.line(t);
    say(
      `ingest server on ${server.url} (temp DB ${join(work, 'ingest-server.db')})${faultRate > 0 ? ` with ${Math.round(faultRate * 100)}% faults` : ''}`,
    );
    say(
      `scanning ${SAMPLE_TARGET} (planted FAKE secrets and insecure code) + a generated ${findings}-finding report`,
    );
    const jobs: Job[] = [
      { id: 'demo-secrets', type: 'scan', target: SAMPLE_TARGET, scanner: 'secretlint' },
      { id: 'demo-code', type: 'scan', target: SAMPLE_TARGET, scanner: 'code-patterns' },
      { id: 'demo-full', type: 'scan', target: SAMPLE_TARGET, scanner: 'secretlint,code-patterns' },
      { id: 'demo-large', type: 'scan', target: SAMPLE_TARGET, scanner: `synthetic:${findings}` },
    ];
    if (!(`synthetic:${findings}` in config.scannerDefs)) {
      config.scannerDefs[`synthetic:${findings}`] = {
        name: `synthetic:${findings}`,
        kind: 'synthetic',
        findings,
        assets: Math.max(201, Math.ceil(findings / 18)),
      };
    }
    let results: JobResult[] = [];
    let delivered = false;
    try {
      results = await Promise.all(jobs.map((j) => agent.runJob(j)));
      delivered = await agent.waitDelivered({
        stallTimeoutMs: config.deliveryStallTimeoutMs,
        signal: session.signal,
      });
    } finally {
      await session.close('demo finished');
    }
    const stats = server.stats(tenantId).tenants[0];
    const received = new Map((stats?.reports ?? []).map((r) => [r.reportId, r]));
    const c = agent.counters;
    const sent = [...agent.deliveries.values()];
    let mismatches = 0;
    const rows = sent.map((d) => {
      const r = received.get(d.reportId);
      const got = r?.findingsReceived ?? 0;
      const ok = d.state === 'delivered' && got === d.findings && (r?.complete ?? false);
      if (!ok) mismatches++;
      return `  ${ok ? '✓' : '✗'} ${d.reportId.padEnd(52)} ${d.route.padEnd(8)} sent ${String(d.findings).padStart(5)}  received ${String(got).padStart(5)}${d.totalChunks === undefined ? '' : `  in ${d.totalChunks} chunks`}`;
    });
    const sentFindings = sent.reduce((n, d) => n + d.findings, 0);
    const receivedFindings = stats?.totals.findingsReceived ?? 0;
    const st = agent.deps.resource.getStatus();
    const metrics = server.metrics() as unknown as Record<string, unknown>;
    const jobsOk = results.every((r) => r.outcome === 'completed');
    const ok = delivered && jobsOk && mismatches === 0 && receivedFindings === sentFindings;
    io.out.write(
      [
        '',
        `Rediver agent demo — ${ok ? 'OK' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        `jobs:       ${results.length} (${results.filter((r) => r.outcome === 'completed').length} completed, ${c.jobsThrottled} waited for a slot; max ${st.maxJobs} at once)`,
        `findings:   ${sentFindings} sent by the agent, ${receivedFindings} received by the server (${stats?.totals.findings ?? 0} distinct after upsert by fingerprint)`,
        `reports:    ${sent.length} (${sent.filter((d) => d.route === 'pipeline').length} through the pipeline, ${sent.filter((d) => d.route === 'chunks').length} in chunks)`,
        `chunks:     ${c.chunksUploaded}/${c.chunksTotal} uploaded, ${formatBytes(c.bytesUploaded)} on the wire (zstd), ${c.chunkRetries + c.uploadRetries} retries`,
        `throttling: ${c.throttleEvents} throttle event(s)${st.metrics === undefined ? '' : `; last sample CPU ${st.metrics.cpuPercent.toFixed(1)}%, memory ${st.metrics.memoryPercent.toFixed(1)}%`}`,
        ...(faultRate > 0 ? [`faults:     ${JSON.stringify(metrics.faults ?? metrics)}`] : []),
        'per report:',
        ...rows,
        `audit log:  ${agent.deps.audit.location}  (verify: rediver-agent audit verify ${join(dataDir, 'audit')})`,
        `data dir:   ${dataDir}`,
        '',
      ].join('\n'),
    );
    return ok ? EXIT.ok : EXIT.failed;
  } finally {
    await server.close();
  }
}
