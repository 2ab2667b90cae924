import { Compressor } from 'zstd-napi';

/**
 * zstd compression at a fixed level. Every output is ONE standard zstd frame with its content size and
 * XXH64 checksum in the header/footer, so any decoder (fzstd, the `zstd` CLI, the platform) reads it.
 */
export class ChunkCompressor {
  readonly #compressor = new Compressor();

  constructor(level: number) {
    this.#compressor.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: true });
  }

  /** Compresses `data` into one zstd frame. */
  compress(data: Uint8Array): Buffer {
    return this.#compressor.compress(data);
  }
}
