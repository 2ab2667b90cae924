/** The contents of `src/version.ts` for `version`. */
export function versionSource(version: string): string;
/** Package directories (absolute) that have a `src/version.ts`. */
export function versionedPackages(root?: string): string[];
/** Each package directory whose `src/version.ts` differs from its package.json. */
export function staleVersionFiles(
  dirs: readonly string[],
): { file: string; expected: string; actual: string }[];
