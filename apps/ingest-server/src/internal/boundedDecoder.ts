import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Gunzip } from 'node:zlib';
import type { DecompressionLimits } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';

import type * as ZstdBindingModule from 'zstd-napi/binding';

// zstd-napi's low-level binding is CommonJS without an `exports` map; require() finds it from ESM and CJS alike.
type ZstdBinding = typeof ZstdBindingModule;
const zstd = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;

/** Encodings a body (or a chunk's `data`) may have. */
export type BodyEncoding = 'identity' | 'gzip' | 'zstd';

/**
 * Largest zstd window a frame may ask for (2^24 = 16 MiB). The default (2^27) lets one hostile frame header make
 * the decoder allocate 128 MiB; compression levels 1..19 never need more than 2^23.
 */
const ZSTD_WINDOW_LOG_MAX = 24;
const ZSTD_OUT_BYTES = 256 * 1024;
/** Input is fed to decoders in slices this big, so limits are checked between small steps. */
const SLICE_BYTES = 64 * 1024;
/**
 * A zstd decoder yields to the event loop after this much output from one input slice: a slice of highly
 * compressible data (up to `maxRatio` x 64 KiB of output) then never holds the loop for more than a few ms.
 */
const YIELD_AFTER_BYTES = 1024 * 1024;

/** Sees every decoded part, in order, before it is kept (e.g. a `JsonScanner` that refuses early). */
export type OutputObserver = (part: Buffer) => void;

/**
 * Thrown when decoded data would pass a caller's budget while still within the limits: not a refusal of the
 * data, a sign that the work belongs elsewhere (the main thread hands such a body to a worker).
 */
export class OverBudget extends Error {
  constructor(readonly budgetBytes: number) {
    super(`decoded data exceeds the budget of ${budgetBytes} bytes`);
    this.name = 'OverBudget';
  }
}

/** Options of `decodeBuffer`. */
export interface DecodeOptions {
  /** Sees every decoded part before it is kept; throwing refuses the data. */
  observe?: OutputObserver;
  /** Most decoded bytes this call may produce before it gives up with `OverBudget` (default: no budget). */
  budgetBytes?: number;
}

/** Maps a `Content-Encoding` header to a supported encoding; throws 415 for anything else. */
export function parseContentEncoding(header: string | undefined): BodyEncoding {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'zstd') return 'zstd';
  throw new IngestServerError(
    'UNSUPPORTED_ENCODING',
    `unsupported Content-Encoding ${JSON.stringify(value.slice(0, 64))}: use zstd, gzip or none`,
    { status: 415 },
  );
}

function limitError(message: string): IngestServerError {
  return new IngestServerError('DECOMPRESS_LIMIT', message, { status: 413 });
}

function brokenError(encoding: BodyEncoding, cause: unknown): IngestServerError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new IngestServerError('DECOMPRESS_FAILED', `body failed to decompress as ${encoding}: ${reason}`, {
    status: 400,
    cause,
  });
}

/** Collects decoded output and enforces the limits after every step, before more memory is spent. */
class BoundedSink {
  compressedBytes = 0;
  decodedBytes = 0;
  private readonly parts: Buffer[] = [];

  constructor(
    private readonly limits: DecompressionLimits,
    private readonly encoding: BodyEncoding,
    private readonly observe: OutputObserver | undefined,
    private readonly budgetBytes = Number.POSITIVE_INFINITY,
  ) {}

  input(bytes: number): void {
    this.compressedBytes += bytes;
    if (this.compressedBytes > this.limits.maxCompressedBytes) {
      throw limitError(`body exceeds ${this.limits.maxCompressedBytes} bytes on the wire`);
    }
  }

  output(part: Buffer): void {
    if (part.length === 0) return;
    this.decodedBytes += part.length;
    if (this.encoding !== 'identity') {
      if (this.decodedBytes > this.limits.maxDecompressedBytes) {
        throw limitError(`decompressed body exceeds ${this.limits.maxDecompressedBytes} bytes`);
      }
      // Ratio against the compressed bytes received so far: a bomb is refused after a few MiB, not at the cap.
      if (this.decodedBytes > this.limits.maxRatio * this.compressedBytes) {
        throw limitError(`decompression ratio exceeds ${this.limits.maxRatio}:1`);
      }
    }
    if (this.decodedBytes > this.budgetBytes) throw new OverBudget(this.budgetBytes);
    this.observe?.(part);
    this.parts.push(part);
  }

  /** The decoded bytes in memory of their own (never Buffer's shared pool), so they can move to a worker. */
  result(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.decodedBytes);
    let at = 0;
    for (const part of this.parts) at += part.copy(out, at);
    this.parts.length = 0;
    return out;
  }
}

/** One streaming decoder step at a time; `write` may return a promise to apply backpressure. */
interface StepDecoder {
  write(input: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
  destroy(): void;
}

class IdentityDecoder implements StepDecoder {
  constructor(private readonly sink: BoundedSink) {}
  write(input: Buffer): void {
    this.sink.output(input);
  }
  end(): void {}
  destroy(): void {}
}

class ZstdDecoder implements StepDecoder {
  private readonly dctx = new zstd.DCtx();
  private inFrame = false;
  /** Output memory, filled call after call; each call's output is a view of it (no copy). */
  private out = Buffer.allocUnsafeSlow(ZSTD_OUT_BYTES);
  private outAt = 0;

