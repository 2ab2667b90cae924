// Regenerates the conformance fixtures: runs the real tools (ESLint 9 + eslint-plugin-security with the SARIF
// formatter, jscpd 5, the built-in secretlint) on the committed target `test/fixtures/conformance/project` through
// the agent's own scanner runner, writes their SARIF (absolute paths replaced by a placeholder) to
// `test/fixtures/conformance/sarif/`, and the RIS the agent makes of each to `golden/`. Also refreshes the goldens
// of the hand-written edge cases in `edge/`.
//   pnpm --filter @rediver/agent conformance:regenerate
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanSession } from '../../src/scanners';
import { sarifToReport } from '../../src/sarif';
import type { SarifLog } from '../../src/sarif';
import {
  CONFORMANCE,
  EDGE_DIR,
  fixedOptions,
  fixtureText,
  GOLDEN_DIR,
  goldenOf,
  normalizeSarif,
  PROJECT,
  SARIF_DIR,
  toolScanner,
  TOOLS,
  writeEslintConfig,
} from './tools';

async function main(): Promise<void> {
  await mkdir(SARIF_DIR, { recursive: true });
  await mkdir(GOLDEN_DIR, { recursive: true });
  const scratch = join(CONFORMANCE, '.regenerate');
  await mkdir(scratch, { recursive: true });
  try {
    const config = await writeEslintConfig(scratch);
    const session = await ScanSession.open(PROJECT, { repository: { path: PROJECT } });
    try {
      for (const tool of TOOLS) {
        const run = await session.run(toolScanner(tool, config, CONFORMANCE));
        const sarif = join(SARIF_DIR, `${tool}.sarif`);
        const text = normalizeSarif(await readFile(run.sarifFile!, 'utf8'), PROJECT);
        await writeFile(sarif, text.endsWith('\n') ? text : `${text}\n`);
        process.stdout.write(`${tool}: ${sarif}\n`);
      }
    } finally {
      await session.close();
    }
    const sources = [
      ...TOOLS.map((t) => ({ name: t, path: join(SARIF_DIR, `${t}.sarif`) })),
      ...(await readdir(EDGE_DIR))
        .filter((f) => f.endsWith('.sarif'))
        .map((f) => ({ name: f.replace(/\.sarif$/, ''), path: join(EDGE_DIR, f) })),
    ];
    for (const { name, path } of sources) {
      const text = (await fixtureText(path)).replace(/^\uFEFF/, '');
      const report = sarifToReport(JSON.parse(text) as SarifLog, fixedOptions(PROJECT, name));
      const golden = join(GOLDEN_DIR, `${name}.json`);
      await writeFile(golden, `${JSON.stringify(goldenOf(report), null, 2)}\n`);
      process.stdout.write(`${name}: ${report.findings?.length ?? 0} finding(s) → ${golden}\n`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
