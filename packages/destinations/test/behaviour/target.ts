import type { ErrorCategory, ErrorCode, SecretBox, UploadResult } from '@upload-fleet/core';
import type { Destination, DestinationType } from '@upload-fleet/destinations/definitions';
import type { UploadContext } from '../../src/index.js';

/**
 * One destination's stand-in for the shared behaviour suite (behaviour.test.ts): a real
 * server (s3rver, azurite, ftp-srv, an HTTP receiver) and the adapter pointed at it.
 * Every adapter passes the same suite; each target file in ./targets exports
 * `createTarget(): Promise<BehaviourTarget>`.
 */
export interface BehaviourTarget {
  readonly type: DestinationType;
  /** True when an interrupted upload continues where it stopped; false when it starts over (HTTP). */
  readonly resumable: boolean;
  /** The adapter under test (any destination type: method parameters are checked loosely on purpose). */
  readonly adapter: { readonly type: DestinationType; upload(context: UploadContext<never>): Promise<UploadResult> };
  /** A valid destination that stores the file under `name` (key, blob name, path). */
  destination(name: string): Destination;
  /** What the server holds under `name` now, or undefined when nothing is there. */
  stored(name: string): Promise<{ size: number; sha256: string } | undefined>;
  /**
   * How many files/videos were created under `name`: for platforms where a repeated upload
   * makes a second copy (a second YouTube video), so the resume tests can prove "one, never two".
   */
  copies?(name: string): Promise<number>;
  /**
   * The most file bytes over the wire, as a multiple of the file's size, that the kill test
   * (64 MiB, killed at 40%) may see; unset: the suite's bound for any resumable target (1.5).
   */
  readonly maxResendRatio?: number;
  /** File bytes the server has received since the target started (for resume checks). */
  bytesReceived(): number;
  /** Slows uploads to this many bytes per second (0: full speed), so a test can stop one mid-way. */
  throttle(bytesPerSecond: number): void;
  /** Environment for a worker process (apps/worker) to reach this server, beside REDIS_URL etc. */
  workerEnv(): Record<string, string>;
  /**
   * Called once before the worker-process tests, with where those workers keep their state:
   * a target whose destinations name a credential the fleet holds (`auth_secret` only, as
   * TikTok's) stores it there, and its `destination()` names that one from then on.
   */
  prepareWorkers?(fleet: { redisUrl: string; prefix: string; secretBox: SecretBox }): Promise<void>;
  /**
   * Set when the platform cannot take a 0-byte file (a video platform): the suite's 0-byte
   * case then expects this permanent error, before anything is sent, instead of a stored file.
   */
  readonly refusesEmptyFile?: { code: ErrorCode };
  /** Real error answers of this server and the code each must be classified as. */
  errorCases(): Promise<ErrorCase[]>;
  close(): Promise<void>;
}

export interface ErrorCase {
  name: string;
  destination: Destination;
  code: ErrorCode;
  category: ErrorCategory;
  /** Prepares the server for this case (inject a fault); undone by the next case. */
  before?: () => Promise<void> | void;
}