  constructor(private readonly sink: BoundedSink) {
    this.dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  }

  write(input: Buffer): void | Promise<void> {
    let src: Buffer = input;
    let sinceYield = 0;
    // Each native call produces at most ZSTD_OUT_BYTES; the sink checks the limits between calls.
    const step = (): void | Promise<void> => {
      for (;;) {
        if (this.outAt === this.out.length) {
          this.out = Buffer.allocUnsafeSlow(ZSTD_OUT_BYTES);
          this.outAt = 0;
        }
        const dst = this.out.subarray(this.outAt);
        let ret: number;
        let produced: number;
        let consumed: number;
        try {
          [ret, produced, consumed] = this.dctx.decompressStream(dst, src);
        } catch (cause) {
          throw brokenError('zstd', cause);
        }
        this.outAt += produced;
        if (produced > 0) this.sink.output(dst.subarray(0, produced));
        src = src.subarray(consumed);
        if (src.length === 0 && produced < dst.length) {
          this.inFrame = ret !== 0;
          return;
        }
        sinceYield += produced;
        if (sinceYield >= YIELD_AFTER_BYTES) {
          sinceYield = 0;
          return new Promise<void>((resolve) => setImmediate(resolve)).then(step);
        }
      }
    };
    return step();
  }

  end(): void {
    if (this.inFrame) throw brokenError('zstd', new Error('data ends in the middle of a frame'));
  }

  destroy(): void {}
}

class GzipDecoder implements StepDecoder {
  private readonly gunzip: Gunzip = createGunzip();
  private failure: Error | undefined;
  private readonly finished: Promise<void>;

  constructor(private readonly sink: BoundedSink) {
    this.finished = new Promise<void>((resolve, reject) => {
      this.gunzip.on('data', (part: Buffer) => {
        if (this.failure !== undefined) return;
        try {
          this.sink.output(part);
        } catch (err) {
          this.failure = err instanceof Error ? err : new Error(String(err));
          this.gunzip.destroy();
          reject(this.failure);
        }
      });
      this.gunzip.once('error', (err) => {
        this.failure ??= brokenError('gzip', err);
        reject(this.failure);
      });
      this.gunzip.once('end', () => resolve());
      this.gunzip.once('close', () => {
        if (this.failure !== undefined) reject(this.failure);
      });
    });
    this.finished.catch(() => {});
  }

  write(input: Buffer): void | Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.gunzip.write(input)) return;
    return new Promise<void>((resolve, reject) => {
      this.gunzip.once('drain', resolve);
      this.finished.then(resolve, reject);
    }).then(() => {
      if (this.failure !== undefined) throw this.failure;
    });
  }

  async end(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.gunzip.end();
    await this.finished;
  }

  destroy(): void {
    if (!this.gunzip.destroyed) this.gunzip.destroy();
  }
}

function createDecoder(encoding: BodyEncoding, sink: BoundedSink): StepDecoder {
  switch (encoding) {
    case 'identity':
      return new IdentityDecoder(sink);
    case 'zstd':
      return new ZstdDecoder(sink);
    case 'gzip':
      return new GzipDecoder(sink);
  }
}

/**
 * Decodes a complete buffer (a chunk's `data`) within `limits`. As for streamed bodies, the ratio is measured
 * against the input fed so far (64 KiB slices), so a bomb stops after a few MiB; for inputs up to 64 KiB it is exact.
 * Throws 413 DECOMPRESS_LIMIT or 400 DECOMPRESS_FAILED.
 */
export async function decodeBuffer(
  input: Buffer,
  encoding: BodyEncoding,
  limits: DecompressionLimits,
  options: DecodeOptions = {},
): Promise<Buffer> {
  const { observe, budgetBytes } = options;
  if (input.length > limits.maxCompressedBytes) {
    throw limitError(`compressed data of ${input.length} bytes exceeds ${limits.maxCompressedBytes} bytes`);
  }
  if (encoding === 'zstd') {
    const whole = decodeZstdFrameAtOnce(input, limits, budgetBytes);
    if (whole !== undefined) {
      observe?.(whole);
      return whole;
    }
  }
  const sink = new BoundedSink(limits, encoding, observe, budgetBytes);
  const decoder = createDecoder(encoding, sink);
  try {
    for (let offset = 0; offset < input.length; offset += SLICE_BYTES) {
      const slice = input.subarray(offset, offset + SLICE_BYTES);
      sink.input(slice.length);
      await decoder.write(slice);
    }
    await decoder.end();
    return sink.result();
  } finally {
    decoder.destroy();
  }
}

