/** The files of a `.tgz` made by `pnpm pack`/`npm pack`, by path inside the package (`package/` stripped). */
export function readTarball(path: string): Map<string, Buffer>;
/** What is wrong with a tarball's contents (empty: nothing). */
export function tarballProblems(files: Map<string, Buffer>, options?: { workspaceRoot?: string }): string[];
