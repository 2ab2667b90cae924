import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRediverError } from '@rediver/core';
import type { ChunkUploader } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import type { AgentError } from './errors';
import { createChunks, createPlatformClient } from './wiring';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rediver-wiring-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function configError(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (e) {
    if (isRediverError(e, 'CONFIG_INVALID')) return e as AgentError;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

const uploader: ChunkUploader = {
  uploadChunk: () => Promise.reject(new Error('not called')),
};

describe("package option errors name the config field from the package's details.option", () => {
  it('names the option the package refused, even when its message names another option too', async () => {
    // "retryMaxDelayMs must be >= retryBaseDelayMs (…)": both names are in the message; details.option says which.
    const config = await loadConfig({
      env: { HOME: dir },
      sets: [`dataDir=${dir}`, 'chunk.retryBaseDelayMs=5000', 'chunk.retryMaxDelayMs=100'],
    });
    const e = configError(() => createChunks(config, uploader));
    expect(e.field).toBe('chunk.retryMaxDelayMs');
    expect(e.message).toContain('retryMaxDelayMs must be >= retryBaseDelayMs (5000)');
  });

  it('reports options the agent fills from top-level fields under those fields', async () => {
    const config = await loadConfig({ env: { HOME: dir }, sets: [`dataDir=${dir}`] });
    expect(
      configError(() => createPlatformClient(config, 'ftp://example.test', 'rdv_0123456789')).field,
    ).toBe('server');
    expect(configError(() => createPlatformClient(config, 'http://127.0.0.1:1', 'short')).field).toBe(
      'apiKey',
    );
    const slow = await loadConfig({ env: { HOME: dir }, sets: [`dataDir=${dir}`, 'client.timeoutMs=0'] });
    const e = configError(() => createPlatformClient(slow, 'http://127.0.0.1:1', 'rdv_0123456789'));
    expect(e.field).toBe('client.timeoutMs');
  });

  it("still takes audit's deprecated retry option names from a config, and the new ones", async () => {
    const old = await loadConfig({ env: { HOME: dir }, sets: ['audit.remoteRetryBaseMs=5'] });
    expect(old.audit).toMatchObject({ remoteRetryBaseMs: 5 });
    const current = await loadConfig({ env: { HOME: dir }, sets: ['audit.remoteRetryBaseDelayMs=5'] });
    expect(current.audit).toMatchObject({ remoteRetryBaseDelayMs: 5 });
  });
});
