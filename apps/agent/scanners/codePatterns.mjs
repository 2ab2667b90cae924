#!/usr/bin/env node
// A tiny pattern-based code scanner bundled with the sample agent. It writes SARIF 2.1.0 on stdout, so the
// agent runs it through its generic SARIF adapter exactly as it would run semgrep, eslint or gitleaks.
// Usage: node codePatterns.mjs <folder>   (exit 1 when something is found, like most scanners)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const RULES = [
  {
    id: 'js-eval',
    name: 'Use of eval',
    re: /\beval\s*\(/,
    exts: ['.js', '.ts', '.mjs', '.cjs'],
    level: 'error',
    score: '8.8',
    cwe: 'CWE-95',
  },
  {
    id: 'js-exec-template',
    name: 'Shell command built from a template string',
    re: /\bexec(?:Sync)?\s*\(\s*`[^`]*\$\{/,
    exts: ['.js', '.ts', '.mjs', '.cjs'],
    level: 'error',
    score: '9.1',
    cwe: 'CWE-78',
  },
  {
    id: 'py-shell-true',
    name: 'subprocess call with shell=True',
    re: /subprocess\.\w+\(.*shell\s*=\s*True/,
    exts: ['.py'],
    level: 'error',
    score: '8.1',
    cwe: 'CWE-78',
  },
  {
    id: 'py-pickle-loads',
    name: 'Deserialisation of untrusted data with pickle',
    re: /\bpickle\.loads?\(/,
    exts: ['.py'],
    level: 'warning',
    score: '7.5',
    cwe: 'CWE-502',
  },
  {
    id: 'weak-hash-md5',
    name: 'MD5 used for integrity',
    re: /\bmd5\s*\(|hashlib\.md5|createHash\(\s*['"]md5['"]/i,
    exts: ['.py', '.js', '.ts'],
    level: 'warning',
    score: '5.3',
    cwe: 'CWE-328',
  },
  {
    id: 'sh-curl-pipe-shell',
    name: 'Remote script piped into a shell',
    re: /curl[^|\n]*\|\s*(?:ba)?sh\b/,
    exts: ['.sh'],
    level: 'warning',
    score: '6.5',
    cwe: 'CWE-494',
  },
  {
    id: 'sh-chmod-777',
    name: 'World-writable permissions',
    re: /chmod\s+(?:-R\s+)?777\b/,
    exts: ['.sh'],
    level: 'note',
    score: '3.7',
    cwe: 'CWE-732',
  },
];

const root = process.argv[2] ?? '.';
const results = [];
const SKIP = new Set(['node_modules', '.git', 'dist']);

function walk(dir, depth) {
  if (depth > 20) return;
  for (const name of readdirSync(dir).sort()) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, depth + 1);
    else if (st.isFile() && st.size < 1024 * 1024) scan(p);
  }
}

function scan(file) {
  const ext = file.slice(file.lastIndexOf('.'));
  const rules = RULES.filter((r) => r.exts.includes(ext));
  if (rules.length === 0) return;
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    for (const rule of rules) {
      const m = rule.re.exec(line);
      if (m === null) continue;
      results.push({
        ruleId: rule.id,
        ruleIndex: RULES.indexOf(rule),
        level: rule.level,
        message: { text: `${rule.name} (${rule.cwe})` },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: relative(root, file).split(sep).join('/'), uriBaseId: '%SRCROOT%' },
              region: {
                startLine: i + 1,
                startColumn: m.index + 1,
                endLine: i + 1,
                endColumn: m.index + m[0].length + 1,
                snippet: { text: line.trim() },
              },
            },
          },
        ],
      });
    }
  });
}

walk(root, 0);
const sarif = {
  $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
  version: '2.1.0',
  runs: [
    {
      tool: {
        driver: {
          name: 'code-patterns',
          version: '1.0.0',
          informationUri: 'https://github.com/rediverio/agent-sdk-ts/tree/main/apps/agent/scanners',
          rules: RULES.map((r) => ({
            id: r.id,
            name: r.name,
            shortDescription: { text: r.name },
            defaultConfiguration: { level: r.level },
            properties: { 'security-severity': r.score, tags: ['security', r.cwe] },
          })),
        },
      },
      results,
    },
  ],
};
process.stdout.write(JSON.stringify(sarif, null, 2) + '\n');
process.exitCode = results.length > 0 ? 1 : 0;
