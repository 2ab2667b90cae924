// @rediver/core has no behaviour worth timing beyond the report id check, which sits on every
// chunk's hot path: measured against a bare regex test as the anchor.
import { isValidReportId, REPORT_ID_PATTERN } from '../src/index';

const ids = Array.from({ length: 1000 }, (_, i) => `scan-${i}-${'x'.repeat(i % 200)}`);
function time(fn: (id: string) => boolean): number {
  const start = process.hrtime.bigint();
  let ok = 0;
  for (let r = 0; r < 2000; r++) for (const id of ids) if (fn(id)) ok++;
  if (ok === 0) throw new Error('unexpected');
  return Number(process.hrtime.bigint() - start) / 1e6;
}
time(isValidReportId);
const core = time(isValidReportId);
const bare = time((id) => REPORT_ID_PATTERN.test(id));
process.stdout.write(
  `isValidReportId ${core.toFixed(1)} ms, bare regex ${bare.toFixed(1)} ms\nratio=${(bare / core).toFixed(2)}\n`,
);
