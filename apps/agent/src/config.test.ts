import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRediverError } from '@rediver/core';
import {
  DEFAULT_AGENT_CONFIG,
  loadConfig,
  registerSectionKeys,
  requirePlatform,
  splitCommand,
} from './config';
import type { AgentError } from './errors';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function configError(p: Promise<unknown>): Promise<AgentError> {
  try {
    await p;
  } catch (e) {
    expect(isRediverError(e, 'CONFIG_INVALID')).toBe(true);
    return e as AgentError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('has defaults for everything but the platform', async () => {
    const c = await loadConfig({ env: { HOME: '/h' } });
    expect(c.server).toBeUndefined();
    expect(c.scanners).toEqual(['secretlint']);
    expect(c.scanTimeoutMs).toBe(DEFAULT_AGENT_CONFIG.scanTimeoutMs);
    expect(c.tenantId).toBe('default');
    expect(c.agentId).toMatch(/^agent-/);
    expect(c.pipeline).toEqual({});
    expect(() => requirePlatform(c)).toThrow(/server is required/);
  });

  it('layers file < environment < flags, nested sections included', async () => {
    const f = await file(
      'layers.yaml',
      [
        'server: https://file.example.com/',
        'apiKey: rdv_file',
        'dataDir: /tmp/from-file',
        'pipeline:',
        '  workers: 2',
        '  queueSize: 10',
        'resource:',
        '  cpuThreshold: 70',
      ].join('\n'),
    );
    const c = await loadConfig({
      file: f,
      env: {
        REDIVER_SERVER: 'http://env.example.com',
        REDIVER_PIPELINE__WORKERS: '4',
        REDIVER_TENANT_ID: 't-1',
      },
      flags: { dataDir: '/tmp/from-flag' },
      sets: ['resource.cpuThreshold=12.5', 'chunk.uploadDelayMs=0'],
    });
    expect(c.server).toBe('http://env.example.com');
    expect(c.apiKey).toBe('rdv_file');
    expect(c.dataDir).toBe('/tmp/from-flag');
    expect(c.tenantId).toBe('t-1');
    expect(c.pipeline).toEqual({ workers: 4, queueSize: 10 });
    expect(c.resource).toEqual({ cpuThreshold: 12.5 });
    expect(c.chunk).toEqual({ uploadDelayMs: 0 });
    expect(requirePlatform(c)).toEqual({ server: 'http://env.example.com', apiKey: 'rdv_file' });
  });

  it('reads JSON files and REDIVER_CONFIG', async () => {
    const f = await file(
      'c.json',
      JSON.stringify({ server: 'https://json.example.com', scanTimeoutMs: 5000 }),
    );
    const c = await loadConfig({ env: { REDIVER_CONFIG: f } });
    expect(c.server).toBe('https://json.example.com');
    expect(c.scanTimeoutMs).toBe(5000);
  });

  it('names the bad field and where it came from', async () => {
    const f = await file('bad.yaml', 'scanTimeoutMs: -5\n');
    const e = await configError(loadConfig({ file: f }));
    expect(e.field).toBe('scanTimeoutMs');
    expect(e.message).toContain('scanTimeoutMs');
    expect(e.message).toContain(f);
  });

  it.each([
    ['sever: https://x\n', 'sever', /did you mean server/],
    ['server: ftp://x\n', 'server', /http/],
    ['server: https://user:pw@x\n', 'server', /credentials/],
    ['pipeline: 5\n', 'pipeline', /mapping/],
    ['progress: fancy\n', 'progress', /auto, tty, plain, quiet/],
    ['scanners: [nosuch]\n', 'scanners[0]', /unknown scanner "nosuch"/],
    [
      'scanners: [{ name: x, command: "semgrep {target}", timeoutMs: 0 }]\n',
      'scanners[0].timeoutMs',
      /positive/,
    ],
    [
      'scanners: [{ name: x, command: "semgrep {target}", colour: red }]\n',
      'scanners[0].colour',
      /not a scanner option/,
    ],
    ['agentId: "has space"\n', 'agentId', /characters/],
    ['pollIntervalMs: 1.5\n', 'pollIntervalMs', /integer/],
    ['- a\n- b\n', '(root)', /mapping/],
  ])('refuses %j naming %s', async (text, field, msg) => {
    const e = await configError(loadConfig({ file: await file('x.yaml', text) }));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(msg);
  });

  it('refuses a broken file with its syntax error', async () => {
    const e = await configError(loadConfig({ file: await file('broken.json', '{"server": ') }));
    expect(e.message).toMatch(/broken\.json is not valid JSON/);
    const e2 = await configError(loadConfig({ file: join(dir, 'missing.yaml') }));
    expect(e2.message).toMatch(/cannot read config file/);
  });

  it('refuses unknown package options once the package registered its keys', async () => {
    registerSectionKeys('audit', ['maxSizeMB', 'bufferSize', 'logFile']);
    const e = await configError(loadConfig({ file: await file('a.yaml', 'audit:\n  bufferSise: 5\n') }));
    expect(e.field).toBe('audit.bufferSise');
    expect(e.message).toMatch(/did you mean bufferSize/);
    // Env names map onto registered keys whatever their case: MAX_SIZE_MB -> maxSizeMB.
    const c = await loadConfig({ env: { REDIVER_AUDIT__MAX_SIZE_MB: '7' } });
    expect(c.audit).toEqual({ maxSizeMB: 7 });
    const e2 = await configError(loadConfig({ env: { REDIVER_AUDIT__NOPE: '1' } }));
    expect(e2.field).toBe('audit.nope');
    expect(e2.message).toContain('REDIVER_AUDIT__NOPE');
    const e3 = await configError(loadConfig({ env: { REDIVER_PIPELIN__WORKERS: '1' } }));
    expect(e3.message).toMatch(/not a configuration section/);
  });

  it('accepts inline scanner commands and synthetic sizes', async () => {
    const c = await loadConfig({
      flags: { scanners: ['secretlint', 'semgrep --sarif "{target}"', 'synthetic:2500'] },
    });
    expect(c.scanners).toEqual(['secretlint', 'semgrep', 'synthetic:2500']);
    expect(c.scannerDefs.semgrep).toMatchObject({
      kind: 'sarif',
      command: ['semgrep', '--sarif', '{target}'],
    });
    expect(c.scannerDefs['synthetic:2500']).toMatchObject({ kind: 'synthetic', findings: 2500 });
    const e = await configError(loadConfig({ flags: { scanners: ['secretlint:5'] } }));
    expect(e.field).toBe('scanners[0]');
  });

  it('scanner entries: cwd, maxOutputMB, unique names, did-you-mean for unknown options', async () => {
    const c = await loadConfig({
      file: await file(
        'scanners.yaml',
        [
          'scanners:',
          '  - { name: lint, command: "npx eslint -o {output} {target}", cwd: "{target}", maxOutputMB: 512 }',
          '  - { command: "npx eslint -c b.mjs -o {output} {target}", cwd: tools }',
          '',
        ].join('\n'),
      ),
    });
    expect(c.scanners).toEqual(['lint', 'eslint']);
    expect(c.scannerDefs.lint).toMatchObject({ cwd: '{target}', maxOutputMB: 512 });
    expect(c.scannerDefs.eslint!.cwd).toBe(join(process.cwd(), 'tools'));
    for (const [text, field, msg] of [
      ['scanners: [{ command: "x {target}", cwdd: a }]\n', 'scanners[0].cwdd', /did you mean cwd/],
      ['scanners: [{ command: "x {target}", cwd: "" }]\n', 'scanners[0].cwd', /folder path/],
      ['scanners: [{ command: "x {target}", maxOutputMB: 0 }]\n', 'scanners[0].maxOutputMB', /positive/],
      [
        'scanners: [{ name: a, command: "x {target}" }, { name: a, command: "y {target}" }]\n',
        'scanners[1].name',
        /already the name/,
      ],
    ] as const) {
      const e = await configError(loadConfig({ file: await file('bad-scanner.yaml', text) }));
      expect(e.field).toBe(field);
      expect(e.message).toMatch(msg);
    }
  });

  it('rejects --set without a value separator', async () => {
    const e = await configError(loadConfig({ sets: ['pipeline.workers'] }));
    expect(e.message).toMatch(/path=value/);
  });
});

