#!/usr/bin/env node
// Creates the standard package skeleton with the house conventions (CONTRIBUTING.md): an error class with its
// codes, options with frozen defaults and checks (unknown keys refused with a did-you-mean, invalid values
// INVALID_OPTION with `details.option`), typed single-payload `domain:verb` events on eventemitter3 (emit not
// public), and the lifecycle `start(): Promise<void>` / idempotent `close(): Promise<void>` / `Symbol.asyncDispose`,
// each with its tests.
//   node tools/generators/newPackage.mjs <name> [--app] [--description "..."] [--dir FOLDER]
// <name> is the folder name; the package is `@rediver/<name>` (apps are private). `--dir` writes it to
// FOLDER/<name> instead of packages/ or apps/ (FOLDER must sit directly in the workspace root: the generator's
// own test uses it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    app: { type: 'boolean', default: false },
    description: { type: 'string', default: '' },
    dir: { type: 'string' },
  },
});
const name = positionals[0];
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write(
    'usage: newPackage.mjs <name> [--app] [--description "..."] (name: lower-case, dashes)\n',
  );
  process.exit(2);
}
const isApp = values.app;
const dir = values.dir ? join(values.dir, name) : join(root, isApp ? 'apps' : 'packages', name);
if (existsSync(dir)) {
  process.stderr.write(`${dir} already exists\n`);
  process.exit(1);
}
const pkgName = `@rediver/${name}`;
const description = values.description || `Rediver agent SDK: ${name}.`;
/** `fooBar` → `FooBar`: the component's class name. */
const Pascal = name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c) => c.toUpperCase());
const camel = Pascal[0].toLowerCase() + Pascal.slice(1);
const UPPER = name.replace(/-/g, '_').toUpperCase();
const domain = name.replace(/-/g, '');

