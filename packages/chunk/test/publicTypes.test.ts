// Issue 15: users' `tsc --strict` fails with TS7016 when the published declarations import a package whose types
// are only a dev dependency here (@types/better-sqlite3). Builds the declarations as they are published and checks
// that every import in them is a dependency that ships its own types.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const packageDir = resolve(import.meta.dirname, '..');

describe('published declarations', () => {
  it('import no third-party types that users would have to install', () => {
    const out = mkdtempSync(join(tmpdir(), 'rediver-chunk-dts-'));
    try {
      const tsup = createRequire(join(packageDir, 'package.json')).resolve('tsup/dist/cli-default.js');
      // The package's own build config (tsup.config.ts: `--dts-only` would replace its dts options), into a scratch folder.
      execFileSync(process.execPath, [tsup, '--out-dir', out], { cwd: packageDir, stdio: 'pipe' });
      const dts = readFileSync(join(out, 'index.d.ts'), 'utf8');
      const imported = [...dts.matchAll(/^(?:import|export) .* from '([^']+)';$/gm)].map((m) => m[1]);
      expect(imported.length).toBeGreaterThan(0);
      // eventemitter3 is composed, not extended (issue 16): its types are no longer part of the public surface.
      expect(new Set(imported)).toEqual(new Set(['@rediver/core']));
      expect(dts).not.toMatch(/better-sqlite3['"]/);
      expect(dts).toMatch(/declare class ReportWriter/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
