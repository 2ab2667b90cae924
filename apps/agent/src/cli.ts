#!/usr/bin/env node
// The `rediver-agent` executable. The commands live in `main.ts`, which the library entry shares: kept apart so
// that, in the split build, this file stays the process entry (see tsup.config.ts) and runs `main` only as one.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { EXIT } from './commands/common';
import { main } from './main';

export { main } from './main';

function isEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * A reader that went away (`rediver-agent status | head`) is not an error: what is left to print is dropped and
 * the command finishes as it would have (a daemon whose log pipe closed keeps running).
 */
function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    throw e;
  });
}

if (isEntry()) {
  // WebAssembly stays on V8's baseline compiler (Liftoff). The only wasm this process may run is llhttp, the HTTP
  // parser of Node's own fetch (the audit log's remote shipping; the platform client uses node:http). Its
  // optimising tier-up runs on a background thread whose malloc arena held ~32 MB for ~3 s (measured when the
  // client was on undici, with bench/e2e.ts and /proc/<pid>/smaps) and could stay resident for the life of the
  // daemon. The answers parsed are short. The executable only: a library user's process keeps its own flags.
  setFlagsFromString('--liftoff-only');
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  // Run through `pnpm --filter @rediver/agent agent …`, the script starts in apps/agent: relative paths a user
  // types (scan target, --config, --data-dir) mean their own folder, which the package manager gives as INIT_CWD.
  if (process.env.npm_lifecycle_event === 'agent' && process.env.INIT_CWD)
    process.chdir(process.env.INIT_CWD);
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
