/**
 * Unknown-option detection shared by every package's options resolver (and the agent's config): a misspelt key
 * from JavaScript (`{ cpuTreshold: 50 }`) is refused with a hint instead of silently falling back to a default.
 * Pure functions, no state.
 */

/** Normalises a name for case-, dash- and underscore-insensitive matching (`MAX_SIZE_MB` ~ `maxSizeMB`). */
function squash(name: string): string {
  return name.replace(/[_-]/g, '').toLowerCase();
}

/** The known name closest to `name` within two edits (case, `_` and `-` ignored), if any: a typo hint. */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const a = squash(name);
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const b = squash(candidate);
    const row: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]!;
        row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    if (row[b.length]! < bestDistance) {
      bestDistance = row[b.length]!;
      best = candidate;
    }
  }
  return best;
}

/**
 * The names of every key of an options type `T`, from a record TypeScript checks for completeness: an option
 * added to `T` but not here is a compile error, so an unknown-key check built on the list never refuses a real
 * option. `optionNames<FooOptions>({ a: true, b: true })` → `['a', 'b']` (frozen).
 */
export function optionNames<T>(keys: Record<keyof T, true>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/** One key of an options object that the component does not know. */
export interface UnknownOption {
  /** The key as given. */
  readonly key: string;
  /** The closest known key, when one is within two edits. */
  readonly suggestion: string | undefined;
}

/**
 * The first own enumerable key of `options` that is not in `known`, with a did-you-mean hint; `undefined` when
 * every key is known. Keys whose value is `undefined` count too: `{ cpuTreshold: undefined }` is still a typo.
 */
export function findUnknownOption(options: object, known: readonly string[]): UnknownOption | undefined {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) return { key, suggestion: suggestName(key, known) };
  }
  return undefined;
}

/** The message for an unknown option: `"cpuTreshold" is not an option of ResourceController (did you mean cpuThreshold?)`. */
export function unknownOptionMessage(
  component: string,
  unknown: UnknownOption,
  known: readonly string[],
): string {
  const hint =
    unknown.suggestion === undefined
      ? ` (options: ${[...known].sort().join(', ')})`
      : ` (did you mean ${unknown.suggestion}?)`;
  return `${JSON.stringify(unknown.key)} is not an option of ${component}${hint}`;
}
