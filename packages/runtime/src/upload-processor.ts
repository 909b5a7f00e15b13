import { createHash } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { createScrubbingLogger, contentTypeFor, FleetError, scrubDeep, scrubText, secretStringsOf, toFleetError, type Logger, type NetworkGuard, type SecretBox, type UploadJobData, type UploadResult } from '@upload-fleet/core';
import { destinationSchemas, type Destination } from '@upload-fleet/destinations/definitions';
import type { CredentialProvider, DestinationAdapter } from '@upload-fleet/destinations';
import type { OutcomeRecorder } from '@upload-fleet/producer';
import { redisCheckpointStore } from './checkpoint-store.js';
import type { FleetMetrics } from './metrics.js';
import { throttledProgress } from './progress.js';
import { retryDelayMs, withJitter, type BackoffOptions } from './retry-policy.js';
import type { AccountKeys, FleetLimiter, Permit } from './limits/index.js';
import { digestingSource, openSource, type DigestingSource, type SourceFileCalls } from './sources/index.js';

/** Reasons the runtime aborts an upload; adapters see them as `signal.reason`. */
export const ABORT_SHUTDOWN = 'shutdown';
export const ABORT_LOCK_LOST = 'lock-lost';

export interface UploadProcessorOptions {
  adapter: DestinationAdapter;
  connection: Redis | Cluster;
  /** Key prefix of the queues and records (checkpoints live under it too). */
  prefix: string;
  /** Where the outcome of each upload is written: final records, deferrals. */
  outcomes: OutcomeRecorder;
  secretBox: SecretBox;
  sourceRoot: string;
  /** How path sources make their file calls (SOURCE_FILE_CALLS); `auto` when unset. */
  sourceFileCalls?: SourceFileCalls;
  network: NetworkGuard;
  /** Fleet-wide rate limits and concurrency caps per destination account. */
  limiter: FleetLimiter;
  /** The account (limit key) behind each destination, cached per credential. */
  accountKeys: AccountKeys;
  /** A concurrency lease lapses this long after its holder stops renewing it. */
  leaseTtlMs: number;
  /** Access tokens for `auth_secret` credentials the fleet holds. */
  credentials: CredentialProvider;
  logger: Logger;
  backoff: BackoffOptions;
  /** One attempt may take this long before it is aborted and retried. */
  uploadTimeoutMs: number;
  checkpointTtlSeconds: number;
  /** How long a rate-limited upload waits when the destination did not say (Retry-After). */
  defaultRateLimitDelayMs: number;
  /** Counters of outcomes, bytes, retries and deferrals (metrics.ts). */
  metrics: FleetMetrics;
}

/** A transient failure, sanitized, carrying the delay the backoff strategy should use. */
export class RetryableUploadError extends Error {
  constructor(message: string, readonly delayMs: number) {
    super(message);
    this.name = 'RetryableUploadError';
  }
}

/**
 * The path of one upload attempt, top to bottom: decrypt the destination, open the
 * source, run the adapter with progress/abort/checkpoints, then write the outcome back.
 * Every failure is classified once here and becomes one of: done (permanent), retry
 * later (transient, with backoff), wait (rate limited, no attempt used) or requeue
 * (shutdown, no attempt used).
 */
