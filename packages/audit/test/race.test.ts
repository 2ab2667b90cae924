import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { AuditLogger } from '../src/index';
import { useTempDir } from '@rediver/testkit/vitest';

const tmp = useTempDir('rediver-audit-');

it('rotation never races retention and compression: no ENOENT, no .gz.tmp left', async () => {
  const errors: string[] = [];
  for (let run = 0; run < 3; run++) {
    const logger = new AuditLogger({
      logFile: join(tmp.path, 'audit.log'),
      maxSizeMB: 2048 / (1024 * 1024),
      compress: true,
      maxFiles: 2,
      bufferSize: 5,
    });
    logger.on('error', (e) => errors.push(`${e.operation}: ${e.error.message}`));
    for (let i = 0; i < 400; i++) {
      logger.info('scan_started', `event ${i} ${'x'.repeat(100)}`);
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await logger.close();
  }
  expect(errors).toEqual([]);
  const names = await readdir(tmp.path);
  expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  expect(names.filter((n) => /^audit\.\d{8}T\d{9}Z\.log(\.gz)?$/.test(n)).length).toBeLessThanOrEqual(2);
});
