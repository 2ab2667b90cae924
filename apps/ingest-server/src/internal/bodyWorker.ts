/**
 * The body worker: decodes, scans, parses and validates request bodies off the main thread (see `BodyPool`).
 * One job at a time; answers `{id, ok, result}` or `{id, ok: false, error}`.
 */
import { parentPort } from 'node:worker_threads';
import { packBodyJobResult, runBodyJob } from './bodyJobs';
import type { BodyJob } from './bodyJobs';
import { toWireError } from './wireError';

interface JobMessage {
  id: number;
  job: BodyJob;
}

const port = parentPort;
if (port === null) throw new Error('bodyWorker runs only as a worker thread');

port.on('message', (message: JobMessage) => {
  // Structured clone delivers a Buffer as a plain Uint8Array.
  const raw = message.job.body as Uint8Array;
  const job = { ...message.job, body: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) };
  runBodyJob(job).then(
    (result) => port.postMessage({ id: message.id, ok: true, result: packBodyJobResult(result) }),
    (error: unknown) => port.postMessage({ id: message.id, ok: false, error: toWireError(error) }),
  );
});
port.postMessage({ ready: true });
