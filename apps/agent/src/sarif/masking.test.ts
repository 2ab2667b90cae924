import { describe, expect, it } from 'vitest';
import { maskSecret, SecretMasker } from './masking';

const FAMILIES: Record<string, string> = {
  github: 'ghp_Q8vZr2Lk5TnW1xYb7CdE3fGh9JkLmNpQrStU',
  githubFineGrained: `github_pat_11ABCDEFG0123456789abc_${'x'.repeat(59)}`,
  slackBot: 'xoxb-2048-4096-Kq7pWm3Zt9Lr5Xv1Nb8Yc2Ds',
  slackUser: 'xoxp-1234567890-1234567890-1234567890123-abcdef0123456789abcdef0123456789',
  awsKeyId: 'AKIAQ3EGRT5YZ6WXMPLE',
  rediver: 'rdv_live_0123456789abcdefABCDEF',
  npm: `npm_${'a1B2'.repeat(9)}`,
  gitlab: 'glpat-AbCdEfGhIjKlMnOpQrSt',
  stripe: 'sk_live_51H8abcdefghijklmnopqrst',
  google: `AIza${'B'.repeat(35)}`,
  sendgrid: `SG.${'c'.repeat(22)}.${'d'.repeat(43)}`,
  shopify: `shpat_${'e'.repeat(32)}`,
  anthropic: `sk-ant-api03-${'f'.repeat(93)}AA`,
  linear: `lin_api_${'g'.repeat(40)}`,
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk',
};

describe('SecretMasker', () => {
  it('masks a value of every built-in token family inside code', () => {
    const m = new SecretMasker();
    for (const [family, value] of Object.entries(FAMILIES)) {
      const line = `  const x = eval("${value}"); // ${family}`;
      const out = m.maskLine(line);
      expect(out, family).not.toContain(value);
      expect(out, family).toContain(maskSecret(value));
      expect(out.startsWith('  const x = eval("'), family).toBe(true);
    }
  });

  it('masks credentials in URLs, quoted secret assignments and bearer tokens, keeping the rest', () => {
    const m = new SecretMasker();
    expect(m.maskLine('DATABASE_URL=postgres://app:Sup3rS3cretPw@db.internal:5432/app')).toBe(
      `DATABASE_URL=postgres://app:${maskSecret('Sup3rS3cretPw')}@db.internal:5432/app`,
    );
    expect(m.maskLine('const password = "hunter2hunter2";')).not.toContain('hunter2hunter2');
    expect(m.maskLine('{"apiKey": "0123456789abcdef"}')).not.toContain('0123456789abcdef');
    expect(m.maskLine('Authorization: Bearer abcdefghijklmnop0123')).not.toContain('abcdefghijklmnop0123');
    // Ordinary code is left alone.
    const code = 'for (const key of Object.keys(obj)) total += obj[key];';
    expect(m.maskLine(code)).toBe(code);
    expect(m.maskedCount).toBe(4);
  });

  it('masks known secrets everywhere, and short ones only where they were found', () => {
    const m = new SecretMasker();
    m.addKnown('S3cretValue!42', { path: 'a.env', line: 3 });
    m.addKnown('pw123', { path: 'a.env', line: 4 });
    expect(m.maskLine('log("S3cretValue!42")')).toBe(`log("${maskSecret('S3cretValue!42')}")`);
    expect(m.maskText('x pw123 y', { path: 'a.env', line: 4 })).toBe(`x ${maskSecret('pw123')} y`);
    // A short value elsewhere is too common a string to mask everywhere.
    expect(m.maskLine('x pw123 y')).toBe('x pw123 y');
    expect(m.knownCount).toBe(2);
  });

  it('masks a private key block across lines, and a stray BEGIN line stops masking after a bound', () => {
    const m = new SecretMasker();
    const key = [
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEpAIBAAKCAQEAz3X8Q9vZr2Lk5TnW1xYb7CdE3fGh',
      'abcDEF0123+/=',
      '-----END RSA PRIVATE KEY-----',
      'after',
    ];
    const out = m.maskText(key.join('\n')).split('\n');
    expect(out[0]).toBe(key[0]);
    expect(out[1]).not.toContain('MIIEpAIBAAKCAQEA');
    expect(out[2]).not.toContain('abcDEF0123');
    expect(out[3]).toBe(key[3]);
    expect(out[4]).toBe('after');
    const oneLine = m.maskLine(
      'k = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----"',
    );
    expect(oneLine).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    const stray = ['-----BEGIN RSA PRIVATE KEY-----', ...Array.from({ length: 300 }, (_, i) => `line${i}`)];
    const masked = m.maskText(stray.join('\n')).split('\n');
    expect(masked[1]).not.toBe('line0');
    expect(masked[300]).toBe('line299');
  });

  it('is idempotent: masked text stays as it is', () => {
    const m = new SecretMasker();
    const once = m.maskLine(`token = "${FAMILIES.github!}"`);
    expect(m.maskLine(once)).toBe(once);
  });

  it('keeps at most a quarter (and 4 characters) of a value', () => {
    expect(maskSecret('ghp_abcdefghijklmnop')).toBe('ghp_****************');
    expect(maskSecret('abc')).toBe('****');
    expect(maskSecret('abcdefgh')).toBe('ab******');
  });
});
