import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { CommandTracker } from '../commandTracker';
import { formatBytes } from '../progress';
import type { Io } from './common';
import { COMMON_HELP, COMMON_OPTIONS, configFrom, EXIT, parse } from './common';
import { openSession } from './session';

/** Help of `scan`. */
export const SCAN_HELP = `Usage: rediver-agent scan <path> --server <url> --api-key <key> [--data-dir <dir>] [--scanner <name>]...

Runs one scan job on <path> (through the resource controller), delivers the reports (small ones
through the upload pipeline, large ones streamed into the chunk store while converted), and waits until
the server acknowledged everything — as long as acknowledgements keep coming; it gives up only after
deliveryStallTimeoutMs (default 120 s) without any.
Exit 0: everything acknowledged. Exit 3: delivery stalled (or a report was refused for good) — the reports
are kept in the data dir and delivered at the next start (scan, deliver or run). Exit 4: results were NOT
kept — a report could be neither stored in the data dir (full disk, damaged store) nor delivered; see the
audit log. Exit 1: the scan failed. Exit 2: usage.
${COMMON_HELP}`;

/** Help of `deliver`. */
export const DELIVER_HELP = `Usage: rediver-agent deliver [--server <url>] [--api-key <key>] [--data-dir <dir>] [--retry-failed]

Delivers what earlier runs left in the data dir's chunk store, then exits; waits while acknowledgements
come, gives up after deliveryStallTimeoutMs (default 120 s) without any. Dead letters (chunks the platform
refused for good) stay as they are unless --retry-failed re-sends them (after fixing the cause); those an
earlier version gave up on after transient errors are re-sent anyway. Exit 0 when nothing is left; 3 when
something is still pending or dead-lettered.
      --retry-failed      re-send every dead-lettered chunk
${COMMON_HELP}`;

/** `rediver-agent scan`. */
export async function scanCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, COMMON_OPTIONS, true);
  if (values.help === true) {
    io.out.write(`${SCAN_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    io.err.write(`rediver-agent scan: give exactly one path to scan (see --help)\n`);
    return EXIT.usage;
  }
  const config = await configFrom(values, io.env);
  const target = resolve(positionals[0]!);
  const session = await openSession(config, io, {
    command: 'rediver-agent scan',
    waitLock: values['wait-lock'] === true,
  });
  const { agent } = session;
  let code: number = EXIT.ok;
  try {
    await agent.resumeBacklog();
    // Platform commands an earlier `run` left waiting for their reports: told how they ended once they did.
    await new CommandTracker(agent, agent.deps.platform!, config.dataDir).resume();
    const job = {
      id: `local-${randomBytes(6).toString('hex')}`,
      type: 'scan',
      target,
      receivedAt: Date.now(),
    };
    const result = await agent.runJob(job);
    const delivered = await agent.waitDelivered({
      stallTimeoutMs: config.deliveryStallTimeoutMs,
      signal: session.signal,
    });
    if (result.outcome !== 'completed') code = EXIT.failed;
    else if (!delivered) code = EXIT.pending;
    else if ((await agent.settled()).failed > 0) code = EXIT.pending;
    await session.close('scan finished');
    const c = agent.counters;
    // A report neither stored nor delivered is lost, not "kept": its own exit code and lines, so a script can tell.
    if (agent.reportsNotKept > 0) code = EXIT.notKept;
    const kept = [...agent.deliveries.values()].filter((d) => d.state !== 'delivered' && d.notKept !== true);
    io.out.write(
      `scan ${result.outcome}: ${result.findingsCount} finding(s) in ${agent.deliveries.size} report(s); ` +
        `${c.reportsDelivered} delivered (${c.findingsDelivered} findings, ${c.chunksUploaded} chunk(s), ${formatBytes(c.bytesUploaded)})` +
        (c.backlogDelivered > 0 ? `; ${c.backlogDelivered} earlier report(s) delivered` : '') +
        '\n',
    );
    if (kept.length > 0) {
      io.out.write(
        `${kept.length} report(s) not acknowledged — kept in ${config.dataDir} for the next start:\n`,
      );
      for (const d of kept)
        io.out.write(`  ${d.reportId} (${d.state}${d.error === undefined ? '' : `: ${d.error}`})\n`);
    }
    for (const d of agent.deliveries.values())
      if (d.notKept === true)
        io.out.write(`  ${d.reportId}: ${d.error ?? 'NOT KEPT'} (${d.findings} findings lost)\n`);
    if (result.error !== undefined) io.err.write(`rediver-agent scan: ${result.error.message}\n`);
    io.out.write(`audit log: ${agent.deps.audit.location}\n`);
    return code;
  } catch (e) {
    await session.close('error').catch(() => {});
    throw e;
  }
}

/** `rediver-agent deliver`. */
export async function deliverCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { ...COMMON_OPTIONS, 'retry-failed': { type: 'boolean' } });
  if (values.help === true) {
    io.out.write(`${DELIVER_HELP}\n`);
    return EXIT.ok;
  }
  const config = await configFrom(values, io.env);
  const session = await openSession(config, io, {
    command: 'rediver-agent deliver',
    waitLock: values['wait-lock'] === true,
  });
  const { agent } = session;
  try {
    const { pending, requeued } = await agent.resumeBacklog({
      retryFailed: values['retry-failed'] === true,
    });
    await new CommandTracker(agent, agent.deps.platform!, config.dataDir).resume();
    const delivered = await agent.waitDelivered({
      stallTimeoutMs: config.deliveryStallTimeoutMs,
      signal: session.signal,
    });
    const left = await agent.deps.chunks.listReports();
    await session.close('deliver finished');
    io.out.write(
      `deliver: ${pending} report(s) found, ${requeued} chunk(s) re-queued, ${agent.counters.backlogDelivered} report(s) delivered, ${left.length} left\n`,
    );
    for (const r of left)
      io.out.write(
        `  ${r.reportId} ${r.status} ${r.uploadedChunks}/${r.totalChunks} chunks${r.lastError === undefined ? '' : ` (${r.lastError})`}\n`,
      );
    return delivered && left.length === 0 ? EXIT.ok : EXIT.pending;
  } catch (e) {
    await session.close('error').catch(() => {});
    throw e;
  }
}
