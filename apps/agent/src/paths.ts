import { join } from 'node:path';

/** Paths inside the data folder: the audit log folder and file, and the chunk store. */
export function dataPaths(dataDir: string): { auditLog: string; auditDir: string; chunksDb: string } {
  return {
    auditDir: join(dataDir, 'audit'),
    auditLog: join(dataDir, 'audit', 'audit.log'),
    chunksDb: join(dataDir, 'chunks.db'),
  };
}