/** Largest declared frame decoded in one call instead of step by step. */
const ONE_SHOT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A single zstd frame that declares its content size: refused at once (413) when that size breaks `limits` (the
 * ratio against the whole input), and decoded in one call straight into a buffer of that size when it is at most
 * `ONE_SHOT_MAX_BYTES` (what the agent sends: one frame per chunk, with its size; one native call, no copy).
 * `undefined` for anything else (several frames, no declared size, bigger): the caller decodes it step by step.
 * A frame that holds more than it declares fails (400).
 */
function decodeZstdFrameAtOnce(
  input: Buffer,
  limits: DecompressionLimits,
  budgetBytes = Number.POSITIVE_INFINITY,
): Buffer | undefined {
  let size: number | null;
  try {
    if (zstd.findFrameCompressedSize(input) !== input.length) return undefined;
    size = zstd.getFrameContentSize(input);
  } catch {
    return undefined; // broken: the streaming decoder says how
  }
  if (size === null) return undefined;
  // A frame that declares more than the limits allow would pass them: refused before any decoding.
  if (size > limits.maxDecompressedBytes) {
    throw limitError(`decompressed data would exceed ${limits.maxDecompressedBytes} bytes`);
  }
  if (size > limits.maxRatio * input.length) {
    throw limitError(`decompression ratio exceeds ${limits.maxRatio}:1`);
  }
  if (size > budgetBytes) throw new OverBudget(budgetBytes);
  if (size > ONE_SHOT_MAX_BYTES) return undefined;
  const out = Buffer.allocUnsafeSlow(size);
  let written: number;
  try {
    written = zstd.decompress(out, input);
  } catch (cause) {
    throw brokenError('zstd', cause);
  }
  if (written !== size) throw brokenError('zstd', new Error('the frame holds less than its header declares'));
  return out;
}

/** Options of `readBoundedBody`. */
export interface ReadBodyOptions {
  encoding: BodyEncoding;
  limits: DecompressionLimits;
  /** `Content-Length`, when the client declared one. */
  declaredLength: number | undefined;
  /** Sees every decoded part before it is kept; throwing refuses the body. */
  observe?: OutputObserver;
}

/** A refused body, with whether the rest of the request can be drained so the connection stays usable. */
export interface BodyReadFailure {
  error: unknown;
  /** False when the remaining body is unbounded: the connection must be closed after the answer. */
  drained: boolean;
}

/** Most bytes of a refused body the server reads and discards to keep the connection alive. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body and decodes it while it streams, checking the limits after every step.
 * On refusal the rest of the body is discarded (not buffered) when its length is known and small enough;
 * otherwise `drained` is false and the caller closes the connection.
 */
export function readBoundedBody(
  stream: Readable,
  options: ReadBodyOptions,
): Promise<{ ok: true; body: Buffer } | { ok: false; failure: BodyReadFailure }> {
  const { encoding, limits, declaredLength } = options;
  const sink = new BoundedSink(limits, encoding, options.observe);
  const decoder = createDecoder(encoding, sink);
  return new Promise((resolve) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      decoder.destroy();
      stream.removeListener('data', onData);
      const drainable =
        declaredLength !== undefined && declaredLength - sink.compressedBytes <= MAX_DRAIN_BYTES;
      if (drainable && !stream.destroyed) {
        stream.on('data', () => {});
        stream.resume();
      }
      resolve({ ok: false, failure: { error, drained: drainable } });
    };
    let busy = false;
    let endPending = false;
    const finish = (): void => {
      Promise.resolve()
        .then(() => decoder.end())
        .then(() => {
          if (settled) return;
          settled = true;
          resolve({ ok: true, body: sink.result() });
        }, fail);
    };
    const onData = (part: Buffer): void => {
      if (settled) return;
      try {
        for (let offset = 0; offset < part.length; offset += SLICE_BYTES) {
          const slice = part.subarray(offset, offset + SLICE_BYTES);
          sink.input(slice.length);
          const pending = decoder.write(slice);
          if (pending !== undefined) {
            // Backpressure (gzip): stop reading until the decoder has room, then continue with the rest.
            busy = true;
            stream.pause();
            const rest = part.subarray(offset + SLICE_BYTES);
            pending.then(() => {
              busy = false;
              if (rest.length > 0) onData(rest);
              if (settled || busy) return;
              if (endPending) finish();
              else stream.resume();
            }, fail);
            return;
          }
        }
      } catch (error) {
        fail(error);
      }
    };
    const onEnd = (): void => {
      if (settled) return;
      if (busy) endPending = true;
      else finish();
    };
    if (declaredLength !== undefined && declaredLength > limits.maxCompressedBytes) {
      fail(
        limitError(`body of ${declaredLength} bytes exceeds ${limits.maxCompressedBytes} bytes on the wire`),
      );
      return;
    }
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', (err) =>
      fail(
        new IngestServerError('VALIDATION_FAILED', `body stream failed: ${err.message}`, {
          status: 400,
          cause: err,
        }),
      ),
    );
    stream.once('close', () => {
      if (!stream.readableEnded) {
        fail(
          new IngestServerError('VALIDATION_FAILED', 'the client closed the connection mid-body', {
            status: 400,
          }),
        );
      }
    });
  });
}
