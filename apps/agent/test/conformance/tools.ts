// The conformance suite's real tools (dev dependencies of apps/agent) and its committed target, shared by the
// fixture regeneration script and the tests.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Report } from '@rediver/core';
import { builtinScanners } from '../../src/config';
import type { ScannerConfig } from '../../src/config';
import { repositoryAsset } from '../../src/repository';
import type { SarifConversionOptions } from '../../src/sarif';

export const APP = resolve(import.meta.dirname, '../..');
export const CONFORMANCE = join(APP, 'test/fixtures/conformance');
/** The committed target the fixtures are generated from. */
export const PROJECT = join(CONFORMANCE, 'project');
export const SARIF_DIR = join(CONFORMANCE, 'sarif');
export const GOLDEN_DIR = join(CONFORMANCE, 'golden');
export const EDGE_DIR = join(CONFORMANCE, 'edge');

/** The tools of the suite. */
export const TOOLS = ['eslint', 'jscpd', 'secretlint'] as const;
/** A tool of the suite. */
export type Tool = (typeof TOOLS)[number];

const require = createRequire(join(APP, 'package.json'));

function bin(name: string): string {
  return join(APP, 'node_modules', '.bin', name);
}

/**
 * Writes an ESLint 9 flat config next to `project` (security plugin, recommended rules, imported by absolute URL so
 * that a copy of the target anywhere works) and returns its path.
 */
export async function writeEslintConfig(dir: string): Promise<string> {
  const plugin = pathToFileURL(require.resolve('eslint-plugin-security')).href;
  const path = join(dir, 'eslint.config.mjs');
  await writeFile(
    path,
    `import security from ${JSON.stringify(plugin)};\nexport default [{ ignores: ['**/config/**'] }, security.configs.recommended];\n`,
  );
  return path;
}

/** The scanner definition of a tool, for a target whose parent folder holds the ESLint config. */
export function toolScanner(tool: Tool, eslintConfig: string, cwd: string): ScannerConfig {
  switch (tool) {
    case 'eslint':
      return {
        name: 'eslint',
        kind: 'sarif',
        command: [
          bin('eslint'),
          '-c',
          eslintConfig,
          '-f',
          '@microsoft/eslint-formatter-sarif',
          '-o',
          '{output}',
          '{target}',
        ],
        cwd,
        timeoutMs: 120_000,
      };
    case 'jscpd':
      return {
        name: 'jscpd',
        kind: 'sarif',
        command: [
          bin('jscpd'),
          '--reporters',
          'sarif',
          '--output',
          '{outputDir}',
          '--min-lines',
          '5',
          '--min-tokens',
          '30',
          '{target}',
        ],
        cwd,
        timeoutMs: 120_000,
      };
    case 'secretlint':
      return { ...builtinScanners().secretlint!, timeoutMs: 120_000 };
    default:
      throw new Error(`unknown tool ${String(tool)}`);
  }
}

/** A copy of the committed target in a temp folder (`<dir>/project`), with an ESLint config beside it. */
export async function copyProject(): Promise<{ dir: string; project: string; eslintConfig: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'conformance-'));
  const project = join(dir, 'project');
  await cp(PROJECT, project, { recursive: true });
  return { dir, project, eslintConfig: await writeEslintConfig(dir) };
}

const TOKEN = '__CONFORMANCE_PROJECT__';

/** Replaces the target's absolute path (as a file URI and as a path) by a placeholder, so fixtures are portable. */
export function normalizeSarif(text: string, project: string): string {
  const url = pathToFileURL(project).href;
  return text.replaceAll(url, `file:///${TOKEN}`).replaceAll(project, `/${TOKEN}`);
}

/** The inverse of `normalizeSarif` for a target at `project`. */
export function denormalizeSarif(text: string, project: string): string {
  return text.replaceAll(`file:///${TOKEN}`, pathToFileURL(project).href).replaceAll(`/${TOKEN}`, project);
}

/** Reads a committed SARIF fixture (`sarif/<name>.sarif` or `edge/<name>.sarif`) pointed at `project`. */
export async function fixtureText(path: string, project: string = PROJECT): Promise<string> {
  return denormalizeSarif(await readFile(path, 'utf8'), project);
}

/** Conversion options with fixed identity fields, paths relative to `project`. */
export function fixedOptions(project: string, scannerName: string): SarifConversionOptions {
  return {
    reportId: `conformance-${scannerName}`,
    target: project,
    root: project,
    cwd: join(project, '..'),
    asset: repositoryAsset({ path: '/conformance/project' }),
    scannerName,
    startedAt: new Date('2025-01-01T00:00:00Z'),
  };
}

/** A report as kept in a golden file (stable fields only). */
export function goldenOf(report: Pick<Report, 'metadata' | 'tool' | 'properties' | 'findings'>): unknown {
  return {
    metadata: report.metadata,
    tool: report.tool,
    properties: report.properties,
    findings: report.findings,
  };
}
