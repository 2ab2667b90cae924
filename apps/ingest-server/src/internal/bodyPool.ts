import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import { runBodyJob, unpackBodyJobResult } from './bodyJobs';
import { OverBudget } from './boundedDecoder';
import type { BodyJob, BodyJobResult, PackedBodyJobResult } from './bodyJobs';
import { fromWireError } from './wireError';
import type { WireError } from './wireError';

/** Options of a `BodyPool`. */
export interface BodyPoolOptions {
  /** Worker threads; 0 runs every job on the calling thread. */
  workers: number;
  /** Old-generation heap of one worker, MiB: a body that needs more is refused (413) and the server stays up. */
  maxWorkerHeapMb: number;
  /** Jobs one tenant may have waiting; more are answered 429 with `Retry-After`. */
  maxQueuedPerTenant: number;
  /** Bodies and decoded chunk data of at most this many bytes are processed on the calling thread. */
  inlineBytes: number;
  logger: Logger;
}

interface Pending {
  tenant: string;
  job: BodyJob;
  resolve(result: BodyJobResult): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  current: Pending | undefined;
  /**
   * Set once the worker said it is ready: jobs go only to ready workers (a body transferred to a worker that is
   * still loading its program arrives empty).
   */
  online: boolean;
  /** Set once the worker answered anything: failures before that are start-up failures. */
  started: boolean;
  gone: boolean;
}

type Reply =
  { id: number; ok: true; result: PackedBodyJobResult } | { id: number; ok: false; error: WireError };

/** Worker start-ups that may fail in a row before jobs run on the calling thread instead. */
const MAX_START_FAILURES = 3;

/** How to start the worker: its program next to this module, as JavaScript (dist) or TypeScript (sources). */
function workerSpec(): { source: URL | string; eval: boolean; execArgv: string[] | undefined } {
  const here = import.meta.url;
  if (!/\.ts$/.test(new URL(here).pathname)) {
    return { source: new URL('./bodyWorker.js', here), eval: false, execArgv: undefined };
  }
  // From sources (vitest, tsx): a worker does not get tsx's module hooks from `--import` (Node 20), so a tiny
  // bootstrap registers them through tsx's API, then loads the TypeScript worker; workspace packages resolve to
  // their sources through the export condition.
  const tsxDir = pathToFileURL(createRequire(here).resolve('tsx/package.json'));
  const api = new URL('dist/esm/api/index.mjs', tsxDir).href;
  const worker = new URL('./bodyWorker.ts', here).href;
  return {
    source: `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`,
    eval: true,
    execArgv: ['--conditions=@rediver/source'],
  };
}

/**
 * Runs body jobs (decode, scan, parse, validate, serialise) on worker threads so that no body holds the main
 * thread: the main thread only streams bytes in and writes SQLite. Jobs wait in one queue per tenant and are
 * taken round-robin, so a tenant that floods the server delays its own jobs, not another tenant's. Workers
 * start on first use, are `unref()`'d while idle, and are replaced when one dies (a worker that runs out of
 * its heap refuses that one body with a 413).
 */
export class BodyPool {
  readonly #o: BodyPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queues = new Map<string, Pending[]>();
  /** Tenants with waiting jobs, in turn order. */
  readonly #turns: string[] = [];
  readonly #inFlight = new Map<number, { slot: Slot; pending: Pending }>();
  #nextId = 0;
  #startFailures = 0;
  readonly #counts = { inline: 0, worker: 0 };
  #inline = false;
  #closed = false;

  constructor(options: BodyPoolOptions) {
    this.#o = options;
    this.#inline = options.workers === 0;
  }

  /** Worker threads running now. */
  get workers(): number {
    return this.#slots.length;
  }

