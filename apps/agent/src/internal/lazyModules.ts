// Modules an idle daemon never uses, loaded on first use (issue 17: the idle footprint). Node's child_process
// alone is ~2 MB of RSS (it pulls in dgram, net handles and the IPC machinery), the streaming JSON parser and
// readline about 1 MB more; an agent that only polls for commands needs none of them until a job runs.
import { createRequire } from 'node:module';
import type * as ChildProcessModule from 'node:child_process';
import type * as ReadlineModule from 'node:readline';
import type * as StreamParserModule from '@streamparser/json';

const require = createRequire(import.meta.url);

let childProcess: typeof ChildProcessModule | undefined;
let readline: typeof ReadlineModule | undefined;
let streamParser: typeof StreamParserModule | undefined;

/** `node:child_process`, loaded at the first child the agent starts. */
export function childProcessModule(): typeof ChildProcessModule {
  return (childProcess ??= require('node:child_process') as typeof ChildProcessModule);
}

/** `node:readline`, loaded at the first spooled SARIF replay. */
export function readlineModule(): typeof ReadlineModule {
  return (readline ??= require('node:readline') as typeof ReadlineModule);
}

/** `@streamparser/json`, loaded at the first SARIF read. */
export async function streamParserModule(): Promise<typeof StreamParserModule> {
  return (streamParser ??= await import('@streamparser/json'));
}
