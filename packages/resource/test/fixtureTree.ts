// Builds procfs/cgroupfs fixture trees for the tests: text files written where the kernel would have them.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The directory of the fixture files (real kernel output, trimmed). */
export const fixtures = new URL('./fixtures/', import.meta.url).pathname;

/** Writes `text` at `path`, creating its directories. */
export function put(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Copies fixture `name` to `path`, creating its directories. */
export function putFixture(path: string, name: string): void {
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(join(fixtures, name), path);
}
