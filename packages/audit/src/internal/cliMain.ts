import { isRediverError } from '@rediver/core';
import { verifyAuditLog } from '../verifyAuditLog';

/** Output channels of the CLI. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `Usage: rediver-audit verify <dir|file> [--file <name>] [--json]

  Verifies the hash chain of an audit log written with hashChain: true.
  <dir>        folder of the log (active file audit.log, or --file <name>)
  <file>       the active log file
  --json       print the result as JSON
Exit status: 0 intact, 1 problem found, 2 usage or read error.
`;

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
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--json') json = true;
    else if (a === '--file') fileName = rest[++i];
    else if (target === undefined && !a.startsWith('--')) target = a;
    else {
      io.err(USAGE);
      return 2;
    }
  }
  if (target === undefined || (rest.includes('--file') && fileName === undefined)) {
    io.err(USAGE);
    return 2;
  }
  try {
    const result = await verifyAuditLog(target, fileName === undefined ? {} : { fileName });
    if (json) io.out(JSON.stringify(result, null, 2) + '\n');
    else if (result.ok) {
      const range =
        result.lines > 0 ? `, seq ${result.firstSeq}..${result.lastSeq}, last hash ${result.lastHash}` : '';
      io.out(`OK: chain intact: ${result.lines} lines in ${result.files.length} files${range}\n`);
    } else {
      const p = result.problem!;
      io.out(`FAILED: ${p.kind} line at ${p.file}:${p.line}: ${p.message}\n`);
    }
    return result.ok ? 0 : 1;
  } catch (err) {
    io.err(`rediver-audit: ${isRediverError(err) ? err.message : String(err)}\n`);
    return 2;
  }
}
