/*
 * The environment a scanner child gets: an allow-list, never the agent's whole environment. Scanners are
 * third-party tools, and a scanned repository's own configuration can make them run code: the agent's API key
 * (REDIVER_API_KEY), its other REDIVER_* settings and whatever secrets the agent's host put in its environment
 * stay with the agent.
 */

/**
 * Variables a scanner inherits from the agent when set: where programs are (PATH), whose they are (HOME, USER,
 * LOGNAME), language and time zone (LANG, LANGUAGE, LC_*, TZ), temp folders (TMPDIR, TMP, TEMP) and the CA
 * bundles a scanner downloading rules through a TLS-inspecting proxy needs (SSL_CERT_FILE, SSL_CERT_DIR,
 * NODE_EXTRA_CA_CERTS). Not NODE_OPTIONS: it is tuned for the agent (and may `--require` the agent's own code or
 * open an inspector port); Node-based scanners run with their defaults. Proxy variables are not passed (their
 * URLs may carry credentials): add them with `scanners.passEnv` when scanners need them.
 */
export const SCANNER_ENV_ALLOW: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
]);

const NEVER = /^REDIVER_/i;

function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * The environment of a scanner: the variables of `parent` named by `SCANNER_ENV_ALLOW` or `extra` (names, or
 * `PREFIX_*`), never a `REDIVER_*` one whatever `extra` says.
 */
export function scannerEnv(
  parent: Readonly<Record<string, string | undefined>>,
  extra: readonly string[] = [],
): Record<string, string> {
  const allow = [...SCANNER_ENV_ALLOW, ...extra];
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || NEVER.test(name)) continue;
    if (allow.some((p) => matches(name, p))) env[name] = value;
  }
  return env;
}
