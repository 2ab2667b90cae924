import { isRediverError } from '@rediver/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNK_STORE_OPTIONS, resolveChunkStoreOptions } from './options';
import type { ChunkStoreOptions } from './options';

describe('chunk store options', () => {
  it('defaults to the spec Chunk Manager Config table', () => {
    const MiB = 1024 * 1024;
    expect(DEFAULT_CHUNK_STORE_OPTIONS).toMatchObject({
      minFindingsForChunking: 2000,
      minAssetsForChunking: 200,
      minSizeForChunkingBytes: 5 * MiB,
      maxFindingsPerChunk: 500,
      maxAssetsPerChunk: 100,
      maxChunkSizeBytes: 2 * MiB,
      uploadDelayMs: 100,
      maxConcurrentUploads: 2,
      maxRetries: 3,
      databasePath: '~/.rediver/chunks.db',
      retentionHours: 24,
      maxStorageMB: 500,
      compressionLevel: 3,
      compressInWorker: true,
      autoCleanupOnUpload: true,
      cleanupOnReportComplete: true,
      cleanupIntervalMinutes: 15,
      aggressiveCleanup: true,
      whenFull: 'reject',
    });
    expect(Object.isFrozen(DEFAULT_CHUNK_STORE_OPTIONS)).toBe(true);
    expect(resolveChunkStoreOptions()).toEqual(DEFAULT_CHUNK_STORE_OPTIONS);
  });

  it('accepts compressionLevel 1 and 9 and refuses 0, 10 and 2.5', () => {
    expect(resolveChunkStoreOptions({ compressionLevel: 1 }).compressionLevel).toBe(1);
    expect(resolveChunkStoreOptions({ compressionLevel: 9 }).compressionLevel).toBe(9);
    for (const compressionLevel of [0, 10, 2.5]) {
      expect(() => resolveChunkStoreOptions({ compressionLevel })).toThrow(/compressionLevel/);
    }
  });

  it.each<[ChunkStoreOptions]>([
    [{ maxFindingsPerChunk: 0 }],
    [{ maxAssetsPerChunk: -1 }],
    [{ maxChunkSizeBytes: 1023 }],
    [{ maxChunkSizeBytes: 50 * 1024 * 1024 + 1 }],
    [{ maxStorageMB: 0 }],
    [{ retentionHours: Number.NaN }],
    [{ cleanupIntervalMinutes: -1 }],
    [{ whenFull: 'evict' as never }],
    [{ databasePath: '' }],
    [{ autoCleanupOnUpload: 'yes' as never }],
    [{ compressInWorker: 1 as never }],
    [{ maxConcurrentUploads: 0 }],
    [{ uploadDelayMs: -5 }],
  ])('refuses %o with INVALID_OPTION (never clamps)', (options) => {
    let err: unknown;
    try {
      resolveChunkStoreOptions(options);
    } catch (e) {
      err = e;
    }
    expect(isRediverError(err, 'INVALID_OPTION')).toBe(true);
  });

  it('keeps explicit valid values and ignores undefined ones', () => {
    const o = resolveChunkStoreOptions({
      maxChunkSizeBytes: 1024,
      whenFull: 'drop-oldest',
      retentionHours: undefined,
    });
    expect(o.maxChunkSizeBytes).toBe(1024);
    expect(o.whenFull).toBe('drop-oldest');
    expect(o.retentionHours).toBe(24);
  });

  it('refuses an unknown key with a did-you-mean, and accepts the manager-only keys (ignored by a store)', () => {
    let err: unknown;
    try {
      resolveChunkStoreOptions({ maxStorageMb: 10 } as unknown as ChunkStoreOptions);
    } catch (e) {
      err = e;
    }
    expect(isRediverError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as { details: { option: string } }).details.option).toBe('maxStorageMb');
    expect((err as Error).message).toMatch(/did you mean maxStorageMB\?/);
    const o = resolveChunkStoreOptions({
      retryBaseDelayMs: 5,
      adaptive: true,
    } as unknown as ChunkStoreOptions);
    expect(o).not.toHaveProperty('retryBaseDelayMs');
    expect(() => resolveChunkStoreOptions({ readOnly: 'yes' } as unknown as ChunkStoreOptions)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', details: { option: 'readOnly' } }),
    );
  });
});