describe('loadConfig: bounds, secrets, names (issue 18)', () => {
  it.each([
    ['pollIntervalMs', 99_999_999_999],
    ['heartbeatIntervalMs', 3_600_001],
    ['scanTimeoutMs', 2 ** 31],
    ['deliveryTimeoutMs', 7 * 24 * 3_600_000 + 1],
    ['deliveryStallTimeoutMs', 7 * 24 * 3_600_000 + 1],
    ['shutdownTimeoutMs', 3_600_001],
  ])('refuses %s=%d (beyond its upper bound) instead of overflowing a timer', async (key, value) => {
    const e = await configError(loadConfig({ sets: [`${key}=${value}`] }));
    expect(e.field).toBe(key);
    expect(e.message).toMatch(/from \d+ to \d+/);
    // The bound itself is accepted.
    const max = {
      pollIntervalMs: 3_600_000,
      heartbeatIntervalMs: 3_600_000,
      scanTimeoutMs: 604_800_000,
      deliveryTimeoutMs: 604_800_000,
      deliveryStallTimeoutMs: 604_800_000,
      shutdownTimeoutMs: 3_600_000,
    }[key]!;
    const c = await loadConfig({ sets: [`${key}=${max}`] });
    expect(c[key as 'pollIntervalMs']).toBe(max);
  });

  it("refuses a package's duration option past Node's timer limit, and a scanner timeout past 7 days", async () => {
    const e = await configError(loadConfig({ sets: ['resource.sampleIntervalMs=99999999999'] }));
    expect(e.field).toBe('resource.sampleIntervalMs');
    expect(e.message).toMatch(/2147483647/);
    const e2 = await configError(loadConfig({ sets: ['chunk.cleanupIntervalMinutes=40000'] }));
    expect(e2.field).toBe('chunk.cleanupIntervalMinutes');
    const e3 = await configError(
      loadConfig({
        file: await file(
          't.yaml',
          'scanners:\n  - { name: slow, command: "x {target}", timeoutMs: 99999999999 }\n',
        ),
      }),
    );
    expect(e3.field).toBe('scanners.slow.timeoutMs');
  });

  it.each(['a/b', 'line\nbreak', 'has space', '', 'x'.repeat(129)])(
    'refuses tenantId %j',
    async (tenantId) => {
      const e = await configError(loadConfig({ flags: { tenantId: tenantId === '' ? 5 : tenantId } }));
      expect(e.field).toBe('tenantId');
    },
  );

  it('names the real flag (--api-key, --tenant-id) where a value came from', async () => {
    const e = await configError(loadConfig({ flags: { apiKey: 12345 } }));
    expect(e.message).toContain('flag --api-key');
    expect(e.message).not.toContain('--apiKey');
    // The value of a secret field is never echoed.
    expect(e.message).not.toContain('12345');
    const e2 = await configError(loadConfig({ flags: { tenantId: 'a/b' } }));
    expect(e2.message).toContain('flag --tenant-id');
  });

  const KEY = 'rdv_live_9f8e7d6c5b4a3928170f';
  it.each([
    ['broken.yaml', `server: https://x\napiKey: ${KEY}\n  bad: [indent\n`],
    ['quote.yaml', `server: https://x\napiKey: "${KEY}\nagentId: a\n`],
    ['single.yaml', `apiKey: '${KEY}\n`],
    ['flow.yaml', `{apiKey: ${KEY}, server: }}\n`],
    ['broken.json', `{"server": "https://x", "apiKey": "${KEY}" "agentId": "a"}`],
    ['token.json', `{"apiKey": ${KEY}}`],
    ['unterminated.json', `{"apiKey": "${KEY}`],
  ])('a syntax error in %s never echoes the line holding the key', async (name, text) => {
    const e = await configError(loadConfig({ file: await file(name, text) }));
    expect(e.message).toMatch(/is not valid (YAML|JSON)/);
    expect(e.message).not.toContain(KEY);
    expect(e.message).not.toContain(KEY.slice(0, 12));
    expect(e.cause).toBeUndefined();
    expect(JSON.stringify(e)).not.toContain(KEY.slice(0, 12));
  });

  it('says where the syntax error is', async () => {
    const e = await configError(
      loadConfig({ file: await file('where.yaml', 'server: https://x\napiKey: "abc\n') }),
    );
    expect(e.message).toMatch(/line \d+, column \d+/);
    const e2 = await configError(loadConfig({ file: await file('where.json', '{\n  "a": 1,\n  "b": x\n}') }));
    expect(e2.message).toMatch(/line 3, column/);
  });

  it('reads scanner caps and passEnv beside the list, from the file, the environment and --set', async () => {
    const f = await file(
      'caps.yaml',
      'scanners:\n  list: [secretlint, code-patterns]\n  maxMemoryMB: 512\n  passEnv: [SEMGREP_APP_TOKEN, JAVA_*]\n',
    );
    const c = await loadConfig({ file: f, env: { REDIVER_SCANNERS__MAX_CPU_PERCENT: '40' } });
    expect(c.scanners).toEqual(['secretlint', 'code-patterns']);
    expect(c.scannerLimits).toEqual({
      maxCpuPercent: 40,
      maxMemoryMB: 512,
      passEnv: ['SEMGREP_APP_TOKEN', 'JAVA_*'],
    });
    // A bare list (file or --scanner) is the list; caps set elsewhere stay.
    const c2 = await loadConfig({
      file: await file('list.yaml', 'scanners: [code-patterns]\n'),
      sets: ['scanners.maxMemoryMB=256'],
      flags: { scanners: ['secretlint'] },
    });
    expect(c2.scanners).toEqual(['secretlint']);
    expect(c2.scannerLimits.maxMemoryMB).toBe(256);
    expect((await loadConfig({})).scannerLimits).toEqual({
      maxCpuPercent: undefined,
      maxMemoryMB: undefined,
      passEnv: [],
    });
  });

  it.each([
    ['scanners.maxCpuPercent=0', 'scanners.maxCpuPercent'],
    ['scanners.maxCpuPercent=101', 'scanners.maxCpuPercent'],
    ['scanners.maxMemoryMB=8', 'scanners.maxMemoryMB'],
    ['scanners.passEnv=[REDIVER_API_KEY]', 'scanners.passEnv'],
    ['scanners.passEnv=[rediver_*]', 'scanners.passEnv'],
    ['scanners.maxMemMB=5', 'scanners.maxMemMB'],
  ])('refuses --set %s', async (set, field) => {
    const e = await configError(loadConfig({ sets: [set] }));
    expect(e.field).toBe(field);
  });

  it('metrics port and host', async () => {
    const c = await loadConfig({ flags: { metricsPort: 9464 } });
    expect(c).toMatchObject({ metricsPort: 9464, metricsHost: '127.0.0.1' });
    expect((await loadConfig({})).metricsPort).toBeUndefined();
    const e = await configError(loadConfig({ sets: ['metricsPort=70000'] }));
    expect(e.field).toBe('metricsPort');
  });
});

