#!/usr/bin/env node
import { auditCommand, statusCommand } from './commands/status';
import { AUDIT_HELP, STATUS_HELP } from './commands/status';
import type { Io } from './commands/common';
import { EXIT, reportError } from './commands/common';
import { DEMO_HELP, demoCommand } from './commands/demo';
import { RUN_HELP, runCommand } from './commands/run';
import { DELIVER_HELP, deliverCommand, SCAN_HELP, scanCommand } from './commands/scan';
import { VERSION } from './version';

const HELP = `rediver-agent ${VERSION} — the Rediver sample agent

Usage: rediver-agent <command> [options]

Commands:
  demo                 start a local ingest server, scan the bundled sample target, deliver, compare counts
  scan <path>          one scan job: scan, deliver, exit 0 when the server acknowledged everything
  run                  the daemon: poll the platform for jobs, heartbeat, run until SIGINT/SIGTERM
  deliver              deliver what earlier runs kept in the data dir, then exit
  status               pending and dead-lettered reports, storage use, last audit events
  audit verify [dir]   check the audit log's hash chain

Run "rediver-agent <command> --help" for a command's options (configuration: file, REDIVER_* env, flags).`;

const COMMANDS: Record<string, { run: (args: string[], io: Io) => Promise<number>; help: string }> = {
  demo: { run: demoCommand, help: DEMO_HELP },
  scan: { run: scanCommand, help: SCAN_HELP },
  run: { run: runCommand, help: RUN_HELP },
  deliver: { run: deliverCommand, help: DELIVER_HELP },
  status: { run: statusCommand, help: STATUS_HELP },
  audit: { run: auditCommand, help: AUDIT_HELP },
};

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    io.out.write(`${topic !== undefined && COMMANDS[topic] !== undefined ? COMMANDS[topic].help : HELP}\n`);
    return cmd === undefined ? EXIT.usage : EXIT.ok;
  }
  if (cmd === '--version' || cmd === '-v') {
    io.out.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[cmd];
  if (command === undefined) {
    io.err.write(`rediver-agent: unknown command ${cmd}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    return reportError(io, e);
  }
}

const isEntry = process.argv[1] !== undefined && /cli\.(ts|js|mjs|cjs)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
      // Whatever still holds the loop (a keep-alive socket, a timer) must not keep a finished agent alive.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (e: unknown) => {
      process.stderr.write(`rediver-agent: ${String(e)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
