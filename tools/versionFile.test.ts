import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleVersionFiles, versionedPackages, versionSource } from './versionFile.mjs';

const ROOT = resolve(import.meta.dirname, '..');

describe('one version source per package', () => {
  it("every package's src/version.ts says what its package.json says", () => {
    const dirs = versionedPackages(ROOT);
    // The packages that report a version at run time (user agent, --version, heartbeats).
    expect(dirs.map((d) => d.slice(ROOT.length + 1))).toEqual([
      'apps/agent',
      'apps/ingest-server',
      'packages/chunk',
      'packages/client',
      'packages/pipeline',
      'packages/resource',
    ]);
    expect(staleVersionFiles(dirs)).toEqual([]);
  });

  it('finds a drifted file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'version-file-'));
    try {
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.2.3' }));
      writeFileSync(join(dir, 'src/version.ts'), versionSource('1.2.2'));
      expect(staleVersionFiles([dir]).map((s) => s.expected)).toEqual([versionSource('1.2.3')]);
      writeFileSync(join(dir, 'src/version.ts'), versionSource('1.2.3'));
      expect(staleVersionFiles([dir])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
