// Scanning at real size and with real secrets, through the CLI and a real ingest server on loopback:
// - no raw secret of any built-in token family reaches the server, inside any scanner's snippet or message
//   (issue 18), with the secret scanner in the scan and without it (patterns alone);
// - the built-in secretlint on 30 files holding 6,000 secrets: all 6,000 delivered (issue 13).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IngestServer } from '@rediver/ingest-server';
import { tempDir } from '@rediver/testkit';
import { agentArgs, runCli, startServer, TENANT, totals, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();

async function setup(): Promise<{ dir: string; server: IngestServer }> {
  const dir = tempDir('agent-scan-e2e-');
  cleanups.push(dir.cleanup);
  const server = await startServer(dir.path);
  cleanups.push(() => server.close());
  return { dir: dir.path, server };
}

const alnum = (n: number): string => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(n), (b) => abc[b % abc.length]).join('');
};
const upperDigits = (n: number): string =>
  Array.from(randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
const hex = (n: number): string =>
  randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);

/** One made-up value of every token family the built-in rules know (and a few more), fresh per run. */
function tokens(): Record<string, string> {
  return {
    github: `ghp_${alnum(36)}`,
    githubFineGrained: `github_pat_${alnum(22)}_${alnum(59)}`,
    slackBot: `xoxb-${hex(12)}-${hex(13)}-${alnum(24)}`,
    slackUser: `xoxp-${hex(12)}-${hex(12)}-${hex(13)}-${hex(32)}`,
    awsKeyId: `AKIA${upperDigits(16)}`,
    rediver: `rdv_${alnum(32)}`,
    npm: `npm_${alnum(36)}`,
    gitlab: `glpat-${alnum(20)}`,
    stripe: `sk_live_${alnum(24)}`,
    google: `AIza${alnum(35)}`,
    sendgrid: `SG.${alnum(22)}.${alnum(43)}`,
    shopify: `shpat_${hex(32)}`,
    anthropic: `sk-ant-api03-${alnum(93)}AA`,
    linear: `lin_api_${alnum(40)}`,
    jwt: `eyJ${alnum(20)}.eyJ${alnum(30)}.${alnum(43)}`,
    dbPassword: `Pw${alnum(18)}`,
    basicAuth: `Ba${alnum(14)}`,
    privateKeyBody: `MIIEpAIBAAKCAQEA${alnum(48)}`,
  };
}

/** A target whose code lines (flagged by code-patterns, with snippets) hold every token. */
async function plant(target: string, t: Record<string, string>): Promise<void> {
  await mkdir(join(target, 'src'), { recursive: true });
  const lines = Object.entries(t)
    .filter(([k]) => !['dbPassword', 'basicAuth', 'privateKeyBody'].includes(k))
    .map(([k, v]) => `const ${k} = eval("${v}");`);
  lines.push(`const db = eval("postgres://app:${t.dbPassword}@db.internal:5432/app");`);
  lines.push(`const site = eval("https://deploy:${t.basicAuth}@example.com/hook");`);
  lines.push(
    `const key = eval("-----BEGIN RSA PRIVATE KEY-----\\n${t.privateKeyBody}\\n-----END RSA PRIVATE KEY-----");`,
  );
  await writeFile(join(target, 'src', 'app.js'), `${lines.join('\n')}\n`);
  await writeFile(
    join(target, 'deploy.env'),
    `GITHUB_TOKEN=${t.github}\nSLACK_TOKEN=${t.slackBot}\nAWS_ACCESS_KEY_ID=${t.awsKeyId}\n`,
  );
}

/** Every byte the server stored (database and write-ahead log). */
function serverBytes(dir: string): string {
  return ['server.db', 'server.db-wal']
    .map((f) => join(dir, f))
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString('latin1'))
    .join('\n');
}

describe('secrets never leave the host (real processes, real server)', () => {
  it.each([
    ['with the secret scanner in the scan', ['secretlint', 'code-patterns']],
    ['with patterns alone', ['code-patterns']],
  ])('a snippet with a token from each built-in family never reaches the server, %s', async (_, scanners) => {
    const { dir, server } = await setup();
    const target = join(dir, 'target');
    const t = tokens();
    await plant(target, t);
    const r = await runCli([
      'scan',
      target,
      ...agentArgs(server, join(dir, 'agent')),
      ...scanners.flatMap((s) => ['--scanner', s]),
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const stored = server.db
      .prepare('SELECT data FROM findings WHERE tenant_id = ?')
      .all(TENANT)
      .map(
        (row) =>
          JSON.parse((row as { data: string }).data) as { rule_id: string; location?: { snippet?: string } },
      );
    const evals = stored.filter((f) => f.rule_id === 'js-eval');
    // Every planted line arrived, with its (masked) snippet.
    expect(evals).toHaveLength(Object.keys(t).length - 3 + 3);
    expect(evals.every((f) => (f.location?.snippet ?? '').includes('*'))).toBe(true);
    await server.close();
    const bytes = serverBytes(dir);
    const audit = await readFile(join(dir, 'agent', 'audit', 'audit.log'), 'utf8');
    for (const [family, value] of Object.entries(t)) {
      expect(bytes.includes(value), `${family} reached the server`).toBe(false);
      expect(audit.includes(value), `${family} is in the audit log`).toBe(false);
    }
  });
});

describe('the built-in secretlint at size (issue 13)', () => {
  it('30 files with 6,000 secrets: all 6,000 delivered', async () => {
    const { dir, server } = await setup();
    const target = join(dir, 'many');
    await mkdir(target, { recursive: true });
    const planted = new Set<string>();
    for (let f = 0; f < 30; f++) {
      const lines: string[] = [];
      for (let i = 0; i < 200; i++) {
        const v = i % 2 === 0 ? `ghp_${alnum(36)}` : `xoxb-${hex(12)}-${hex(13)}-${alnum(24)}`;
        planted.add(v);
        lines.push(`TOKEN_${f}_${i}=${v}`);
      }
      await writeFile(join(target, `secrets-${f}.env`), `${lines.join('\n')}\n`);
    }
    expect(planted.size).toBe(6000);
    const r = await runCli(
      [
        'scan',
        target,
        ...agentArgs(server, join(dir, 'agent')),
        '--scanner',
        'secretlint',
        '--set',
        'deliveryTimeoutMs=240000',
      ],
      {},
      300_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('6000 finding(s)');
    const t = totals(server);
    expect(t.findingsReceived).toBe(6000);
    expect(t.findings).toBe(6000);
    const count = server.db
      .prepare("SELECT count(*) AS n FROM findings WHERE tenant_id = ? AND type = 'secret'")
      .get(TENANT) as { n: number };
    expect(count.n).toBe(6000);
    await server.close();
    const bytes = serverBytes(dir);
    for (const v of [...planted].slice(0, 200)) expect(bytes.includes(v)).toBe(false);
    expect((await readdir(join(dir, 'agent'))).some((f) => f.startsWith('scan-'))).toBe(false);
  }, 360_000);
});
