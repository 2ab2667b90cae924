/**
 * SARIF 2.1.0 → RIS. `openSarifReport` converts a scanner's SARIF file result by result in bounded memory;
 * `sarifToReport` converts a parsed log (small outputs, tests). Both use one conversion (`src/sarif/convert.ts`):
 * repository-relative paths (SARIF §3.10), fingerprints that survive line moves (`src/sarif/lineHash.ts`), secrets
 * masked in everything sent (`src/sarif/masking.ts`), failed runs visible, suppressions as the spec says.
 */
import type { SarifRegion } from './sarif/types';

export {
  cweOf,
  isSuppressed,
  SarifConverter,
  SECRET_TOOLS,
  severityFromLevel,
  severityFromScore,
  summaryForReport,
} from './sarif/convert';
export type {
  ReportHeader,
  RunInput,
  RunState,
  SarifConversionOptions,
  SarifNotificationSummary,
  SarifSummary,
} from './sarif/convert';
export { LineHashes, lineHashesOfText } from './sarif/lineHash';
export type { LineHashOptions } from './sarif/lineHash';
export { maskSecret, SecretMasker } from './sarif/masking';
export type { LineMasker, SecretMaskerOptions, TextPlace } from './sarif/masking';
export { readSarif } from './sarif/reader';
export type { SarifEvent, SarifReadOptions } from './sarif/reader';
export { collectSarifSecrets, openSarifReport, sarifToReport } from './sarif/report';
export type { OpenSarifReportOptions, SarifReportStream } from './sarif/report';
export { PathResolver, percentDecode } from './sarif/uri';
export type { PathContext, ResolvedPath } from './sarif/uri';
export type { SarifLog, SarifRegion, SarifResult, SarifRun } from './sarif/types';

/** Reads the text of a region of a file (bounded), for masking a secret's value (`readRegion` option). */
export function regionReader(
  readFile: (path: string) => string | undefined,
): (path: string, region: SarifRegion) => string | undefined {
  const cache = new Map<string, string[] | undefined>();
  return (path, region) => {
    if (!cache.has(path)) {
      if (cache.size > 64) cache.clear();
      cache.set(path, readFile(path)?.split(/\r\n|\r|\n/));
    }
    const lines = cache.get(path);
    if (lines === undefined || region.startLine === undefined) return undefined;
    const line = lines[region.startLine - 1];
    if (line === undefined) return undefined;
    const sameLine = region.endLine === undefined || region.endLine === region.startLine;
    const start = (region.startColumn ?? 1) - 1;
    const end = sameLine && region.endColumn !== undefined ? region.endColumn - 1 : line.length;
    return line.slice(start, end).slice(0, 512);
  };
}
