import { ERROR_CODES, isRediverError } from '@rediver/core';
import type { DecompressionLimits } from '@rediver/core';
import type { Decompress as FzstdDecompress } from 'fzstd';
import { sha256Stream } from './checksum';
import { ChunkError } from '../errors';

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK_BYTES = 128 * 1024;
/** Input slice pushed to the streaming decoder: output is checked between slices and after every block. */
const PUSH_BYTES = 64 * 1024;

/**
 * The decoder, loaded on first use (`loadDecoder`): fzstd adds about 4 MB to the RSS of a process that imports
 * it, and a store that only takes reports and uploads them decodes nothing until its first upload.
 */
let Decompress: typeof FzstdDecompress | undefined;

/** Loads the decoder `decompressBounded` uses (once; later calls resolve at once). */
export async function loadDecoder(): Promise<void> {
  Decompress ??= (await import('fzstd')).Decompress;
}

/** Whether `loadDecoder` has completed (then `decompressBounded` can run). */
export function decoderLoaded(): boolean {
  return Decompress !== undefined;
}

/** Outcome of a bounded decode. */
export interface BoundedDecodeResult {
  /** Decompressed bytes. */
  bytes: number;
  /** Hex SHA-256 of the decompressed bytes. */
  checksum: string;
  /** The decompressed bytes, when asked for (`keep`). */
  data?: Uint8Array;
}

function limitError(message: string, details: Record<string, unknown>): ChunkError {
  return new ChunkError(ERROR_CODES.DECOMPRESS_LIMIT, message, { details });
}

function failed(message: string, cause?: unknown): ChunkError {
  return new ChunkError(ERROR_CODES.DECOMPRESS_FAILED, message, cause === undefined ? {} : { cause });
}

/**
 * Walks the frames' headers and block headers (no decoding) so a hostile header cannot make the decoder
 * allocate: fzstd allocates the declared window (up to 2 GiB) before producing a byte. Refuses windows
 * or declared content sizes over `maxOutput`, dictionaries, reserved bits and truncated structure.
 */
function inspectFrames(input: Uint8Array, maxOutput: number): void {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let pos = 0;
  let declared = 0;
  let frames = 0;
  while (pos < input.length) {
    if (input.length - pos < 4) throw failed('truncated zstd frame');
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (input.length - pos < 8) throw failed('truncated skippable frame');
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw failed('not a zstd frame (bad magic number)');
    frames += 1;
    pos += 4;
    if (pos >= input.length) throw failed('truncated zstd frame header');
    const fhd = input[pos]!;
    pos += 1;
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    const checksumFlag = (fhd >> 2) & 1;
    const dictFlag = fhd & 3;
    if (fhd & 0x08) throw failed('zstd frame header has its reserved bit set');
    let window = 0;
    if (!singleSegment) {
      if (pos >= input.length) throw failed('truncated zstd frame header');
      const wd = input[pos]!;
      pos += 1;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    const dictBytes = [0, 1, 2, 4][dictFlag]!;
    for (let i = 0; i < dictBytes; i++)
      if (input[pos + i] !== 0) throw failed('zstd dictionaries are not supported');
    pos += dictBytes;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    if (pos + fcsBytes > input.length) throw failed('truncated zstd frame header');
    let contentSize = -1;
    if (fcsBytes === 1) contentSize = input[pos]!;
    else if (fcsBytes === 2) contentSize = view.getUint16(pos, true) + 256;
    else if (fcsBytes === 4) contentSize = view.getUint32(pos, true);
    else if (fcsBytes === 8) contentSize = Number(view.getBigUint64(pos, true));
    pos += fcsBytes;
    if (singleSegment) window = contentSize;
    if (window > maxOutput) {
      throw limitError(`zstd frame declares a ${window}-byte window, over the ${maxOutput}-byte limit`, {
        window,
        maxOutput,
      });
    }
    if (contentSize >= 0) {
      declared += contentSize;
      if (declared > maxOutput) {
        throw limitError(`zstd frame declares ${declared} bytes, over the ${maxOutput}-byte limit`, {
          declared,
          maxOutput,
        });
      }
    }
    for (;;) {
      if (pos + 3 > input.length) throw failed('truncated zstd block header');
      const bh = input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16);
      pos += 3;
      const last = bh & 1;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw failed('reserved zstd block type');
      if (size > MAX_BLOCK_BYTES) throw failed('zstd block larger than 128 KiB');
      pos += type === 1 ? 1 : size;
      if (pos > input.length) throw failed('truncated zstd block');
      if (last) break;
    }
    pos += checksumFlag ? 4 : 0;
    if (pos > input.length) throw failed('truncated zstd frame checksum');
  }
  if (frames === 0) throw failed('no zstd frame in the data');
}

/**
 * Decompresses zstd data with fzstd's streaming decoder while enforcing `limits` as the output grows:
 * compressed size up front, then decompressed size and ratio after every block, so a bomb is refused
 * after at most `min(maxDecompressedBytes, maxRatio × input)` bytes (plus one 128 KiB block) were made.
 * The SHA-256 of the output is computed on the way; the output itself is kept only when `keep` is set.
 */
export function decompressBounded(
  input: Uint8Array,
  limits: DecompressionLimits,
  keep: boolean,
): BoundedDecodeResult {
  if (Decompress === undefined) throw new ChunkError(ERROR_CODES.INTERNAL, 'the zstd decoder is not loaded');
  if (input.length > limits.maxCompressedBytes) {
    throw limitError(
      `compressed data is ${input.length} bytes, over the ${limits.maxCompressedBytes}-byte limit`,
      {
        compressedBytes: input.length,
        maxCompressedBytes: limits.maxCompressedBytes,
      },
    );
  }
  const maxOutput = Math.min(limits.maxDecompressedBytes, Math.floor(limits.maxRatio * input.length));
  inspectFrames(input, maxOutput);
  const hash = sha256Stream();
  const parts: Uint8Array[] = [];
  let total = 0;
  const decoder = new Decompress((block) => {
    total += block.length;
    if (total > maxOutput) {
      throw limitError(
        total > limits.maxDecompressedBytes
          ? `decompressed data exceeds the ${limits.maxDecompressedBytes}-byte limit`
          : `decompression ratio exceeds ${limits.maxRatio}:1`,
        { compressedBytes: input.length, decompressedSoFar: total, maxOutput },
      );
    }
    hash.update(block);
    // fzstd reuses no output buffer between blocks, so keeping the block itself is safe.
    if (keep) parts.push(block);
  });
  try {
    for (let off = 0; off < input.length; off += PUSH_BYTES) {
      const end = Math.min(input.length, off + PUSH_BYTES);
      decoder.push(input.subarray(off, end), end === input.length);
    }
  } catch (err) {
    if (isRediverError(err)) throw err;
    throw failed('zstd data failed to decompress', err);
  }
  const result: BoundedDecodeResult = { bytes: total, checksum: hash.digest('hex') };
  if (keep) result.data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  return result;
}
