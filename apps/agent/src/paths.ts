import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentConfig } from './config';

/** Paths inside the data folder: the audit log folder and file, and the chunk store. */
export function dataPaths(dataDir: string): { auditLog: string; auditDir: string; chunksDb: string } {
  return {
    auditDir: join(dataDir, 'audit'),
    auditLog: join(dataDir, 'audit', 'audit.log'),
    chunksDb: join(dataDir, 'chunks.db'),
  };
}

/** Where the chunk store is: `chunk.databasePath` if configured, else `<dataDir>/chunks.db`. */
export function chunkStorePath(config: Pick<AgentConfig, 'chunk' | 'dataDir'>): string {
  const configured = (config.chunk as { databasePath?: unknown }).databasePath;
  return typeof configured === 'string' ? configured : dataPaths(config.dataDir).chunksDb;
}

/** Where the audit log is: `audit.logFile` if configured, else `<dataDir>/audit/audit.log`. */
export function auditLogPath(config: Pick<AgentConfig, 'audit' | 'dataDir'>): string {
  const configured = (config.audit as { logFile?: unknown }).logFile;
  return typeof configured === 'string' ? configured : dataPaths(config.dataDir).auditLog;
}

let root: string | undefined;

/** The app's folder (holding `scanners/` and `sample-target/`), from sources or from a build. */
export function appRoot(): string {
  if (root !== undefined) return root;
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@rediver/agent'
    ) {
      root = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  root = join(import.meta.dirname, '..');
  return root;
}
