import type { Io } from './commands/common';
import { EXIT, reportError } from './commands/common';
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

type Command = (args: string[], io: Io) => Promise<number>;

// Loaded on demand: `--version` or `status` should not pay for fastify, the HTTP client and SQLite.
const COMMANDS: Record<string, () => Promise<Command>> = {
  demo: async () => (await import('./commands/demo')).demoCommand,
  scan: async () => (await import('./commands/scan')).scanCommand,
  run: async () => (await import('./commands/run')).runCommand,
  deliver: async () => (await import('./commands/scan')).deliverCommand,
  status: async () => (await import('./commands/status')).statusCommand,
  audit: async () => (await import('./commands/status')).auditCommand,
};

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  // `pnpm run agent -- scan x` passes the `--` through; it separates the runner's options, not ours.
  const [cmd, ...rest] = argv[0] === '--' ? argv.slice(1) : argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic] !== undefined)
      return (await COMMANDS[topic]())(['--help'], io);
    io.out.write(`${HELP}\n`);
    return cmd === undefined ? EXIT.usage : EXIT.ok;
  }
  if (cmd === '--version' || cmd === '-v') {
    io.out.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[cmd];
  if (load === undefined) {
    io.err.write(`rediver-agent: unknown command ${cmd}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  // Packages unref their timers (right for a library); the CLI must stay alive while a command waits on them.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    return await (
      await load()
    )(rest, io);
  } catch (e) {
    return reportError(io, e);
  } finally {
    clearInterval(keepAlive);
  }
}