describe('splitCommand', () => {
  it('splits on spaces and keeps quoted groups', () => {
    expect(splitCommand(`eslint -f '@microsoft/eslint-formatter-sarif' "{target}/src dir"  x`)).toEqual([
      'eslint',
      '-f',
      '@microsoft/eslint-formatter-sarif',
      '{target}/src dir',
      'x',
    ]);
    expect(splitCommand(`a "" b`)).toEqual(['a', '', 'b']);
    expect(() => splitCommand(`a "b`)).toThrow(/unbalanced/);
  });
});

describe('deliveryStallTimeoutMs (issue 13)', () => {
  it('defaults to 120 s; its earlier name deliveryTimeoutMs sets it too; both with different values are refused', async () => {
    expect((await loadConfig({})).deliveryStallTimeoutMs).toBe(120_000);
    const old = await loadConfig({ sets: ['deliveryTimeoutMs=3000'] });
    expect(old).toMatchObject({ deliveryStallTimeoutMs: 3000, deliveryTimeoutMs: 3000 });
    const both = await loadConfig({ sets: ['deliveryTimeoutMs=3000', 'deliveryStallTimeoutMs=3000'] });
    expect(both.deliveryStallTimeoutMs).toBe(3000);
    const env = await loadConfig({ env: { REDIVER_DELIVERY_STALL_TIMEOUT_MS: '9000' } });
    expect(env.deliveryStallTimeoutMs).toBe(9000);
    const e = await configError(
      loadConfig({ sets: ['deliveryTimeoutMs=3000', 'deliveryStallTimeoutMs=4000'] }),
    );
    expect(e.field).toBe('deliveryTimeoutMs');
    expect(e.message).toMatch(/earlier name of deliveryStallTimeoutMs/);
  });

  it('reaches every chunk delivery option, the adaptive ones included', async () => {
    await import('./wiring'); // registers the packages' real option names
    const c = await loadConfig({
      sets: ['chunk.adaptive=false', 'chunk.maxConcurrentUploadsCeiling=12', 'chunk.maxConcurrentUploads=3'],
      env: { REDIVER_CHUNK__RETRY_MAX_DELAY_MS: '5000' },
    });
    expect(c.chunk).toMatchObject({
      adaptive: false,
      maxConcurrentUploadsCeiling: 12,
      maxConcurrentUploads: 3,
      retryMaxDelayMs: 5000,
    });
    const e = await configError(loadConfig({ sets: ['chunk.maxConcurentUploadsCeiling=12'] }));
    expect(e.message).toMatch(/did you mean maxConcurrentUploadsCeiling/);
  });
});
