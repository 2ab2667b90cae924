/** One human-readable console line from a serialised (already redacted) audit line. */
export function formatVerbose(line: string): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const parts = [String(e.timestamp), String(e.severity).padEnd(8), String(e.type)];
  if (typeof e.job_id === 'string') parts.push(`job=${e.job_id}`);
  if (typeof e.report_id === 'string') parts.push(`report=${e.report_id}`);
  parts.push(String(e.message));
  if (typeof e.duration_ms === 'number') parts.push(`(${e.duration_ms} ms)`);
  const err = e.error as { message?: string; code?: string } | undefined;
  if (err) parts.push(`error=${err.code ? `[${err.code}] ` : ''}${String(err.message)}`);
  if (e.details !== undefined) parts.push(JSON.stringify(e.details));
  return parts.join(' ') + '\n';
}
