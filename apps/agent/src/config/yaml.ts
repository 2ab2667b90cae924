import type { parse as YamlParse } from 'yaml';

/**
 * The YAML parser, loaded by `loadConfig` only when something needs it (a YAML file, a `--set` or environment
 * value that is not a plain string): it adds about 8 MB to the daemon's RSS (measured by `bench:idle`).
 */
let parseYaml: typeof YamlParse | undefined;
/** Set when `parseScalar` met a value while the parser was not loaded (`loadConfig` then loads it and reads again). */
let yamlWanted = false;

export async function loadYaml(): Promise<typeof YamlParse> {
  return (parseYaml ??= (await import('yaml')).parse);
}

export function parseScalar(raw: string): unknown {
  if (parseYaml === undefined) {
    yamlWanted = true;
    return raw;
  }
  try {
    const v: unknown = parseYaml(raw);
    return v === null ? raw : v;
  } catch {
    return raw;
  }
}

/** Starts a reading: no value met so far needed the YAML parser. */
export function resetYamlWanted(): void {
  yamlWanted = false;
}

/** Whether a value read since `resetYamlWanted` needed the YAML parser while it was not loaded. */
export function yamlWasWanted(): boolean {
  return yamlWanted;
}
