import { Agent } from '../agent';
import type { AgentConfig } from '../config';
import type { AuditPort } from '../internal/ports';
import { requirePlatform } from '../config';
import { attachProgress } from '../progress';
import type { ProgressDisplay } from '../progress';
import { createAgentDeps } from '../wiring';
import type { Io } from './common';
import { onSignals } from './common';

/** An agent with its progress display and signal handling. */
export interface Session {
  agent: Agent;
  progress: ProgressDisplay;
  /** Fires on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Which signal stopped the session, if any. */
  signalled(): NodeJS.Signals | undefined;
  /** Closes the agent (graceful) and detaches the display and signal handlers. */
  close(reason: string): Promise<void>;
}

/**
 * The audit log's verification key, shown once when this start created the sealing key (first start, or a lost
 * key file): it is written nowhere else, and the evolving key on the host cannot re-create it.
 */
function showNewAuditKey(key: AuditPort['newKey'], io: Io): void {
  if (key === undefined || key.derived) return;
  io.err.write(
    `\nrediver-agent: a new audit log sealing key was created${key.replaced ? ' (the previous key file was missing)' : ''}.\n` +
      `  Verification key (shown only now; keep it OFF this host, e.g. in your password manager):\n\n` +
      `    ${key.verificationKey}\n\n` +
      `  Check the log with: rediver-agent audit verify --key-file <file holding the key>\n\n`,
  );
}

/** Builds the agent for `config` (audit first), starts it, and wires signals to a graceful stop. */
export async function openSession(
  config: AgentConfig,
  io: Io,
  server?: { url: string; apiKey: string },
): Promise<Session> {
  const platform =
    server === undefined ? requirePlatform(config) : { server: server.url, apiKey: server.apiKey };
  const deps = await createAgentDeps(config, platform.server, platform.apiKey);
  showNewAuditKey(deps.audit.newKey, io);
  const agent = new Agent(config, deps);
  const progress = attachProgress(agent, config.progress, io.err);
  const ac = new AbortController();
  let got: NodeJS.Signals | undefined;
  const detach = onSignals(io, (sig) => {
    got = sig;
    ac.abort();
  });
  agent.start();
  await deps.resource.ready?.();
  return {
    agent,
    progress,
    signal: ac.signal,
    signalled: () => got,
    close: async (reason) => {
      try {
        await agent.close(got === undefined ? reason : `${got}`);
      } finally {
        progress.stop();
        detach();
      }
    },
  };
}
