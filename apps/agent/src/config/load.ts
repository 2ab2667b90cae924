import { configError } from '../errors';
import { fileLayer } from './fileLayer';
import { envLayer } from './envLayer';
import type { Layer } from './layers';
import { flagLayer, merge } from './layers';
import type { AgentConfig, ConfigSources } from './types';
import { validate } from './validation';
import { loadYaml, resetYamlWanted, yamlWasWanted } from './yaml';

/** Reads and validates the configuration: defaults < file < environment < flags. */
export async function loadConfig(sources: ConfigSources = {}): Promise<AgentConfig> {
  const env = sources.env ?? {};
  const file = sources.file ?? env.REDIVER_CONFIG;
  const layers: Layer[] = [];
  if (file !== undefined && file !== '') layers.push(await fileLayer(file));
  // Values of the environment and of `--set` are YAML scalars (numbers, booleans, lists): read again with the
  // parser when the first reading met one.
  resetYamlWanted();
  const rest = (): Layer[] => [envLayer(env), flagLayer(sources.flags ?? {}, sources.sets ?? [])];
  let later = rest();
  if (yamlWasWanted()) {
    await loadYaml();
    later = rest();
  }
  return validate(merge([...layers, ...later]));
}

/** Requires `server` and `apiKey` (for commands that talk to the platform). */
export function requirePlatform(config: AgentConfig): { server: string; apiKey: string } {
  if (config.server === undefined) {
    throw configError('server', 'is required (set --server, REDIVER_SERVER or `server:` in the config file)');
  }
  if (config.apiKey === undefined) {
    throw configError(
      'apiKey',
      'is required (set --api-key, REDIVER_API_KEY or `apiKey:` in the config file)',
    );
  }
  return { server: config.server, apiKey: config.apiKey };
}
