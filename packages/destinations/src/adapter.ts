import type { Readable } from 'node:stream';
import type { NetworkGuard, ScopedLogger, Source, UploadResult } from '@upload-fleet/core';
import type { DestinationOf, DestinationType } from '@upload-fleet/destinations/definitions';

/**
 * The adapter contract: the only seam between the worker runtime and a destination.
 *
 * An adapter receives everything it needs in an UploadContext and returns the result,
 * or throws a FleetError of the shared taxonomy (anything else counts as UF_UNKNOWN,
 * transient up to the attempt limit). It never reads process.env.
 */
export interface DestinationAdapter<T extends DestinationType = DestinationType> {
  readonly type: T;
  upload(context: UploadContext<DestinationOf<T>>): Promise<UploadResult>;
  /**
   * The account behind a destination's credential, for fleet-wide limits (YouTube: the
   * channel id, so two tokens of one channel share one budget). Optional: without it the
   * runtime keys limits by a hash of the credential. The runtime caches the answer per
   * credential, so this is called once per credential, not once per upload.
   */
  accountOf?(context: AccountContext<DestinationOf<T>>): Promise<string>;
}

export interface AccountContext<D> {
  readonly destination: D;
  readonly signal: AbortSignal;
  readonly network: NetworkGuard;
  readonly credentials: CredentialProvider;
}

/** The rendered file. Always streamed: `open` returns a fresh stream, from a byte offset for resumes. */
export interface UploadSource {
  /** Size in bytes, known before the upload starts. */
  readonly size: number;
  /** A short description for logs (path relative to SOURCE_ROOT, or URL without query). */
  readonly description: string;
  open(offset?: number): Promise<Readable>;
  /**
   * Positional reads into the caller's buffers, for sources that are files. A stream
   * allocates a new buffer for every chunk, and on a worker's heap the garbage collector's
   * full collections that this allocation rate sets off cost more CPU than the transfer
   * itself; an adapter that writes the bytes itself (`writeSource`) reuses two buffers.
   * Absent for sources that are not files (a URL source is one download).
   */
  openReader?(): Promise<SourceReader>;
  /**
   * Releases what the source holds open: a path source keeps the file it checked open for
   * its first read. The worker calls it when the attempt ends; adapters do not.
   */
  close?(): Promise<void>;
}

/** An open file source: see `UploadSource.openReader`. */
export interface SourceReader {
  /**
   * Reads into `buffer` from file position `position`; the bytes read (0 at the end of the
   * file). Memory in a SharedArrayBuffer may still be read by another thread after this
   * returns (the worker hashes it in place): change it only by reading into it again.
   */
  read(buffer: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Resumable state of one upload, kept beside the job so a retry on another process continues. */
export interface CheckpointStore {
  load<T>(): Promise<T | undefined>;
  save<T>(state: T): Promise<void>;
  clear(): Promise<void>;
}

/** The id of an OAuth provider whose refresh tokens the fleet can hold (`auth_secret`): a definition's `connect.provider.id`. */
export type OAuthProvider = string;

/**
 * Access tokens for credentials the fleet holds (`auth_secret`). Tokens are cached
 * fleet-wide until shortly before they expire and refreshed once per credential, however
 * many workers ask at the same time.
 */
export interface CredentialProvider {
  /**
   * An access token for the credential named by `authSecret`. Pass `rejectedToken` when the
   * platform answered 401 for a token: it is refreshed (once, fleet-wide) instead of
   * served from the cache. Throws FleetError UF_RECONNECT_REQUIRED when the user revoked
   * access (`invalid_grant`), UF_CREDENTIALS_INVALID for an unknown auth_secret. `platform`
   * (the destination type) is the connect flow errors name, where a provider serves several
   * (Google: youtube, googledrive); default the provider's first.
   */
  accessToken(provider: OAuthProvider, authSecret: string, rejectedToken?: string, platform?: string): Promise<string>;
}

export interface UploadContext<D> {
  /** The validated destination, secret fields decrypted. */
  readonly destination: D;
  readonly source: UploadSource;
  readonly contentType: string;
  readonly extension: string | undefined;
  /** Aborted on shutdown, lost lock or timeout; adapters stop promptly and save a checkpoint. */
  readonly signal: AbortSignal;
  /** Bytes of the file the destination has received so far (the runtime throttles events). */
  reportProgress(bytesSent: number): void;
  readonly log: ScopedLogger;
  readonly checkpoint: CheckpointStore;
  /** 1 for the first try. */
  readonly attempt: number;
  /**
   * True when no retry follows a transient failure of this attempt (the attempt limit is
   * reached): adapters then clean up server-side state (an S3 multipart upload) instead
   * of keeping it for a resume that will never come. Aborts (shutdown) still resume.
   */
  readonly lastAttempt: boolean;
  /**
   * A stable id of this upload (one destination of one delivery), the same on every
   * attempt and worker, for receivers that deduplicate: the HTTP destination sends it as
   * `Idempotency-Key`. The runtime always sets it; tests may leave it out.
   */
  readonly uploadId?: string;
  readonly network: NetworkGuard;
  /**
   * Opens another file the destination names beside the video (YouTube's thumbnail and
   * caption files): a `{ path }` under SOURCE_ROOT or an http(s) `{ url }`, with the same
   * checks as the main source (the root and its symlinks; the network guard on the URL,
   * every redirect and every connection). The runtime always sets it; contexts built by
   * hand (benchmarks) may leave it out, and adapters then refuse such fields clearly.
   */
  readonly openFile?: (file: Source) => Promise<UploadSource>;
  /** For destinations that accept `auth_secret` (YouTube, Dropbox). */
  readonly credentials: CredentialProvider;
}
