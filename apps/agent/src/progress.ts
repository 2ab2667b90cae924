import type { Agent } from './agent';
import type { ProgressMode } from './config';

/** Formats a byte count for people. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** A duration for people: `45s`, `3m05s`, `2h10m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function percent(done: number, total: number): string {
  return total > 0 ? ` (${Math.min(100, Math.floor((done / total) * 100))}%)` : '';
}

/**
 * One status line from the agent's counters: this run's chunks apart from the backlog kept by earlier runs (so
 * they add up), the upload concurrency limit, and with `live` (a terminal) the delivery rate and an ETA.
 */
export function statusLine(agent: Agent, live = false): string {
  const c = agent.counters;
  const st = agent.deps.resource.getStatus();
  const jobs = `jobs ${c.jobsRunning} running · ${c.jobsWaiting} waiting · ${c.jobsCompleted + c.jobsFailed} done${c.jobsFailed > 0 ? ` (${c.jobsFailed} failed)` : ''}`;
  const findings = `findings ${c.findingsFound} found · ${c.findingsDelivered} delivered`;
  const chunks = `chunks ${c.chunksUploaded}/${c.chunksTotal}${percent(c.chunksUploaded, c.chunksTotal)}`;
  const bytes = `${formatBytes(c.bytesUploaded)}/${formatBytes(Math.max(c.bytesTotal, c.bytesUploaded))}`;
  const backlog =
    c.backlogReports > 0
      ? ` │ backlog ${c.backlogChunksUploaded}/${c.backlogChunksTotal} chunks${percent(c.backlogChunksUploaded, c.backlogChunksTotal)} of ${c.backlogReports} earlier report(s)`
      : '';
  const d = agent.delivery;
  const limit = d.concurrencyLimit === undefined ? '' : ` │ ${d.concurrencyLimit} at once`;
  let speed = '';
  if (live) {
    const rate = d.chunksPerSecond();
    const left =
      d.outstandingChunks ??
      c.chunksTotal - c.chunksUploaded + c.backlogChunksTotal - c.backlogChunksUploaded;
    if (rate > 0)
      speed = ` · ${rate.toFixed(1)} chunks/s${left > 0 ? ` · ETA ${formatDuration((left / rate) * 1000)}` : ''}`;
  }
  const throttle = st.throttled ? ` │ THROTTLED ${st.throttleReason ?? ''}` : '';
  const retries =
    c.chunkRetries + c.uploadRetries > 0 ? ` │ retries ${c.chunkRetries + c.uploadRetries}` : '';
  return `${jobs} │ ${findings} │ ${chunks} · ${bytes}${speed}${backlog}${limit}${retries}${throttle}`;
}

/** A progress display: live on a terminal, plain lines otherwise, or nothing. */
export interface ProgressDisplay {
  /** Prints a line above the live display (or as a plain line). */
  line(text: string): void;
  /** Stops the display (leaves the last status on screen). */
  stop(): void;
}

/** Attaches a progress display to `agent`, writing to `stream` (default stderr). */
export function attachProgress(
  agent: Agent,
  mode: ProgressMode,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressDisplay {
  const live = mode === 'tty' || (mode === 'auto' && stream.isTTY === true && process.env.CI === undefined);
  if (mode === 'quiet') {
    return { line: () => {}, stop: () => {} };
  }
  if (!live) {
    let last = '';
    const onLine = (t: string): void => void stream.write(`${t}\n`);
    const onLineEvent = (e: { text: string }): void => onLine(e.text);
    // Plain mode: a status line when something changed, at most every 2 s. Driven by changes, not a timer: an
    // idle daemon is never woken for it.
    let lastAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const emit = (): void => {
      timer = undefined;
      lastAt = Date.now();
      const s = statusLine(agent);
      if (s !== last) {
        last = s;
        stream.write(`[progress] ${s}\n`);
      }
    };
    const onChange = (): void => {
      if (timer !== undefined) return;
      timer = setTimeout(emit, Math.max(0, lastAt + 2000 - Date.now()));
      timer.unref();
    };
    agent.on('agent:line', onLineEvent);
    agent.on('agent:changed', onChange);
    return {
      line: onLine,
      stop: () => {
        if (timer !== undefined) clearTimeout(timer);
        agent.off('agent:line', onLineEvent);
        agent.off('agent:changed', onChange);
        const s = statusLine(agent);
        if (s !== last) stream.write(`[progress] ${s}\n`);
      },
    };
  }
  let drawn = false;
  const clear = (): void => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (): void => {
    const width = stream.columns > 20 ? stream.columns - 1 : 159;
    const s = statusLine(agent, true);
    clear();
    stream.write(`\x1b[36m▶\x1b[0m ${s.length > width - 2 ? `${s.slice(0, width - 3)}…` : s}`);
    drawn = true;
  };
  const onLine = (t: string): void => {
    clear();
    stream.write(`${t}\n`);
    draw();
  };
  const onLineEvent = (e: { text: string }): void => onLine(e.text);
  let pending = false;
  const onChange = (): void => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      draw();
    }, 100).unref();
  };
  const timer = setInterval(draw, 500);
  timer.unref();
  agent.on('agent:line', onLineEvent);
  agent.on('agent:changed', onChange);
  draw();
  return {
    line: onLine,
    stop: () => {
      clearInterval(timer);
      agent.off('agent:line', onLineEvent);
      agent.off('agent:changed', onChange);
      draw();
      stream.write('\n');
      drawn = false;
    },
  };
}
