import { readFile } from 'node:fs/promises';
import { isRediverError } from '@rediver/core';
import { AuditError } from '../auditError';
import type { AuditCheckpoint } from '../events';
import { parseCheckpoints, verifyAuditLog } from '../verifyAuditLog';
import type { AuditVerifyOptions } from '../verifyAuditLog';
import { expandPath } from './resolveOptions';

/** Output channels of the CLI. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `Usage: rediver-audit verify <dir|file> [--file <name>] [--key <key> | --key-file <file>]
                     [--secret-file <file>] [--checkpoint <seq:hash | file>] [--json]

  Verifies an audit log written with hashChain: true, and says which guarantees hold.
  <dir>          folder of the log (active file audit.log, or --file <name>); ~ is the home folder
  <file>         the active log file
  --key          a verification key (audit-key-v1:<id>:<hex>, shown once when the key was created):
                 every seal is checked; repeat for a replaced key. Prefer --key-file (argv is visible).
  --key-file     a file holding verification keys, one per line
  --secret-file  a file holding the operator secret the key was derived from (sealSecret)
  --checkpoint   a checkpoint kept off the host (seq:hash), or a file of them (seq:hash lines, or the
                 endpoint's audit_checkpoint lines / heartbeat bodies as JSON): truncation up to it is caught
  --json         print the result as JSON
Exit status: 0 intact, 1 problem found, 2 usage or read error.
`;

const CHECKPOINT_TEXT = /^\d{1,15}:[0-9a-f]{64}(:\d{1,15})?$/;

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Runs `rediver-audit` with `args` (without node and script); resolves with the exit status. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h') {
    io.out(USAGE);
    return 0;
  }
  if (command !== 'verify') {
    io.err(USAGE);
    return 2;
  }
  let target: string | undefined;
  let fileName: string | undefined;
  let json = false;
  const keys: string[] = [];
  const keyFiles: string[] = [];
  const secretFiles: string[] = [];
  const checkpointArgs: string[] = [];
  const valued: Record<string, string[]> = {
    '--key': keys,
    '--key-file': keyFiles,
    '--secret-file': secretFiles,
    '--checkpoint': checkpointArgs,
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--json') json = true;
    else if (a === '--file' || a in valued) {
      const v = rest[++i];
      if (v === undefined) {
        io.err(USAGE);
        return 2;
      }
      if (a === '--file') fileName = v;
      else valued[a]!.push(v);
    } else if (target === undefined && !a.startsWith('--')) target = a;
    else {
      io.err(USAGE);
      return 2;
    }
  }
  if (target === undefined) {
    io.err(USAGE);
    return 2;
  }
  try {
    for (const f of keyFiles) keys.push(...lines(await readFile(expandPath(f), 'utf8')));
    const secrets: string[] = [];
    for (const f of secretFiles) secrets.push(...lines(await readFile(expandPath(f), 'utf8')));
    const checkpoints: (AuditCheckpoint | string)[] = [];
    for (const c of checkpointArgs) {
      if (CHECKPOINT_TEXT.test(c)) checkpoints.push(c);
      else {
        const found = parseCheckpoints(await readFile(expandPath(c), 'utf8'));
        if (found.length === 0) {
          throw new AuditError('INVALID_OPTION', `no checkpoint (seq:hash) in ${c}`, {
            details: { option: 'checkpoint' },
          });
        }
        checkpoints.push(...found);
      }
    }
    const options: AuditVerifyOptions = { keys, secrets, checkpoints };
    if (fileName !== undefined) options.fileName = fileName;
    const result = await verifyAuditLog(target, options);
    if (json) io.out(JSON.stringify(result, null, 2) + '\n');
    else {
      if (result.ok) {
        const range =
          result.lines > 0 ? `, seq ${result.firstSeq}..${result.lastSeq}, last hash ${result.lastHash}` : '';
        io.out(`OK: chain intact: ${result.lines} lines in ${result.files.length} files${range}\n`);
      } else {
        const p = result.problem!;
        const seq = p.seq === undefined ? '' : ` (seq ${p.seq})`;
        io.out(`FAILED: ${p.kind} line at ${p.file}:${p.line}${seq}: ${p.message}\n`);
      }
      for (const g of result.ok ? result.guarantees : []) io.out(`  - ${g}\n`);
    }
    return result.ok ? 0 : 1;
  } catch (err) {
    io.err(`rediver-audit: ${isRediverError(err) ? err.message : String(err)}\n`);
    return 2;
  }
}