export function createUploadProcessor(options: UploadProcessorOptions) {
  const { adapter, outcomes } = options;
  return async function processUpload(job: Job<UploadJobData, UploadResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<UploadResult> {
    const data = job.data;
    const maxAttempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    const baseLog = options.logger.child({ job_id: job.id, delivery: data.token, destination: adapter.type, attempt: `${attempt} of ${maxAttempts}` });

    let secrets: Record<string, unknown> = {};
    try {
      if (data.secrets) secrets = options.secretBox.decrypt<Record<string, unknown>>(data.secrets);
    } catch (error) {
      const failure = new FleetError('UF_CONFIGURATION', (error as Error).message, { destination: adapter.type });
      await outcomes.finishUpload(data.token, data.index, { state: 'failed', error: failure.toJSON(), attempts: attempt, finished_at: new Date().toISOString() });
      options.metrics.uploadFailed(adapter.type, failure.code, seconds());
      throw new UnrecoverableError(`[${failure.code}] ${failure.message}`);
    }
    const secretValues = secretStringsOf(secrets);
    const log = createScrubbingLogger(baseLog, secretValues);

    // The job's first run (no attempt ended, never handed back or deferred, never stalled)
    // knows what earlier runs leave behind, a deferral or a checkpoint, is not there: it
    // skips clearing them (a round trip each for every upload otherwise).
    const firstRun = job.attemptsMade === 0 && job.attemptsStarted <= 1;
    const checkpoint = redisCheckpointStore(options.connection, options.prefix, String(job.id), options.checkpointTtlSeconds, { leftByEarlierRun: !firstRun });
    const attemptAbort = abortOfAttempt(signal, options.uploadTimeoutMs);
    const combined = attemptAbort.signal;

    // Fleet-wide limits of the destination account; see limits/ and docs/rate-limits.md.
    let limitKey: string | undefined;
    let permit: Permit | undefined;
    let leaseRenewal: NodeJS.Timeout | undefined;
    let bytesSent = 0;
    let source: DigestingSource | undefined;

    try {
      // At-least-once is BullMQ's promise: a job whose outcome reached the delivery record can
      // run again, for example when Redis was away longer than the job lock and moveToFinished
      // found the lock gone. What the record shows completed is never uploaded twice: the job
      // completes with the recorded result, and nothing is sent. Such a run is never the job's
      // first (a job that runs again was fetched again, which counts attemptsStarted up), so
      // the first run spares the read: a round trip of every upload.
      const recorded = firstRun ? undefined : await outcomes.recordedFinal(data.token, data.index);
      if (recorded?.state === 'completed') {
        log.warn({ finished_at: recorded.finished_at }, 'the delivery record shows this upload completed; completing the job with the recorded result, sending nothing');
        await job.log(`already completed at ${recorded.finished_at} (delivery record); nothing sent again`);
        return recorded.result;
      }

      // A deadline is about starting: an upload that began before it (an attempt ended, or a
      // checkpoint to resume from) goes on; one that never started does not go out late.
      if (data.expires_at && Date.now() > Date.parse(data.expires_at) && job.attemptsMade === 0 && (await checkpoint.load()) === undefined) {
        throw new FleetError('UF_EXPIRED', `The upload had not started by the delivery's expires_at (${data.expires_at}); nothing was sent`, { destination: adapter.type });
      }

      const destination = destinationSchemas[adapter.type].parse({ ...data.destination, ...secrets }) as Destination;
      limitKey = await options.accountKeys.keyOf(adapter, destination, { signal: combined, network: options.network, credentials: options.credentials });
      // Windows count each attempt (job id and attempt number); the concurrency lease is the
      // job's own, so a re-run after a crash takes over the lease its dead worker left.
      const decision = await options.limiter.acquire(adapter.type, limitKey, `${job.id}:${job.attemptsStarted}`, String(job.id));
      if (!decision.allowed) {
        // Not now: wait in the delayed set (freeing this worker slot at once) without using
        // an attempt; jitter spreads the jobs of one key that would all wake together.
        const runAt = Date.now() + withJitter(decision.waitMs);
        await outcomes.recordDeferral(data.token, data.index, { reason: 'rate_limited', run_at: new Date(runAt).toISOString(), limit_key: limitKey });
        log.info({ limit_key: limitKey, reason: decision.reason, run_at: new Date(runAt).toISOString() }, 'deferred by a fleet-wide limit');
        options.metrics.uploadDeferred(adapter.type, decision.reason);
        // The job log is what the dashboard shows: why this job waits, and until when.
        await job.log(`deferred (${decision.reason}) by the limits of ${adapter.type} account "${limitKey}" until ${new Date(runAt).toISOString()}`);
        await job.moveToDelayed(runAt, token);
        throw new DelayedError();
      }
      permit = decision.permit;
      if (options.limiter.rulesFor(adapter.type, limitKey)?.concurrency !== undefined) {
        const activePermit = permit;
        leaseRenewal = setInterval(() => void activePermit.renew().catch(() => undefined), Math.max(100, options.leaseTtlMs / 3));
      }

      if (!firstRun) await outcomes.clearDeferral(data.token, data.index);
      // The whole file's SHA-256 goes into every result, hashed from the bytes the adapter streams (sources/source-digest.ts).
      // holdOpen: the file checked is the file read (closed in `finally`).
      source = digestingSource(await openSource(data.source, { sourceRoot: options.sourceRoot, fileCalls: options.sourceFileCalls, network: options.network, holdOpen: true }));
      const progress = throttledProgress(source.size, (p) => job.updateProgress(p));
      log.info({ source: source.description, bytes: source.size, limit_key: limitKey }, 'upload started');

      const answer = await adapter.upload({
        destination: destination as never,
        source,
        contentType: contentTypeFor(destination, data.extension),
        extension: data.extension,
        signal: combined,
        reportProgress: (bytes) => {
          bytesSent = Math.max(bytesSent, bytes);
          progress.report(bytes);
        },
        log,
        checkpoint,
        attempt,
        lastAttempt: attempt >= maxAttempts,
        uploadId: uploadIdOf(data.token, data.index),
        network: options.network,
        openFile: (file) => openSource(file, { sourceRoot: options.sourceRoot, fileCalls: options.sourceFileCalls, network: options.network }),
        credentials: options.credentials,
      });
      // What the destination answered is stored (job return value, delivery record) and shown
      // by the status API: scrub every secret of this job from it, whatever the adapter did.
      const result = { ...scrubDeep(answer, secretValues), sha256: await source.sha256() };
      progress.report(source.size);
      await progress.flush();
      await checkpoint.clearAfterCompletion();
      await outcomes.finishUpload(data.token, data.index, { state: 'completed', result, attempts: attempt, finished_at: new Date().toISOString() }, { deferralMayExist: !firstRun });
      log.info({ url: result.url, bytes: result.bytes }, 'upload completed');
      options.metrics.uploadCompleted(adapter.type, result.bytes, seconds());
      return result;
    } catch (raw) {
      // Errors from BullMQ's own control flow pass through untouched.
      if (raw instanceof DelayedError || raw instanceof UnrecoverableError) throw raw;
      const error = classifyFailure(raw, signal, attemptAbort.timedOut(), adapter.type);
      // What users and operators see: the message without any secret of this job. BullMQ's
      // failure reason carries the code in front, so the dashboard shows it too.
      const userMessage = scrubText(error.message, secretValues);
      const safeError = { ...error.toJSON(), message: userMessage, ...(error.details ? { details: scrubText(error.details, secretValues) } : {}) };
      const failedReason = `[${error.code}] ${userMessage}`;

      // An attempt that never got a byte to the platform does not count against its limits.
      if (permit && bytesSent === 0) await permit.giveBack().catch(() => undefined);

      if (signal?.aborted && signal.reason === ABORT_SHUTDOWN && token) {
        // The worker is shutting down: hand the job back at once, without using an attempt.
        // The adapter saved its checkpoint, so the next worker resumes mid-file.
        log.warn({ code: error.code }, 'upload interrupted by shutdown; handed back to the queue');
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }

      if (error.category === 'rate_limited' && token) {
        // The platform said "slow down": pause this account for the whole fleet, so other
        // workers do not spend requests learning the same thing.
        const waitMs = error.retryAfterMs ?? options.defaultRateLimitDelayMs;
        // The console shows why the key is paused: the code and the scrubbed message.
        const pauseReason = `${error.code}: ${userMessage}`.slice(0, 300);
        if (error.pauseScope === 'destination') await options.limiter.pauseDestination(adapter.type, waitMs, pauseReason);
        else if (limitKey) await options.limiter.pause(adapter.type, limitKey, waitMs, pauseReason);
        const runAt = Date.now() + withJitter(waitMs);
        await outcomes.recordDeferral(data.token, data.index, {
          reason: 'rate_limited',
          run_at: new Date(runAt).toISOString(),
          ...(limitKey ? { limit_key: limitKey } : {}),
          error: safeError,
        });
        log.warn({ code: error.code, limit_key: limitKey, run_at: new Date(runAt).toISOString() }, 'rate limited by the platform; key paused, job deferred without using an attempt');
        options.metrics.uploadDeferred(adapter.type, 'platform');
        await job.log(`deferred: the platform limits ${error.pauseScope === 'destination' ? `every ${adapter.type} upload` : `${adapter.type} account "${limitKey}"`} until ${new Date(runAt).toISOString()} (${error.code})`);
        await job.moveToDelayed(runAt, token);
        throw new DelayedError();
      }

      const lastAttempt = attempt >= maxAttempts;
      if (error.category === 'permanent' || error.category === 'auth' || error.category === 'rate_limited' || lastAttempt) {
        log.error({ code: error.code, category: error.category, message: userMessage }, lastAttempt && error.retryable ? 'upload failed after its last attempt' : 'upload failed permanently');
        await outcomes.finishUpload(data.token, data.index, {
          state: 'failed',
          error: safeError,
          attempts: attempt,
          finished_at: new Date().toISOString(),
        });
        options.metrics.uploadFailed(adapter.type, error.code, seconds());
        throw new UnrecoverableError(failedReason);
      }

      const delayMs = retryDelayMs(attempt, error, options.backoff);
      await outcomes.recordDeferral(data.token, data.index, {
        reason: 'retry_backoff',
        run_at: new Date(Date.now() + delayMs).toISOString(),
        error: safeError,
      });
      log.warn({ code: error.code, message: userMessage, retry_in_ms: delayMs }, 'upload failed; will retry');
      options.metrics.uploadRetried(adapter.type, error.code, seconds());
      throw new RetryableUploadError(failedReason, delayMs);
    } finally {
      // The outcome is decided; a descriptor that fails to close changes nothing about it.
      await source?.close().catch((error: unknown) => log.warn({ code: (error as NodeJS.ErrnoException).code }, 'the source file could not be closed'));
      clearInterval(leaseRenewal);
      attemptAbort.dispose();
      await permit?.release().catch(() => undefined);
    }
  };
}

/**
 * A stable id of one upload, the same on every attempt and every worker: for receivers that
 * deduplicate (the HTTP destination's Idempotency-Key). UUID-shaped and derived by hashing,
 * so it does not reveal the delivery token (the handle to the delivery's status).
 */
export function uploadIdOf(token: string, index: number): string {
  const hex = createHash('sha256').update(`upload-fleet upload ${token}:${index}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The signal an attempt's adapter sees: aborted with the worker's reason (shutdown, lost
 * lock) or when the attempt has run UPLOAD_TIMEOUT_MS. One AbortController whose timer is
 * cleared when the attempt ends, not AbortSignal.timeout and AbortSignal.any: their timer
 * stays pending (six hours by default) until the collector has freed the signal, and at a
 * few hundred tiny uploads a second that piled up timers and weak references for the
 * collector to clear; the pair also cost about 3 µs more per attempt.
 */
function abortOfAttempt(signal: AbortSignal | undefined, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  // Like AbortSignal.timeout's, the timer does not keep the process alive by itself.
  timer.unref();
  const forward = () => controller.abort(signal?.reason);
  if (signal?.aborted) forward();
  else signal?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    /** The attempt ran out of time (and was not aborted by the worker first). */
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    },
  };
}

/** Turns whatever was thrown into the taxonomy, taking the abort reason into account. */
function classifyFailure(raw: unknown, signal: AbortSignal | undefined, timedOut: boolean, destination: string): FleetError {
  if (timedOut && !(signal?.aborted)) {
    return new FleetError('UF_TIMEOUT', 'The upload attempt ran longer than UPLOAD_TIMEOUT_MS and was aborted', { destination, cause: raw });
  }
  if (signal?.aborted) {
    const reason = signal.reason === ABORT_LOCK_LOST ? 'the worker lost the job lock' : 'the worker is shutting down';
    return new FleetError('UF_ABORTED', `The upload was aborted because ${reason}`, { destination, cause: raw });
  }
  return toFleetError(raw, destination);
}
