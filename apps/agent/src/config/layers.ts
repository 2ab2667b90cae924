import { configError } from '../errors';
import { parseScalar } from './yaml';

/* Configuration layers (file, environment, flags), each a tree of values with where each came from; merged in order. */

export type Layer = { values: Record<string, unknown>; origin: Map<string, string> };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function setPath(layer: Layer, path: string, value: unknown, origin: string): void {
  // `scanners` is a mapping (caps, passEnv) whose `list` holds the scanners; a bare list is that `list`.
  if (path === 'scanners' && Array.isArray(value)) path = 'scanners.list';
  const parts = path.split('.');
  let node = layer.values;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isPlainObject(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
  layer.origin.set(path, origin);
}

export function flatten(prefix: string, value: unknown, out: Map<string, unknown>): void {
  if (isPlainObject(value) && prefix.split('.').length < 2) {
    for (const [k, v] of Object.entries(value)) flatten(prefix === '' ? k : `${prefix}.${k}`, v, out);
  } else {
    out.set(prefix, value);
  }
}

/** The command-line flag that sets a top-level field, for messages (`apiKey` is `--api-key`). */
const FLAG_NAMES: Readonly<Record<string, string>> = {
  apiKey: '--api-key',
  dataDir: '--data-dir',
  agentId: '--agent-id',
  tenantId: '--tenant-id',
  'scanners.list': '--scanner',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
};

/** The flag for a config path: its own flag when it has one, else the `--set` form. */
function flagName(path: string): string {
  return FLAG_NAMES[path] ?? `--${path}`;
}

export function flagLayer(flags: Readonly<Record<string, unknown>>, sets: readonly string[]): Layer {
  const layer: Layer = { values: {}, origin: new Map() };
  for (const [path, value] of Object.entries(flags)) {
    if (value !== undefined)
      setPath(
        layer,
        path === 'scanners' ? 'scanners.list' : path,
        value,
        `flag ${flagName(path === 'scanners' ? 'scanners.list' : path)}`,
      );
  }
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw configError(s, 'must be written path=value', 'flag --set');
    const path = s.slice(0, eq).trim();
    if (path.split('.').length > 2)
      throw configError(path, 'is nested too deep (use section.option)', 'flag --set');
    setPath(layer, path, parseScalar(s.slice(eq + 1)), `flag --set ${path}`);
  }
  return layer;
}

export function merge(layers: Layer[]): Layer {
  const out: Layer = { values: {}, origin: new Map() };
  for (const layer of layers) {
    const flat = new Map<string, unknown>();
    flatten('', layer.values, flat);
    for (const [path, value] of flat) setPath(out, path, value, layer.origin.get(path) ?? 'defaults');
  }
  return out;
}
