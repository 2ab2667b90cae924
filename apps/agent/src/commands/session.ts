import { Agent } from '../agent';
import type { AgentConfig } from '../config';
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

/** Builds the agent for `config` (audit first), starts it, and wires signals to a graceful stop. */
export async function openSession(
  config: AgentConfig,
  io: Io,
  server?: { url: string; apiKey: string },
): Promise<Session> {
  const platform =
    server === undefined ? requirePlatform(config) : { server: server.url, apiKey: server.apiKey };
  const deps = await createAgentDeps(config, platform.server, platform.apiKey);
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
