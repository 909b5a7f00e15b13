import type { UploadSource } from '../adapter.js';
import { ChunkReader as GoogleChunkReader } from '../google/chunk-reader.js';

/** The shared Google chunk reader (google/chunk-reader.ts), its source errors naming YouTube. */
export class ChunkReader extends GoogleChunkReader {
  constructor(source: UploadSource, size: number) {
    super(source, size, 'youtube');
  }
}
