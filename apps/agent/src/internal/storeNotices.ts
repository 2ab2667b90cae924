import { AUDIT_EVENT_TYPES as T } from '@rediver/core';
import type { AuditLogger } from '@rediver/audit';
import type { ChunkManager, SetAsideFile } from '@rediver/chunk';
import type { AuditPort } from '../ports';

/*
 * What the agent tells the operator about its own storage, so that nothing is lost silently: a damaged chunk store set
 * aside at open, a store found damaged while running, an audit log the disk cannot take. Each is one line (said
 * once) and, where the audit log can take it, one audit line.
 */

/**
 * A damaged chunk store found at open was set aside by the store (kept as `<file>.corrupt-<time>`) and a fresh one
 * started: one line naming both files, and an audit line. Reports only in the damaged file are not delivered.
 */
export function announceSetAside(
  store: { readonly setAside: readonly SetAsideFile[] },
  audit: Pick<AuditPort, 'log'>,
  say: (text: string) => void,
): void {
  for (const f of store.setAside) {
    const message =
      `the chunk store ${f.path} was damaged (${f.reason}): moved aside to ${f.movedTo} (kept for forensics) ` +
      'and a fresh store started; reports only in the damaged file will not be delivered';
    audit.log({
      type: T.agentError,
      severity: 'ERROR',
      message,
      details: {
        store: f.path,
        moved_to: f.movedTo,
        reason: f.reason,
        set_aside_at: new Date(f.at).toISOString(),
      },
    });
    say(message);
  }
}

/** SQLite found the open store damaged while running (the package says it once): audited and said, once. */
export function watchStoreDamage(
  events: Pick<ChunkManager['events'], 'once'>,
  audit: Pick<AuditPort, 'log'>,
  say: (text: string) => void,
): void {
  events.once('store:corrupt', (e) => {
    const message =
      `the chunk store ${e.path} is damaged (${e.reason}): reports stored in it may not be delivered, and a report ` +
      'it cannot store is held in memory; the next start sets the file aside and starts a fresh store';
    audit.log({
      type: T.agentError,
      severity: 'CRITICAL',
      message,
      details: { store: e.path, reason: e.reason },
    });
    say(message);
  });
}

/** The audit log cannot be written (a full disk): said once; the logger keeps the lines and retries them. */
export function watchAuditWrites(
  logger: Pick<AuditLogger, 'on' | 'off'>,
  location: string,
  say: (text: string) => void,
): void {
  const onError = (e: { error: { code: string } }): void => {
    if (e.error.code !== 'DISK_FULL') return;
    logger.off('error', onError);
    say(
      `the audit log ${location} cannot be written (DISK_FULL): its lines are kept in memory and retried; free disk space`,
    );
  };
  logger.on('error', onError);
}