/** Package manifest: dual ESM/CJS exports with types for both, plus the source condition for tests. */
function manifest() {
  const exportsMap = {
    '.': {
      '@rediver/source': './src/index.ts',
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  };
  const pkg = {
    name: pkgName,
    version: '0.0.0',
    description,
    license: 'Apache-2.0',
    type: 'module',
    ...(isApp ? { private: true } : {}),
    sideEffects: false,
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.cts',
    exports: exportsMap,
    files: ['dist'],
    engines: { node: '>=20' },
    repository: {
      type: 'git',
      url: 'git+https://github.com/rediverio/agent-sdk-ts.git',
      directory: `${isApp ? 'apps' : 'packages'}/${name}`,
    },
    scripts: {
      build: 'tsup',
      typecheck: 'tsc -p tsconfig.json',
      lint: 'eslint --max-warnings=0 .',
      test: 'vitest run',
      bench: 'tsx --conditions=@rediver/source bench/run.ts',
      ...(isApp ? {} : { 'check:package': 'node ../../tools/checkPackage.mjs' }),
    },
    dependencies: name === 'core' ? undefined : { '@rediver/core': 'workspace:^', eventemitter3: '5.0.4' },
    devDependencies: { '@rediver/testkit': 'workspace:^' },
    publishConfig: isApp ? undefined : { access: 'public' },
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}

const files = {
  'package.json': manifest(),
  'tsconfig.json':
    JSON.stringify(
      { extends: '../../tsconfig.base.json', include: ['src', 'test', 'bench', '*.ts'] },
      null,
      2,
    ) + '\n',
  'tsup.config.ts': `import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

export default defineConfig(createTsupConfig());
`,
  'vitest.config.ts': `import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@rediver/source'] },
  ssr: { resolve: { conditions: ['@rediver/source'] } },
  // CI runs several projects at once on 2 cores: generous timeouts keep a loaded machine from failing a test.
  test: { name: '${pkgName}', environment: 'node', testTimeout: 30_000, hookTimeout: 30_000 },
});
`,
  // The quick start is run and type-checked by the pack-and-use check (tools/packAndUse): keep it runnable.
  'README.md': `# ${pkgName}

${description}

## Install

\`\`\`sh
pnpm add ${pkgName}
\`\`\`

## Use

<!-- quick-start -->

\`\`\`ts
import { ${Pascal} } from '${pkgName}';

const component = new ${Pascal}({ intervalMs: 1000 });
component
  .start()
  .then(() => component.close())
  .then(() => console.log('closed'));
\`\`\`

_Document the public API here._
`,
  'src/index.ts': `/** ${pkgName}: ${description} */
export { ${Pascal} } from './${camel}';
export { DEFAULT_${UPPER}_OPTIONS } from './options';
export type { ${Pascal}Options } from './options';
export type { ${Pascal}Events, ${Pascal}StartedEvent, ${Pascal}ErrorEvent } from './events';
export { ${Pascal}Error, ${UPPER}_ERROR_CODES } from './errors';
export type { ${Pascal}ErrorCode } from './errors';
export { isRediverError } from '@rediver/core';

/** Package version, for user agents and diagnostics. */
export const VERSION = '0.0.0';
`,
  'src/errors.ts': `import type { RediverErrorOptions } from '@rediver/core';
import { errorCodes, RediverError } from '@rediver/core';

/** The codes \`${pkgName}\` throws (the README's Errors table says when). */
export const ${UPPER}_ERROR_CODES = errorCodes('INVALID_OPTION', 'CLOSED');
/** A code \`${pkgName}\` throws. */
export type ${Pascal}ErrorCode = (typeof ${UPPER}_ERROR_CODES)[keyof typeof ${UPPER}_ERROR_CODES];

/**
 * The error class of \`${pkgName}\`, with one of \`${UPPER}_ERROR_CODES\`. Check with
 * \`isRediverError(err, 'CLOSED')\` (re-exported here), not \`instanceof\`.
 */
export class ${Pascal}Error extends RediverError {
  constructor(code: ${Pascal}ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = '${Pascal}Error';
  }
}
`,
  'src/options.ts': `import type { Logger } from '@rediver/core';
import { findUnknownOption, optionNames, silentLogger, unknownOptionMessage } from '@rediver/core';
import { ${Pascal}Error } from './errors';

/** Options of \`new ${Pascal}()\`. */
export interface ${Pascal}Options {
  /** How often the background work runs, ms; default 1000, between 10 and 3,600,000. */
  intervalMs?: number;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
}

/** Options after defaults are applied. */
export type Resolved${Pascal}Options = Readonly<Required<${Pascal}Options>>;

/** Defaults of \`new ${Pascal}()\`. */
export const DEFAULT_${UPPER}_OPTIONS: Readonly<Omit<Resolved${Pascal}Options, 'logger'>> = Object.freeze({
  intervalMs: 1000,
});

const KNOWN = optionNames<${Pascal}Options>({ intervalMs: true, logger: true });

function invalid(option: string, message: string): ${Pascal}Error {
  return new ${Pascal}Error('INVALID_OPTION', message, { details: { option } });
}

/**
 * Applies defaults and checks every value: an unknown key or an invalid value throws \`INVALID_OPTION\` with
 * \`details.option\` naming it (unknown keys with a did-you-mean).
 */
export function resolve${Pascal}Options(options: ${Pascal}Options = {}): Resolved${Pascal}Options {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'options must be an object');
  const unknown = findUnknownOption(options, KNOWN);
  if (unknown) throw invalid(unknown.key, unknownOptionMessage('${Pascal}', unknown, KNOWN));
  const intervalMs = options.intervalMs ?? DEFAULT_${UPPER}_OPTIONS.intervalMs;
  if (!Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000) {
    throw invalid('intervalMs', \`intervalMs must be a whole number of ms between 10 and 3600000, got \${String(intervalMs)}\`);
  }
  return Object.freeze({ intervalMs, logger: options.logger ?? silentLogger });
}
`,
  'src/events.ts': `import type { RediverError } from '@rediver/core';

/** \`${domain}:started\`: the component runs. */
export interface ${Pascal}StartedEvent {
  readonly intervalMs: number;
}

/** \`${domain}:error\`: a background failure (the one way this package reports them). */
export interface ${Pascal}ErrorEvent {
  readonly error: RediverError;
}

/** The events of \`${Pascal}\`: one payload each, named \`domain:verb\`. */
export interface ${Pascal}Events {
  '${domain}:started': (event: ${Pascal}StartedEvent) => void;
  '${domain}:closed': () => void;
  '${domain}:error': (event: ${Pascal}ErrorEvent) => void;
}
`,
  [`src/${camel}.ts`]: `import { EventEmitter } from 'eventemitter3';
import { ${Pascal}Error } from './errors';
import type { ${Pascal}Events } from './events';
import { resolve${Pascal}Options } from './options';
import type { ${Pascal}Options, Resolved${Pascal}Options } from './options';

/**
 * Lifecycle: \`new ${Pascal}(options)\` only checks options (no I/O, no timers); \`await start()\` begins the work;
 * \`await close()\` ends it, is idempotent and is what \`await using\` calls.
 */
export class ${Pascal} {
  readonly options: Resolved${Pascal}Options;
  // Listening is public, emitting is not: only this class says what happened.
  readonly #events = new EventEmitter<${Pascal}Events>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(options: ${Pascal}Options = {}) {
    this.options = resolve${Pascal}Options(options);
  }

  /** Listens to an event. */
  on<E extends keyof ${Pascal}Events>(event: E, listener: ${Pascal}Events[E]): this {
    this.#events.on(event, listener as never);
    return this;
  }

  /** Stops listening. */
  off<E extends keyof ${Pascal}Events>(event: E, listener: ${Pascal}Events[E]): this {
    this.#events.off(event, listener as never);
    return this;
  }

  /** Starts the background work; idempotent while running. Rejects with \`CLOSED\` after \`close()\`. */
  async start(): Promise<void> {
    if (this.#closing) throw new ${Pascal}Error('CLOSED', '${Pascal} is closed');
    if (this.#started) return;
    this.#started = true;
    // An idle background timer: it must not keep the process alive.
    this.#timer = setInterval(() => undefined, this.options.intervalMs);
    this.#timer.unref();
    this.#events.emit('${domain}:started', { intervalMs: this.options.intervalMs });
  }

  /** Stops the work and releases everything; idempotent (every call gets the same promise). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#events.emit('${domain}:closed');
      this.#events.removeAllListeners();
    })();
    return this.#closing;
  }

  /** \`await using x = new ${Pascal}()\` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
`,
  [`src/${camel}.test.ts`]: `import { isRediverError } from '@rediver/core';
import { describe, expect, it } from 'vitest';
import { ${Pascal} } from './index';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('${Pascal} options', () => {
  it('applies frozen defaults', () => {
    expect(new ${Pascal}().options).toMatchObject({ intervalMs: 1000 });
    expect(Object.isFrozen(new ${Pascal}().options)).toBe(true);
  });

  it('refuses an unknown key with a did-you-mean, naming it in details.option', () => {
    const err = caught(() => new ${Pascal}({ intervalMS: 5 } as never));
    expect(isRediverError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain('did you mean intervalMs?');
    expect((err as { details?: { option?: string } }).details?.option).toBe('intervalMS');
  });

  it.each([9, 3_600_001, 1.5, Number.NaN])('refuses intervalMs %s at and past its edges', (intervalMs) => {
    const err = caught(() => new ${Pascal}({ intervalMs }));
    expect(isRediverError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as { details?: { option?: string } }).details?.option).toBe('intervalMs');
  });

  it('accepts intervalMs at its edges', () => {
    expect(new ${Pascal}({ intervalMs: 10 }).options.intervalMs).toBe(10);
    expect(new ${Pascal}({ intervalMs: 3_600_000 }).options.intervalMs).toBe(3_600_000);
  });
});

describe('${Pascal} lifecycle', () => {
  it('starts, says so once, and closes idempotently', async () => {
    const c = new ${Pascal}({ intervalMs: 50 });
    const seen: string[] = [];
    c.on('${domain}:started', (e) => seen.push(\`started \${e.intervalMs}\`));
    c.on('${domain}:closed', () => seen.push('closed'));
    await c.start();
    await c.start();
    const first = c.close();
    expect(c.close()).toBe(first);
    await first;
    expect(seen).toEqual(['started 50', 'closed']);
  });

  it('refuses start() after close() with CLOSED', async () => {
    const c = new ${Pascal}();
    await c.close();
    await expect(c.start()).rejects.toSatisfy((err: unknown) => isRediverError(err, 'CLOSED'));
  });

  it('closes at the end of an await using scope', async () => {
    let closed = false;
    {
      const c = new ${Pascal}();
      c.on('${domain}:closed', () => (closed = true));
      await c.start();
      await c[Symbol.asyncDispose]();
    }
    expect(closed).toBe(true);
  });

  it('does not expose emit', () => {
    expect('emit' in new ${Pascal}()).toBe(false);
  });
});
`,
  'bench/run.ts': `// Benchmark entry: \`pnpm --filter ${pkgName} bench\`. Prints a ratio against the issue's anchor.
process.stdout.write('no benchmark yet\\n');
`,
};

for (const [rel, content] of Object.entries(files)) {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
// In the house style whatever the names' lengths (prettier is a root devDependency).
const prettier = join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
if (existsSync(prettier)) {
  spawnSync(
    process.execPath,
    [prettier, '--write', '--log-level=warn', '--ignore-path', join(root, '.prettierignore'), dir],
    { cwd: root, stdio: 'inherit' },
  );
}
process.stdout.write(`created ${pkgName} in ${dir}\nnext: pnpm install\n`);
