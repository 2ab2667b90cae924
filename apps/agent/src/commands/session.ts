import { AUDIT_EVENT_TYPES as T, isRediverError } from '@rediver/core';
import { DEFAULT_RESOURCE_CONTROLLER_OPTIONS } from '@rediver/resource';
import { Agent } from '../agent';
import type { AgentConfig } from '../config';
import type { AuditPort } from '../ports';
import { requirePlatform } from '../config';
import { detectCgroupPlacement } from '../internal/cgroupPlacement';
import type { CgroupPlacement } from '../internal/cgroupPlacement';
import { configureChildProcesses } from '../internal/childProcess';
import { defaultScannerCaps } from '../internal/containment';
import type { ScannerCaps } from '../internal/containment';
import { DataDirLock } from '../internal/dataDirLock';
import { registryDir, sweepLeftScanners } from '../internal/scannerRegistry';
import { announceSetAside, watchAuditWrites, watchStoreDamage } from '../internal/storeNotices';
import { attachProgress } from '../progress';
import type { ProgressDisplay } from '../progress';
import { createAgentDeps } from '../wiring';
import type { PackageHandles } from '../wiring';
import type { Io } from './common';
import { onSignals } from './common';

/** An agent with its progress display and signal handling. */
export interface Session {
  agent: Agent;
  progress: ProgressDisplay;
  /** Fires on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** The data dir's lock, held until `close`. */
  lock: DataDirLock;
  /** The packages behind the agent's ports (their stats). */
  handles: PackageHandles;
  /** How scanners are contained in this session. */
  containment: { caps: ScannerCaps; placement: CgroupPlacement | undefined };
  /** Which signal stopped the session, if any. */
  signalled(): NodeJS.Signals | undefined;
  /** Closes the agent (graceful) and detaches the display and signal handlers. */
  close(reason: string): Promise<void>;
}

