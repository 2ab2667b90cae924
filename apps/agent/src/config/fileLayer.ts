import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { AgentError, configError } from '../errors';
import type { Layer } from './layers';
import { flatten, isPlainObject, setPath } from './layers';
import { syntaxProblem } from './syntaxProblem';
import { loadYaml } from './yaml';

export async function fileLayer(file: string): Promise<Layer> {
  const origin = `config file ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new AgentError('CONFIG_INVALID', `invalid configuration: cannot read config file ${file}`, {
      cause,
      field: 'config',
    });
  }
  let parsed: unknown;
  const json = extname(file).toLowerCase() === '.json';
  try {
    // YAML is a superset of JSON; parse JSON files strictly so their errors point at JSON syntax.
    parsed = json ? JSON.parse(text) : (await loadYaml())(text);
  } catch (error) {
    // Never the parser's own message: YAML's carries a code frame and JSON's a quote of the text around the
    // error, and the line there may hold the API key. The location is enough to find it. No `cause` either.
    throw new AgentError(
      'CONFIG_INVALID',
      `invalid configuration: ${file} is not valid ${json ? 'JSON' : 'YAML'}: ${syntaxProblem(error, text, json)}`,
      { field: 'config' },
    );
  }
  if (parsed === null || parsed === undefined) parsed = {};
  if (!isPlainObject(parsed)) throw configError('(root)', 'must be a mapping of options', origin);
  const layer: Layer = { values: {}, origin: new Map() };
  const flat = new Map<string, unknown>();
  flatten('', parsed, flat);
  for (const [path, value] of flat) setPath(layer, path, value, origin);
  return layer;
}
