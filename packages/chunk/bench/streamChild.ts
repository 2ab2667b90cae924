// Child process of bench/delivery.ts (bundled): `streamChild <dir> <findings>` streams a report of that many
// realistic findings (generated on the fly, never held) through `beginReport` into a fresh store with the default
// options, commits it, and prints one JSON line: its peak RSS during the submit, CPU and wall time.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '@rediver/core';
import { ChunkStore } from '../src/index';

const [dir, countArg] = process.argv.slice(2);
if (dir === undefined || countArg === undefined) throw new Error('usage: streamChild <dir> <findings>');
const count = Number(countArg);
const RULES = 50;

/** A finding shaped like a SARIF result converted by the agent: rule, location, snippet, fingerprints. */
function finding(i: number): Finding {
  const rule = i % RULES;
  return {
    type: 'vulnerability',
    title: `Rule ${rule}: possible injection through user input`,
    severity: (['critical', 'high', 'medium', 'low', 'info'] as const)[rule % 5]!,
    rule_id: `RULE-${rule}`,
    asset_ref: 'repo',
    fingerprint: `fp-${i.toString(36)}-${(i * 2654435761) % 4294967296}`,
    description: `User input reaches a sink without sanitisation (occurrence ${i}). See the rule documentation.`,
    location: {
      path: `src/module${i % 400}/file${i % 9000}.ts`,
      start_line: (i * 7) % 3000,
      end_line: ((i * 7) % 3000) + 4,
      snippet: `const q = "SELECT * FROM t WHERE id = " + req.query.id${i % 10}; // ${i}`,
    },
    ...(i % 3 === 0
      ? { properties: { partialFingerprints: { primaryLocationLineHash: `${i * 31}:1` } } }
      : {}),
  };
}

function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}
function peakBytes(): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
}

const store = new ChunkStore({
  databasePath: join(dir, `stream-${count}.db`),
  cleanupIntervalMinutes: 0,
  maxStorageMB: 8192,
});
const baseline = process.memoryUsage().rss;
resetPeak();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const writer = await store.beginReport({
  tenantId: 'bench',
  header: {
    version: '1.0',
    metadata: { id: `stream-${count}`, timestamp: '2026-01-15T10:30:00Z' },
    tool: { name: 'bench-sarif', version: '1' },
    assets: [{ id: 'repo', type: 'repository', value: 'github.com/acme/app' }],
  },
});
for (let i = 0; i < count; i++) await writer.addFinding(finding(i));
const res = await writer.commit();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const peak = peakBytes();
// Live heap after a full collection (with --expose-gc): what the writer keeps, as opposed to garbage V8 let grow.
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
await store.close();
process.stdout.write(
  `${JSON.stringify({ count, totalChunks: res.totalChunks, originalBytes: res.originalBytes, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes: peak, baselineRssBytes: baseline, heapTotal: mem.heapTotal, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers })}\n`,
);
