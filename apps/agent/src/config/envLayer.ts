import { configError } from '../errors';
import { TOP_LEVEL_KEYS, SCANNERS_KEYS } from './defaults';
import type { Layer } from './layers';
import { setPath } from './layers';
import { sectionKeysOf } from './registry';
import { PACKAGE_SECTIONS } from './types';
import { parseScalar } from './yaml';

/** Normalises a key for case- and underscore-insensitive matching (`MAX_SIZE_MB` ~ `maxSizeMB`). */
function squash(name: string): string {
  return name.replace(/[_-]/g, '').toLowerCase();
}

function camel(snake: string): string {
  return snake.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function matchKey<K extends string>(candidates: readonly K[], envName: string): K | undefined {
  const s = squash(envName);
  return candidates.find((k) => squash(k) === s);
}

const STRING_KEYS = new Set([
  'server',
  'apiKey',
  'agentId',
  'agentName',
  'tenantId',
  'region',
  'dataDir',
  'progress',
  'metricsHost',
]);

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer: Layer = { values: {}, origin: new Map() };
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('REDIVER_') || name === 'REDIVER_CONFIG') continue;
    const rest = name.slice('REDIVER_'.length);
    const origin = `environment variable ${name}`;
    const sep = rest.indexOf('__');
    if (sep > 0) {
      const optionEnv = rest.slice(sep + 2);
      if (squash(rest.slice(0, sep)) === 'scanners') {
        const option = matchKey(SCANNERS_KEYS, optionEnv);
        if (option === undefined) {
          throw configError(
            `scanners.${camel(optionEnv)}`,
            `is not an option of scanners (options: ${SCANNERS_KEYS.join(', ')})`,
            origin,
          );
        }
        const list = option === 'list' || option === 'passEnv';
        setPath(layer, `scanners.${option}`, list ? splitList(raw) : parseScalar(raw), origin);
        continue;
      }
      const section = matchKey(PACKAGE_SECTIONS, rest.slice(0, sep));
      if (section === undefined) {
        throw configError(rest.slice(0, sep).toLowerCase(), 'is not a configuration section', origin);
      }
      const known = sectionKeysOf(section);
      const option = known === undefined ? camel(optionEnv) : matchKey(known, optionEnv);
      if (option === undefined) {
        throw configError(`${section}.${camel(optionEnv)}`, `is not an option of ${section}`, origin);
      }
      setPath(layer, `${section}.${option}`, parseScalar(raw), origin);
      continue;
    }
    const key = matchKey(TOP_LEVEL_KEYS, rest);
    if (key === undefined || (PACKAGE_SECTIONS as readonly string[]).includes(key)) continue;
    const value = key === 'scanners' ? splitList(raw) : STRING_KEYS.has(key) ? raw : parseScalar(raw);
    setPath(layer, key, value, origin);
  }
  return layer;
}
