import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuditLogger } from '../src/index';
import { tempDir, waitFor } from '@rediver/testkit';
import { useLoopbackServer } from '@rediver/testkit/vitest';
import { readLines } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
const endpoints = useLoopbackServer();
beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  await cleanup();
});

it('redacts configured paths before disk, endpoint and pino transport; the transport gets every line', async () => {
  const bodies: string[] = [];
  const { port } = await endpoints.start((req, res) => {
    bodies.push(req.text);
    res.end();
  });
  const transportFile = join(dir, 'transport', 'copy.log');
  const logger = new AuditLogger({
    logFile: join(dir, 'audit.log'),
    remoteEndpoint: `http://127.0.0.1:${port}/`,
    transport: { target: 'pino/file', options: { destination: transportFile, mkdir: true } },
    redact: {
      paths: ['details.password', 'details.headers.authorization', 'details.*.apiKey'],
      censor: '***',
    },
    hashChain: true,
  });
  logger.uploadStarted('rep-1', {
    password: 'hunter2',
    headers: { authorization: 'Bearer rdv_secret', accept: 'json' },
    target: { apiKey: 'rdv_key', host: 'h' },
  });
  for (let i = 0; i < 5; i++) logger.info('upload_completed', `event ${i}`, { password: `p${i}` });
  await logger.flush();
  await waitFor(() => logger.stats().remoteSent >= 6);
  await logger.close();

  const local = await readLines(join(dir, 'audit.log'));
  const received = bodies.flatMap((b) => (JSON.parse(b) as unknown[]).map((e) => JSON.stringify(e)));
  // The endpoint also gets the checkpoints (never written locally): the last one names the last line.
  const remote = received.filter((l) => !l.includes('"type":"audit_checkpoint"'));
  const checkpoints = received.filter((l) => l.includes('"type":"audit_checkpoint"'));
  expect((JSON.parse(checkpoints.at(-1)!) as { details: { seq: number } }).details.seq).toBe(6);
  const transport = (await readFile(transportFile, 'utf8')).trimEnd().split('\n');
  for (const text of [local.join('\n'), remote.join('\n'), transport.join('\n')]) {
    expect(text).not.toMatch(/hunter2|rdv_secret|rdv_key|"p\d"/);
  }
  expect(JSON.parse(local[0]!).details).toEqual({
    password: '***',
    headers: { authorization: '***', accept: 'json' },
    target: { apiKey: '***', host: 'h' },
  });
  // The same lines (seq and hash included) reach the transport.
  expect(transport).toEqual(local);
  expect(remote.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5, 6]);
});
