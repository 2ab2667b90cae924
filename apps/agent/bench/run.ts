// Benchmark: `pnpm --filter @rediver/agent bench`. SARIF → RIS conversion (rules, severities, locations,
// fingerprints) against the anchor of a bare mapping of the same results (no hashing, no lookups), in one run.
import { performance } from 'node:perf_hooks';
import { repositoryAsset } from '../src/repository';
import { sarifToReport } from '../src/sarif';
import type { SarifLog } from '../src/sarif';

const N = 50_000;
const rules = Array.from({ length: 50 }, (_, i) => ({
  id: `rule-${i}`,
  shortDescription: { text: `Rule ${i}` },
  defaultConfiguration: { level: ['error', 'warning', 'note'][i % 3] },
  properties: { 'security-severity': String((i % 10) + 0.5), tags: ['security'] },
}));
const results = Array.from({ length: N }, (_, i) => ({
  ruleId: `rule-${i % 50}`,
  ruleIndex: i % 50,
  message: { text: `Finding ${i} in file ${i % 700}` },
  locations: [
    {
      physicalLocation: {
        artifactLocation: { uri: `src/dir${i % 40}/file${i % 700}.ts` },
        region: {
          startLine: (i % 400) + 1,
          startColumn: 3,
          endLine: (i % 400) + 1,
          endColumn: 40,
          snippet: { text: `call(${i})` },
        },
      },
    },
  ],
}));
const log: SarifLog = { version: '2.1.0', runs: [{ tool: { driver: { name: 'bench', rules } }, results }] };
const asset = repositoryAsset({ path: '/repo' });

function agent(): number {
  return sarifToReport(log, {
    reportId: 'bench-1',
    target: '/repo',
    asset,
    scannerName: 'bench',
    startedAt: new Date(),
  }).findings!.length;
}
function bare(): number {
  return log.runs![0]!.results!.map((r) => ({
    type: 'code',
    title: r.message?.text ?? '',
    severity: 'medium',
    rule_id: r.ruleId,
    location: {
      path: r.locations?.[0]?.physicalLocation?.artifactLocation?.uri,
      start_line: r.locations?.[0]?.physicalLocation?.region?.startLine,
    },
  })).length;
}

function measure(fn: () => number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return N / (times[3]! / 1000);
}

const a = measure(agent);
const b = measure(bare);
process.stdout.write(`sarif→ris (agent): ${Math.round(a).toLocaleString('en')} results/s\n`);
process.stdout.write(`bare mapping:      ${Math.round(b).toLocaleString('en')} results/s\n`);
process.stdout.write(`ratio=${(a / b).toFixed(3)}\n`);