/** How a session starts. */
export interface SessionOptions {
  /** The platform to use instead of `server`/`apiKey` from the configuration (the demo's local server). */
  server?: { url: string; apiKey: string };
  /** The command, as the lock file names it (e.g. `rediver-agent run`). */
  command?: string;
  /** Wait while another agent holds the data dir, instead of exiting. */
  waitLock?: boolean;
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

/**
 * Locks the data dir (one agent per data dir), builds the agent for `config` (audit first), stops the scanners a
 * killed agent left running, sets how scanners are contained, starts it, and wires signals to a graceful stop.
 */
export async function openSession(
  config: AgentConfig,
  io: Io,
  options: SessionOptions = {},
): Promise<Session> {
  const platform =
    options.server === undefined
      ? requirePlatform(config)
      : { server: options.server.url, apiKey: options.server.apiKey };
  const ac = new AbortController();
  let got: NodeJS.Signals | undefined;
  const detach = onSignals(io, (sig) => {
    got = sig;
    ac.abort();
  });
  const command = options.command ?? 'rediver-agent';
  let lock: DataDirLock;
  try {
    lock =
      options.waitLock === true
        ? await DataDirLock.acquireWaiting(config.dataDir, command, {
            signal: ac.signal,
            onWait: (holder) =>
              io.err.write(
                `rediver-agent: data dir ${config.dataDir} is in use by ${holder}; waiting for it\n`,
              ),
          })
        : DataDirLock.acquire(config.dataDir, command);
  } catch (e) {
    detach();
    throw e;
  }
  let deps: Awaited<ReturnType<typeof createAgentDeps>>;
  try {
    deps = await createAgentDeps(config, platform.server, platform.apiKey);
  } catch (e) {
    lock.release();
    detach();
    throw e;
  }
  showNewAuditKey(deps.audit.newKey, io);
  announceSetAside(deps.handles.chunks.store, deps.audit, (text) => io.err.write(`rediver-agent: ${text}\n`));
  const agent = new Agent(config, deps);
  const progress = attachProgress(agent, config.progress, io.err);
  const say = (text: string): void => agent.say(text);
  watchStoreDamage(deps.handles.chunks.events, deps.audit, say);
  watchAuditWrites(deps.handles.audit, deps.audit.location, say);
  agent.start();
  await deps.resource.ready?.();
  // The lock is ours: any scanner still recorded was left by an agent killed before it could stop it.
  for (const s of await sweepLeftScanners(registryDir(config.dataDir))) {
    deps.audit.log({
      type: T.resourceWarning,
      severity: 'WARN',
      message:
        s.stopped > 0
          ? `stopped scanner ${s.command} (pid ${s.pid}) left running by agent pid ${s.agentPid}, which ended without stopping it`
          : `cleaned up after scanner ${s.command} (pid ${s.pid}) of agent pid ${s.agentPid} (no longer running)`,
      details: { pid: s.pid, agent_pid: s.agentPid, processes_stopped: s.stopped, started_at: s.startedAt },
    });
  }
  const containment = scannerContainment(config, deps);
  configureChildProcesses({
    caps: containment.caps,
    ...(containment.placement === undefined ? {} : { placement: containment.placement }),
    registryDir: registryDir(config.dataDir),
    passEnv: config.scannerLimits.passEnv,
  });
  deps.audit.log({
    type: T.agentStart,
    severity: 'INFO',
    message: `scanners contained ${containment.placement === undefined ? 'by priority and the watchdog' : `in cgroups (v${containment.placement.version})`}: cpu ${containment.caps.maxCpuPercent}% of ${containment.caps.effectiveCpus} CPU(s), memory ${Math.round(containment.caps.maxMemoryBytes / 1048576)} MiB`,
    details: {
      contained_by:
        containment.placement === undefined ? 'watchdog' : `cgroup-v${containment.placement.version}`,
      max_cpu_percent: containment.caps.maxCpuPercent,
      max_memory_bytes: containment.caps.maxMemoryBytes,
    },
  });
  return {
    agent,
    progress,
    signal: ac.signal,
    lock,
    handles: deps.handles,
    containment,
    signalled: () => got,
    close: async (reason) => {
      try {
        await agent.close(got === undefined ? reason : `${got}`);
      } catch (e) {
        // Everything else is closed by then: the audit log's last lines could not reach a full disk. Said, not thrown
        // (the command's own exit code says what happened to the results).
        if (!isRediverError(e, 'DISK_FULL')) throw e;
        const st = deps.handles.audit.stats();
        io.err.write(
          `rediver-agent: ${Math.max(0, st.logged - st.written)} audit line(s) could not be written to ${deps.audit.location} and are lost: ${e.message}\n`,
        );
      } finally {
        progress.stop();
        detach();
        lock.release();
      }
    },
  };
}

/** The caps of every scanner (config, else derived from the resource thresholds) and where their cgroups go. */
function scannerContainment(
  config: AgentConfig,
  deps: Awaited<ReturnType<typeof createAgentDeps>>,
): Session['containment'] {
  const r = config.resource as { cpuThreshold?: number; memoryThreshold?: number };
  const m = deps.resource.metrics();
  const input: Parameters<typeof defaultScannerCaps>[0] = {
    cpuThreshold: r.cpuThreshold ?? DEFAULT_RESOURCE_CONTROLLER_OPTIONS.cpuThreshold,
    memoryThreshold: r.memoryThreshold ?? DEFAULT_RESOURCE_CONTROLLER_OPTIONS.memoryThreshold,
    maxConcurrentJobs: deps.resource.getStatus().maxJobs,
    maxCpuPercent: config.scannerLimits.maxCpuPercent,
    maxMemoryMB: config.scannerLimits.maxMemoryMB,
  };
  if (m !== undefined && m.effectiveCpus > 0) input.effectiveCpus = m.effectiveCpus;
  if (m !== undefined && m.memoryLimitBytes > 0) input.memoryLimitBytes = m.memoryLimitBytes;
  return {
    caps: defaultScannerCaps(input),
    placement: process.platform === 'linux' ? detectCgroupPlacement() : undefined,
  };
}
