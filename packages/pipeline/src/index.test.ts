import { readFileSync } from 'node:fs';
import * as core from '@rediver/core';
import { describe, expect, it } from 'vitest';
import * as api from './index';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = (title: string): string => {
  const start = readme.indexOf(`## ${title}`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};

describe('@rediver/pipeline', () => {
  it('exposes a semver version', () => {
    expect(api.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('handles its errors from this one import: core isRediverError, PRIORITY, documented codes', () => {
    expect(api.isRediverError).toBe(core.isRediverError);
    expect(api.PRIORITY).toBe(core.PRIORITY);
    const errors = section('Errors');
    for (const code of Object.values(api.PIPELINE_ERROR_CODES)) expect(errors).toContain(`| \`${code}\``);
    expect(api.isRediverError(new api.PipelineError('QUEUE_FULL', 'x'), 'QUEUE_FULL')).toBe(true);
  });

  it("documents each event's arguments with the types events.ts declares", () => {
    const events = readFileSync(new URL('./events.ts', import.meta.url), 'utf8');
    const rows = section('Events')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rows) {
      const [, name, args] = /^\| `([\w:]+)`\s*\|\s*([^|]*?)\s*\|/.exec(row) ?? [];
      const declared = new RegExp(`^  '?${name}'?: \\((.*)\\) => void;$`, 'm').exec(events)?.[1];
      expect(declared, `event ${name} in events.ts`).toBeDefined();
      // Every `name: Type` the README shows must be what events.ts declares.
      for (const [, param, type] of (args ?? '').matchAll(/`?(\w+): ([^`,]+)`?/g)) {
        expect(declared, `README ${name}`).toContain(`${param}: ${type?.trim()}`);
      }
    }
  });
});
