// A generator of large, realistic SARIF 2.1.0 files (and, optionally, the source files they point at), written
// straight to disk so that neither the generator nor the file's size depends on memory. Used by the benches and by
// the bounded-memory tests.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

/** Options of `writeSyntheticSarif`. */
export interface SyntheticSarifOptions {
  /** Results to write. */
  results: number;
  /** Rules (default 50). */
  rules?: number;
  /** Distinct files the results point at (default 700). */
  files?: number;
  /** Lines per file (default 400). */
  linesPerFile?: number;
  /** Also write the source files under this folder (so fingerprints are computed from real content). */
  sourceRoot?: string;
  /** Every n-th result carries `partialFingerprints` (default 10; 0: none). */
  partialEvery?: number;
  /** Tool name (default `bench-scanner`). */
  toolName?: string;
}

const LEVELS = ['error', 'warning', 'note'] as const;

function rule(i: number): Record<string, unknown> {
  return {
    id: `bench/rule-${i}`,
    name: `BenchRule${i}`,
    shortDescription: { text: `Rule ${i}: untrusted data reaches a sensitive sink` },
    fullDescription: {
      text: `Rule ${i} reports places where data from an untrusted source flows into a sink that can be abused.`,
    },
    help: {
      text: `Validate or encode the value before it reaches the sink (rule ${i}).`,
      markdown: `**Fix:** validate or encode the value before it reaches the sink (rule ${i}).`,
    },
    helpUri: `https://example.com/rules/${i}`,
    defaultConfiguration: { level: LEVELS[i % 3] },
    properties: {
      'security-severity': String((i % 10) + 0.5),
      tags: ['security', `external/cwe/cwe-${[79, 89, 22, 78, 502][i % 5]}`],
    },
  };
}

/** The text of line `line` (1-based) of synthetic file `file`. */
export function syntheticLine(file: number, line: number): string {
  return `  const value${line} = sink${line % 17}(input${file}[${line}], "literal-${(file * 31 + line) % 97}");`;
}

function filePath(f: number): string {
  return `src/dir${f % 40}/file${f}.ts`;
}

/**
 * Writes a SARIF log of `results` results to `path`: 50 rules with descriptions, help, tags and CWE, locations
 * with regions and snippets, `partialFingerprints` on some results, `originalUriBaseIds`, and invocations after
 * the results (as ESLint writes them). Returns the size in bytes.
 */
export async function writeSyntheticSarif(path: string, options: SyntheticSarifOptions): Promise<number> {
  const nRules = options.rules ?? 50;
  const nFiles = options.files ?? 700;
  const lines = options.linesPerFile ?? 400;
  const partialEvery = options.partialEvery ?? 10;
  if (options.sourceRoot !== undefined) {
    for (let f = 0; f < nFiles; f++) {
      const p = join(options.sourceRoot, filePath(f));
      await mkdir(join(p, '..'), { recursive: true });
      const text: string[] = [];
      for (let l = 1; l <= lines; l++) text.push(syntheticLine(f, l));
      await writeFile(p, `${text.join('\n')}\n`);
    }
  }
  const out = createWriteStream(path);
  let bytes = 0;
  let buf = '';
  const flush = async (): Promise<void> => {
    if (buf === '') return;
    bytes += Buffer.byteLength(buf);
    if (!out.write(buf)) await once(out, 'drain');
    buf = '';
  };
  const rules = Array.from({ length: nRules }, (_, i) => rule(i));
  const base = options.sourceRoot === undefined ? 'file:///nonexistent/' : `file://${options.sourceRoot}/`;
  buf += `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":${JSON.stringify(options.toolName ?? 'bench-scanner')},"version":"1.0.0","informationUri":"https://example.com","rules":${JSON.stringify(rules)}}},"originalUriBaseIds":{"%SRCROOT%":{"uri":${JSON.stringify(base)}}},"results":[`;
  for (let i = 0; i < options.results; i++) {
    const f = (i * 7) % nFiles;
    const line = 1 + ((i * 13) % lines);
    const r = i % nRules;
    const result: Record<string, unknown> = {
      ruleId: `bench/rule-${r}`,
      ruleIndex: r,
      level: LEVELS[r % 3],
      message: { text: `Untrusted value reaches sink${line % 17} (result ${i}).` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: filePath(f), uriBaseId: '%SRCROOT%' },
            region: {
              startLine: line,
              startColumn: 3,
              endLine: line,
              endColumn: 40,
              snippet: { text: syntheticLine(f, line).trim() },
            },
          },
        },
      ],
    };
    if (partialEvery > 0 && i % partialEvery === 0)
      result.partialFingerprints = { primaryLocationLineHash: `${(i * 2654435761) % 2 ** 32}:1` };
    buf += (i === 0 ? '' : ',') + JSON.stringify(result);
    if (buf.length > 1 << 16) await flush();
  }
  buf += `],"invocations":[{"executionSuccessful":true,"toolExecutionNotifications":[]}]}]}\n`;
  await flush();
  out.end();
  await once(out, 'finish');
  return bytes;
}
