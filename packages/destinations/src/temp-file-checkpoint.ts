import type { ScopedLogger } from '@upload-fleet/core';
import type { CheckpointStore } from './adapter.js';

/** What FTP and SFTP save while they write to a temporary name: a resume starts from the size the server reports for it. */
export interface TempFileState {
  tempPath: string;
  size: number;
  /** Bytes the server had been sent (FTP) or had acknowledged without a gap (SFTP) when saved. */
  offset: number;
}

const MiB = 1024 * 1024;
/** Progress between two saves while streaming: one Redis write per 4 MiB. */
const SAVE_EVERY_BYTES = 4 * MiB;

/**
 * The checkpoint of an upload to a temporary file (FTP, SFTP): taken once the temporary
 * file is the upload's, saved again every few MiB of progress and when the attempt stops,
 * always in order (a slow save never overwrites a later one), and dropped when the temporary
 * file is no longer worth resuming. A failed save is logged, not fatal: the next one may work.
 */
export class TempFileCheckpoint {
  private state: TempFileState | undefined;
  private lastSaved = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CheckpointStore,
    private readonly log: ScopedLogger,
    /** For the log: "FTP", "SFTP". */
    private readonly protocol: string,
  ) {}

  /** Whether the temporary file is this upload's (a checkpoint was taken and not dropped). */
  get held(): boolean {
    return this.state !== undefined;
  }

  /** The temporary file is the upload's from `offset` on: saved before any byte is sent. */
  async take(tempPath: string, size: number, offset: number): Promise<void> {
    this.state = { tempPath, size, offset };
    this.lastSaved = offset;
    await this.store.save(this.state);
  }

  /** Progress of the transfer: saved when it moved SAVE_EVERY_BYTES since the last save. */
  progressed(bytes: number): void {
    if (this.state && bytes - this.lastSaved >= SAVE_EVERY_BYTES) {
      this.lastSaved = bytes;
      void this.save(bytes);
    }
  }

  /** Saves `offset` after every save before it; resolves when it is written (or failed and was logged). */
  save(offset: number): Promise<void> {
    if (!this.state) return this.saving;
    const state = { ...this.state, offset };
    this.state = state;
    this.saving = this.saving
      .then(() => this.store.save(state))
      .catch((error: unknown) => this.log.warn({ err: error }, `could not save the ${this.protocol} upload checkpoint`));
    return this.saving;
  }

  /** Nothing on the server is worth resuming any more (wrong size, another version of the file, a permanent failure). */
  async drop(): Promise<void> {
    this.state = undefined;
    await this.store.clear();
  }
}
