// Benchmark: `pnpm --filter @rediver/audit bench`. The same seed-shaped events (the spec's examples) written to
// files by the audit logger and by raw pino (pino.destination, async SonicBoom), in one process, alternating
// rounds; prints events/s for each, `ratio_chain=` (sealed chain, the default with hashChain), `ratio_plain_chain=`
// and finally `ratio=<audit/pino>` (without the chain). pino never fsyncs, so the throughput rounds run with
// `durableTypes: []` (like for like); what a durable event (written and fsync'd before the call returns) costs
// is measured on its own and printed as `durable_events_per_s=`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AUDIT_EVENT_TYPES } from '@rediver/core';
import type { AuditEventType, AuditSeverity } from '@rediver/core';
import { AuditLogger, verifyAuditLog } from '../src/index';

const EVENTS = Number(process.env.AUDIT_BENCH_EVENTS ?? 50_000);
const ROUNDS = Number(process.env.AUDIT_BENCH_ROUNDS ?? 7);
/** Producers yield to the event loop this often (an agent is not one synchronous loop), for both loggers alike. */
const YIELD_EVERY = 1000;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface SeedEvent {
  type: AuditEventType;
  severity: AuditSeverity;
  message: string;
  jobId: string;
  durationMs?: number;
  details: Record<string, unknown>;
}

const seeds: SeedEvent[] = [
  {
    type: AUDIT_EVENT_TYPES.jobStarted,
    severity: 'INFO',
    message: 'Starting scan',
    jobId: 'job-456',
    details: { target: '/path/to/project', tool: 'semgrep' },
  },
  {
    type: AUDIT_EVENT_TYPES.jobCompleted,
    severity: 'INFO',
    message: 'Job completed successfully',
    jobId: 'job-456',
    durationMs: 45000,
    details: { findings_count: 23, tool: 'semgrep' },
  },
  {
    type: AUDIT_EVENT_TYPES.chunkUploaded,
    severity: 'INFO',
    message: 'Chunk uploaded',
    jobId: 'job-457',
    details: { chunk_index: 3, total_chunks: 12, size_bytes: 1048576 },
  },
  {
    type: AUDIT_EVENT_TYPES.resourceThrottle,
    severity: 'WARN',
    message: 'Resource throttling activated',
    jobId: 'job-458',
    details: { reason: 'CPU 90% >= 85%', cpu: 90.5, memory: 61.2 },
  },
];

type Mode = 'none' | 'plain' | 'sealed';
/** The sealed log's verification key (given once, when its first round creates the key). */
let sealedKey = '';

async function runAudit(dir: string, mode: Mode): Promise<number> {
  const logger = new AuditLogger({
    agentId: 'agent-001',
    tenantId: 'tenant-123',
    logFile: join(dir, `audit-${mode}.log`),
    hashChain: mode !== 'none',
    seal: mode === 'sealed',
    durableTypes: [],
  });
  logger.on('key', (e) => (sealedKey = e.verificationKey));
  await logger.start();
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const s = seeds[i & 3]!;
    logger.log(s);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await tick();
  }
  await logger.close();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function runPino(dir: string): Promise<number> {
  const dest = pino.destination({ dest: join(dir, 'pino.log'), sync: false });
  await new Promise((resolve) => dest.once('ready', resolve));
  const logger = pino(dest);
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const s = seeds[i & 3]!;
    logger.info(
      {
        type: s.type,
        severity: s.severity,
        agent_id: 'agent-001',
        tenant_id: 'tenant-123',
        job_id: s.jobId,
        duration_ms: s.durationMs,
        details: s.details,
      },
      s.message,
    );
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await tick();
  }
  await new Promise<void>((resolve) => {
    dest.once('close', () => resolve());
    dest.end();
  });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Durable events (agent/job lifecycle): each written and fsync'd before the logging call returns. */
async function runDurable(dir: string, count: number): Promise<number> {
  const logger = new AuditLogger({ logFile: join(dir, 'audit-durable.log'), hashChain: true });
  await logger.start();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) logger.jobStarted(`job-${i}`, 'scan', { target: '/path/to/project' });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  await logger.close();
  return count / s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const times = { pino: [] as number[], audit: [] as number[], plain: [] as number[], chain: [] as number[] };
  let durable = 0;
  let verifySeconds = 0;
  let verifiedLines = 0;
  try {
    // One warm-up round each, then alternating measured rounds (same process, same disk).
    await runPino(dir);
    await runAudit(dir, 'none');
    await runAudit(dir, 'plain');
    await runAudit(dir, 'sealed');
    for (let r = 0; r < ROUNDS; r++) {
      times.pino.push(await runPino(dir));
      times.audit.push(await runAudit(dir, 'none'));
      times.plain.push(await runAudit(dir, 'plain'));
      times.chain.push(await runAudit(dir, 'sealed'));
    }
    durable = await runDurable(dir, 300);
    // Verifying what the sealed rounds wrote (every line hashed, every seal checked with the key).
    const start = process.hrtime.bigint();
    const result = await verifyAuditLog(join(dir, 'audit-sealed.log'), { keys: [sealedKey] });
    verifySeconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (!result.ok) throw new Error(`bench: the sealed log does not verify: ${result.problem?.message}`);
    verifiedLines = result.lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (ts: number[]): number => EVENTS / median(ts);
  const pinoRate = rate(times.pino);
  const auditRate = rate(times.audit);
  const chainRate = rate(times.chain);
  const plainRate = rate(times.plain);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  process.stdout.write(`events per round: ${EVENTS}, rounds: ${ROUNDS} (median)\n`);
  process.stdout.write(`raw pino (pino.destination async): ${fmt(pinoRate)} events/s\n`);
  process.stdout.write(`audit logger, no hash chain:       ${fmt(auditRate)} events/s\n`);
  process.stdout.write(`audit logger, plain hash chain:    ${fmt(plainRate)} events/s\n`);
  process.stdout.write(`audit logger, sealed hash chain:   ${fmt(chainRate)} events/s\n`);
  process.stdout.write(`durable_events_per_s=${Math.round(durable)}\n`);
  process.stdout.write(
    `verify_lines=${verifiedLines} verify_lines_per_s=${Math.round(verifiedLines / verifySeconds)}\n`,
  );
  process.stdout.write(`ratio_plain_chain=${(plainRate / pinoRate).toFixed(3)}\n`);
  process.stdout.write(`ratio_chain=${(chainRate / pinoRate).toFixed(3)}\n`);
  process.stdout.write(`ratio=${(auditRate / pinoRate).toFixed(3)}\n`);
}

await main();
