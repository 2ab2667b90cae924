import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CompressStream } from 'zstd-napi';

const MIB = 1024 * 1024;

/** `{},` repeated to `bytes` bytes (a multiple of 3), in 1 MiB blocks: never materialised. */
export function* objects(bytes: number): Generator<Buffer> {
  const block = Buffer.from('{},'.repeat(MIB / 4));
  for (let left = bytes; left > 0; left -= block.length)
    yield block.subarray(0, Math.min(left, block.length));
}

/**
 * The object bomb: `prefix`, a random string long enough to keep the whole frame under `maxRatio`
 * (as an attacker would), then `bombBytes` of `{},` inside `findings`, then `suffix`. Compressed as it is
 * generated. Returns the frame and its decoded size.
 */
export async function objectBomb(options: {
  prefix: string;
  bombBytes: number;
  suffix: string;
  maxRatio: number;
}): Promise<{ frame: Buffer; decodedBytes: number }> {
  // Random base64 compresses to about 3/4 of its size; 10% margin under the ratio.
  const padChars = Math.ceil(options.bombBytes / (options.maxRatio * 0.9) / 0.75);
  const pad = randomBytes(Math.ceil((padChars * 3) / 4)).toString('base64');
  const head = Buffer.from(`${options.prefix}"properties":{"pad":"${pad}"},"findings":[`);
  const tail = Buffer.from(`{}]${options.suffix}`);
  const source = Readable.from(
    (function* () {
      yield head;
      yield* objects(options.bombBytes);
      yield tail;
    })(),
  );
  const parts: Buffer[] = [];
  for await (const part of source.pipe(new CompressStream({ compressionLevel: 3 })))
    parts.push(part as Buffer);
  return { frame: Buffer.concat(parts), decodedBytes: head.length + options.bombBytes + tail.length };
}

const INGEST_PREFIX = '{"version":"1.0","metadata":{"id":"bomb","timestamp":"2026-01-15T10:00:00Z"},';

/** The hostile bodies, generated (shared by the hostile tests and the bench). */
export interface HostileBodies {
  /** 104 MB of `{},` in `findings`, zstd, under the 200:1 ratio (a whole report, `POST /ingest`). */
  bomb104: { frame: Buffer; decodedBytes: number };
  /** A chunk whose `data` decodes to 52 MB of `{},`, under the 100:1 ratio (zstd). */
  chunkBomb52: { frame: Buffer; decodedBytes: number };
  /** The chunk envelope carrying `chunkBomb52` (JSON bytes). */
  chunkBomb52Envelope: Buffer;
  /** 20 MB of `{},` in `findings`, plain JSON. */
  plain20: Buffer;
  /** 20 MB of `{},` in a free-form property, plain JSON. */
  plainProperties20: Buffer;
  /** 40 MiB of `{},`, for requests without a key or to unknown routes. */
  anonymous40: Buffer;
}

/** Generates the hostile bodies (about 2 s and 200 MiB of memory). */
export async function makeHostileBodies(): Promise<HostileBodies> {
  const bomb104 = await objectBomb({
    prefix: INGEST_PREFIX,
    bombBytes: 104_000_000 - 800_000,
    suffix: '}',
    maxRatio: 200,
  });
  const chunkBomb52 = await objectBomb({
    prefix:
      '{"report_id":"bomb-chunk","chunk_index":0,"total_chunks":1,"tool":{"name":"x"},' +
      '"metadata":{"id":"bomb-chunk","timestamp":"2026-01-15T10:00:00Z"},',
    bombBytes: 51_000_000,
    suffix: ',"is_final":true}',
    maxRatio: 100,
  });
  const chunkBomb52Envelope = Buffer.from(
    JSON.stringify({
      report_id: 'bomb-chunk',
      chunk_index: 0,
      total_chunks: 1,
      compression: 'zstd',
      data: chunkBomb52.frame.toString('base64'),
      is_final: true,
    }),
  );
  const twenty = 20 * 1000 * 1000 - 300;
  return {
    bomb104,
    chunkBomb52,
    chunkBomb52Envelope,
    plain20: Buffer.concat([
      Buffer.from(`${INGEST_PREFIX}"findings":[`),
      ...objects(twenty),
      Buffer.from('{}]}'),
    ]),
    plainProperties20: Buffer.concat([
      Buffer.from(`${INGEST_PREFIX}"properties":{"x":[`),
      ...objects(twenty),
      Buffer.from('{}]}}'),
    ]),
    anonymous40: Buffer.concat([...objects(40 * MIB - ((40 * MIB) % 3))]),
  };
}
