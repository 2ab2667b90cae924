import { readFileSync } from 'node:fs';
import * as core from '@rediver/core';
import { describe, expect, it } from 'vitest';
import * as api from './index';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('@rediver/client', () => {
  it('exposes a semver version', () => {
    expect(api.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('handles its errors from this one import: core isRediverError, every code in the Errors table', () => {
    expect(api.isRediverError).toBe(core.isRediverError);
    const table = readme.slice(
      readme.indexOf('## Errors'),
      readme.indexOf('\n## ', readme.indexOf('## Errors') + 1),
    );
    for (const code of Object.values(api.CLIENT_ERROR_CODES)) {
      const row = table.split('\n').find((line) => line.includes(`| \`${code}\``));
      expect(row, `Errors table row for ${code}`).toBeDefined();
      // The table's retryable column is core's default for the code.
      expect(row).toContain(new core.RediverError(code, 'x').retryable ? '| yes ' : '| no ');
    }
  });

  it("README code never swallows an error it cannot handle: each catch rethrows what it doesn't handle", () => {
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const catches = blocks.flatMap((code) => code.split('} catch (err) {').slice(1));
    expect(catches.length).toBeGreaterThan(0);
    for (const after of catches) expect(after.slice(0, after.indexOf('\n}'))).toContain('throw err');
  });
});
