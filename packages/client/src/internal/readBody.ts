import type { Readable } from 'node:stream';

/** A response body read up to a cap. */
export interface ReadBody {
  readonly text: string;
  /** True when the body was longer than the cap (and `text` holds only its start). */
  readonly truncated: boolean;
}

/** Reads at most `maxBytes` of `body` as UTF-8; stops (and destroys the stream) beyond it. */
export async function readBody(body: Readable, maxBytes: number): Promise<ReadBody> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (total + chunk.length > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - total));
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(chunk);
    total += chunk.length;
  }
  return {
    text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
    truncated: false,
  };
}