  /** Jobs done on the calling thread and on workers so far. */
  get counts(): { inline: number; worker: number } {
    return { ...this.#counts };
  }

  /**
   * Runs `job` for `tenant`: on this thread when its body and decoded data are at most `inlineBytes` (a few ms of
   * work, cheaper than a trip to a worker), else on a worker. Rejects with the job's `IngestServerError` (4xx),
   * 429 when the tenant's queue is full.
   */
  async run(tenant: string, job: BodyJob): Promise<BodyJobResult> {
    if (this.#closed) throw new IngestServerError('CLOSED', 'the server is stopping', { status: 503 });
    if (this.#inline) {
      this.#counts.inline++;
      return runBodyJob(job);
    }
    try {
      const result = await runBodyJob(job, this.#o.inlineBytes);
      this.#counts.inline++;
      return result;
    } catch (error) {
      if (!(error instanceof OverBudget)) {
        this.#counts.inline++;
        throw error;
      }
    }
    this.#counts.worker++;
    return this.#enqueue(tenant, job);
  }

  #enqueue(tenant: string, job: BodyJob): Promise<BodyJobResult> {
    // Closed while the job was tried on this thread.
    if (this.#closed) {
      return Promise.reject(new IngestServerError('CLOSED', 'the server is stopping', { status: 503 }));
    }
    const queue = this.#queues.get(tenant) ?? [];
    if (queue.length >= this.#o.maxQueuedPerTenant) {
      return Promise.reject(
        new IngestServerError(
          'RATE_LIMITED',
          `${queue.length} requests of this tenant are already waiting to be decoded: retry later`,
          { status: 429, retryAfterMs: 1000 },
        ),
      );
    }
    return new Promise<BodyJobResult>((resolve, reject) => {
      queue.push({ tenant, job, resolve, reject });
      if (queue.length === 1) {
        this.#queues.set(tenant, queue);
        this.#turns.push(tenant);
      }
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#turns.length > 0 && !this.#closed) {
      if (this.#inline) {
        this.#drainInline();
        return;
      }
      const slot = this.#slots.find((s) => s.online && s.current === undefined && !s.gone);
      if (slot === undefined) {
        // Start another worker when every one is busy; the job goes out once one runs or frees up.
        const starting = this.#slots.some((s) => !s.online && !s.gone);
        if (starting || this.#slots.length >= this.#o.workers) return;
        if (this.#spawn() === undefined) continue; // failed at once: maybe inline now
        return;
      }
      this.#dispatch(slot, this.#take());
    }
  }

  /** The next job, round-robin over tenants. */
  #take(): Pending {
    const tenant = this.#turns.shift()!;
    const queue = this.#queues.get(tenant)!;
    const pending = queue.shift()!;
    if (queue.length > 0) this.#turns.push(tenant);
    else this.#queues.delete(tenant);
    return pending;
  }

  #drainInline(): void {
    while (this.#turns.length > 0) {
      const p = this.#take();
      this.#counts.worker--;
      this.#counts.inline++;
      runBodyJob(p.job).then(
        (result) => p.resolve(result),
        (error: unknown) => p.reject(error),
      );
    }
  }

  #spawn(): Slot | undefined {
    const spec = workerSpec();
    let worker: Worker;
    try {
      worker = new Worker(spec.source, {
        eval: spec.eval,
        ...(spec.execArgv === undefined ? {} : { execArgv: spec.execArgv }),
        resourceLimits: { maxOldGenerationSizeMb: this.#o.maxWorkerHeapMb },
        stdout: false,
        stderr: false,
      });
    } catch (error) {
      this.#startFailed(error);
      return undefined;
    }
    worker.unref();
    const slot: Slot = { worker, current: undefined, online: false, started: false, gone: false };
    worker.on('message', (reply: Reply | { ready: true }) => {
      if ('ready' in reply) {
        slot.online = true;
        this.#pump();
      } else this.#answer(slot, reply);
    });
    worker.on('error', (error) => this.#lost(slot, error));
    worker.on('exit', (code) => this.#lost(slot, new Error(`body worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }

  #dispatch(slot: Slot, pending: Pending): void {
    const id = this.#nextId++;
    slot.current = pending;
    this.#inFlight.set(id, { slot, pending });
    // A pending request depends on this worker: keep the process alive until it answers.
    slot.worker.ref();
    const body = pending.job.body;
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    slot.worker.postMessage({ id, job: pending.job }, own ? [body.buffer as ArrayBuffer] : []);
  }

  #answer(slot: Slot, reply: Reply): void {
    const entry = this.#inFlight.get(reply.id);
    if (entry === undefined) return;
    this.#inFlight.delete(reply.id);
    slot.current = undefined;
    slot.started = true;
    this.#startFailures = 0;
    slot.worker.unref();
    if (reply.ok) entry.pending.resolve(unpackBodyJobResult(reply.result));
    else entry.pending.reject(fromWireError(reply.error));
    this.#pump();
  }

  #lost(slot: Slot, error: Error): void {
    if (slot.gone) return;
    slot.gone = true;
    this.#slots.splice(this.#slots.indexOf(slot), 1);
    for (const [id, entry] of this.#inFlight) if (entry.slot === slot) this.#inFlight.delete(id);
    const pending = slot.current;
    slot.current = undefined;
    if (this.#closed) {
      pending?.reject(new IngestServerError('CLOSED', 'the server is stopping', { status: 503 }));
      return;
    }
    const outOfMemory = (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    if (!slot.started && !outOfMemory) {
      // Not the job's fault: it waits for the next worker (or runs inline once workers cannot start).
      if (pending !== undefined) this.#requeue(pending);
      this.#startFailed(error);
    } else {
      pending?.reject(
        outOfMemory
          ? new IngestServerError(
              'REPORT_TOO_LARGE',
              `the body needs more than the ${this.#o.maxWorkerHeapMb} MiB of memory this server gives one request`,
              { status: 413 },
            )
          : new IngestServerError('INTERNAL', `body worker failed: ${error.message}`, { status: 500 }),
      );
      this.#o.logger.warn({ err: error.message }, 'ingest-server: body worker lost; replacing it');
    }
    this.#pump();
  }

  #requeue(pending: Pending): void {
    const queue = this.#queues.get(pending.tenant);
    if (queue !== undefined) queue.unshift(pending);
    else {
      this.#queues.set(pending.tenant, [pending]);
      this.#turns.unshift(pending.tenant);
    }
  }

  #startFailed(error: unknown): void {
    this.#startFailures++;
    const reason = error instanceof Error ? error.message : String(error);
    if (this.#startFailures >= MAX_START_FAILURES) {
      this.#inline = true;
      this.#o.logger.error(
        { err: reason },
        'ingest-server: body workers do not start; decoding bodies on the main thread',
      );
    } else {
      this.#o.logger.warn({ err: reason }, 'ingest-server: a body worker failed to start');
    }
  }

  /** Refuses waiting jobs and stops the workers. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const queue of this.#queues.values()) {
      for (const p of queue)
        p.reject(new IngestServerError('CLOSED', 'the server is stopping', { status: 503 }));
    }
    this.#queues.clear();
    this.#turns.length = 0;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
