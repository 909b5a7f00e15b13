import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FleetError } from '@upload-fleet/core';
import type { S3Destination } from './definition.js';
import type { UploadContext } from '../adapter.js';
import { checkpointFits, type S3Checkpoint } from './checkpoint.js';
import { countSentBytes } from './client.js';
import { classifyS3Error, s3ErrorName, type S3Where } from './errors.js';
import { choosePartSize, partCount, partRange, partsInFlightFor } from './part-size.js';
import { SourceRangeReader } from '../source-ranges.js';
import { PartBuffers } from './part-buffers.js';
import { sendPartsInFlight } from '../parts-in-flight.js';
import type { PartProgress } from '../part-progress.js';
import { sendWithAcl, type AclOutcome } from './acl-fallback.js';
import type { AclRequest } from './object-parameters.js';
import { bareEtag, checkEtag, CHECKSUM_MISMATCH, ChecksumMismatch, md5Of, multipartEtag } from './checksum.js';

/**
 * A resumable multipart upload, written as its own loop on client-s3 rather than with
 * @aws-sdk/lib-storage: lib-storage's Upload always starts a new multipart upload and
 * cannot continue one by UploadId with the parts already sent
 * (https://github.com/aws/aws-sdk-js-v3/issues/6832), which a retry on another process
 * needs.
 *
 * 1. Resume or start. A checkpoint of this upload names its UploadId; ListParts tells
 *    which parts S3 holds (S3 is trusted, not the checkpoint). A gone UploadId
 *    (NoSuchUpload) starts over. Otherwise CreateMultipartUpload, and the UploadId is
 *    saved before any part is sent.
 * 2. Send the missing parts, at most `partsInFlight` at once, each read from the source
 *    at its own offset into one of as many reused part buffers (part-buffers.ts), with a
 *    Content-MD5, its ETag checked against that MD5 (checksum.ts). The checkpoint is saved
 *    after each.
 * 3. CompleteMultipartUpload with every part's ETag, then clear the checkpoint.
 *
 * On failure: a permanent error aborts the multipart upload (AbortMultipartUpload) and
 * clears the checkpoint, so no parts are left behind to pay for; an abort through the
 * context's signal (shutdown, lost lock, timeout) and transient errors keep both, for the
 * next attempt to resume.
 */

export interface MultipartJob {
  client: S3Client;
  context: UploadContext<S3Destination>;
  /** Endpoint id, bucket and key of this upload (what a checkpoint must match). */
  endpoint: string;
  bucket: string;
  key: string;
  size: number;
  /** Headers of the object (content type, metadata, ...), given when the upload starts. */
  objectParams: Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body' | 'ACL'>;
  /** The ACL, sent with CreateMultipartUpload (acl-fallback.ts). */
  acl: AclRequest;
  /** S3_PARTS_IN_FLIGHT. */
  partsInFlight: number;
  /** S3_PART_SIZE_MIB in bytes, for a new upload (a resumed one keeps its own part size). */
  partSize: number;
  where: S3Where;
  progress: PartProgress;
}

interface UploadState {
  uploadId: string;
  partSize: number;
  /** Parts S3 holds: part number -> ETag, size, and the MD5 where known (sent now, or in the checkpoint). */
  done: Map<number, Part>;
  /** What became of the ACL when the upload was created; undefined for checkpoints of older releases. */
  acl: AclOutcome | undefined;
  /** False once a part's ETag could not be checked against its MD5 (SSE-KMS, or a part the checkpoint has no MD5 of). */
  verified: boolean;
}

interface Part {
  etag: string;
  size: number;
  md5?: Buffer | undefined;
}

/** Waits at most this long for AbortMultipartUpload after a permanent failure. */
const ABORT_TIMEOUT_MS = 30_000;

export interface Completed {
  etag: string | undefined;
  versionId: string | undefined;
  acl: AclOutcome | undefined;
  /** The server-side encryption S3 reported. */
  sse: string | undefined;
  checksum: { algorithm: 'MD5'; scope: 'object' | 'parts'; value?: string; parts?: number; verified: boolean };
}

export async function uploadMultipart(job: MultipartJob, saved: S3Checkpoint | undefined): Promise<Completed> {
  const { context } = job;
  // The UploadId in use, known to the failure handling below from the moment there is one.
  let uploadId: string | undefined;
  try {
    const fits = saved !== undefined && checkpointFits(saved, job);
    if (saved && !fits) await discardCheckpoint(job, saved);
    if (fits) uploadId = saved.uploadId;
    const state = (fits ? await resume(job, saved) : undefined) ?? (await start(job));
    uploadId = state.uploadId;
    await sendMissingParts(job, state);
    const completed = await complete(job, state);
    await context.checkpoint.clear();
    return completed;
  } catch (error) {
    const failure = classifyS3Error(error, job.where, context.signal);
    await afterFailure(job, uploadId, failure, error);
    throw failure;
  }
}

/**
 * A checkpoint that is not this upload's: of another key, or of a file that has changed
 * size since. Its multipart upload can never be completed, so abort it (when it is in the
 * same bucket and endpoint, where these credentials reach) and forget it.
 */
export async function discardCheckpoint(job: Pick<MultipartJob, 'client' | 'context' | 'endpoint' | 'bucket'>, saved: S3Checkpoint): Promise<void> {
  job.context.log.warn({ bucket: saved.bucket, key: saved.key, size: saved.size }, 'the checkpoint belongs to another upload; starting anew');
  if (saved.endpoint === job.endpoint && saved.bucket === job.bucket) await abortQuietly(job, saved.key, saved.uploadId);
  await job.context.checkpoint.clear();
}

/** The state of a checkpointed upload as S3 sees it, or undefined when S3 no longer has it. */
async function resume(job: MultipartJob, saved: S3Checkpoint): Promise<UploadState | undefined> {
  const { context } = job;
  let onServer: Map<number, Part>;
  try {
    onServer = await listParts(job, saved.uploadId);
  } catch (error) {
    if (s3ErrorName(error) !== 'NoSuchUpload') throw error;
    context.log.info({ upload_id: saved.uploadId }, 'the checkpointed multipart upload no longer exists; starting a new one');
    await context.checkpoint.clear();
    return undefined;
  }
  const state: UploadState = {
    uploadId: saved.uploadId,
    partSize: saved.partSize,
    done: new Map(),
    acl: saved.acl === undefined ? undefined : { applied: saved.acl ?? undefined, note: saved.aclNote },
    verified: true,
  };
  // The MD5s of parts this upload sent before, for the parts S3 still holds with the same ETag.
  const md5s = new Map(saved.parts.filter((p) => p.MD5 !== undefined).map((p) => [`${p.PartNumber} ${bareEtag(p.ETag)}`, Buffer.from(p.MD5!, 'base64')]));
  const count = partCount(job.size, saved.partSize);
  let confirmedBytes = 0;
  for (const [partNumber, part] of onServer) {
    // A part counts only if it has exactly the size it must have; anything else (a part
    // of another part size, a torn write) is sent again, which replaces it.
    if (partNumber > count || part.size !== partRange(partNumber, job.size, saved.partSize).length) continue;
    const md5 = md5s.get(`${partNumber} ${bareEtag(part.etag)}`);
    if (md5 === undefined) state.verified = false;
    state.done.set(partNumber, { ...part, md5 });
    confirmedBytes += part.size;
  }
  context.log.info(
    { upload_id: saved.uploadId, parts: count, on_server: state.done.size, in_checkpoint: saved.parts.length },
    'resuming the multipart upload with the parts S3 holds',
  );
  job.progress.confirmed(confirmedBytes);
  await saveCheckpoint(job, state);
  return state;
}

async function listParts(job: MultipartJob, uploadId: string): Promise<Map<number, Part>> {
  const parts = new Map<number, Part>();
  let marker: string | undefined;
  do {
    const page = await job.client.send(new ListPartsCommand({ Bucket: job.bucket, Key: job.key, UploadId: uploadId, PartNumberMarker: marker }), {
      abortSignal: job.context.signal,
    });
    for (const part of page.Parts ?? []) {
      if (part.PartNumber !== undefined && part.ETag !== undefined && part.Size !== undefined) parts.set(part.PartNumber, { etag: part.ETag, size: part.Size });
    }
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker);
  return parts;
}

async function start(job: MultipartJob): Promise<UploadState> {
  const { context } = job;
  const partSize = choosePartSize(job.size, job.partSize, job.partsInFlight);
  context.signal.throwIfAborted();
  // Not cancelled once sent (the socket's idle timeout still bounds it): an UploadId that
  // S3 issued but we never saw could be neither resumed nor aborted.
  const { answer: created, acl } = await sendWithAcl(job.acl, job.where, context.log, (ACL) =>
    job.client.send(new CreateMultipartUploadCommand({ Bucket: job.bucket, Key: job.key, ...job.objectParams, ...(ACL ? { ACL } : {}) })),
  );
  if (!created.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
  const state: UploadState = { uploadId: created.UploadId, partSize, done: new Map(), acl, verified: true };
  context.log.info({ upload_id: state.uploadId, part_size: partSize, parts: partCount(job.size, partSize) }, 'multipart upload started');
  try {
    // Without the UploadId saved, a retry could not find these parts again.
    await context.checkpoint.save(checkpointOf(job, state));
  } catch (error) {
    await abortQuietly(job, job.key, state.uploadId);
    throw error;
  }
  return state;
}

/**
 * Sends the parts S3 does not hold yet, at most `inFlight` at once (parts-in-flight.ts).
 * The parts that finished are in the checkpoint, also when another one failed.
 */
async function sendMissingParts(job: MultipartJob, state: UploadState): Promise<void> {
  let saving: Promise<void> = Promise.resolve();
  const buffers = new PartBuffers(state.partSize);
  try {
    await sendPartsInFlight({
      inFlight: partsInFlightFor(job.partsInFlight, state.partSize, job.size),
      signal: job.context.signal,
      read: (signal) => missingParts(job, state, buffers, signal),
      send: async ({ partNumber, body }, signal) => {
        let sent: SentPart;
        try {
          sent = await sendPart(job, state.uploadId, partNumber, body, signal);
        } catch (error) {
          job.progress.dropped(partNumber);
          throw error;
        }
        if (!sent.verified) state.verified = false;
        state.done.set(partNumber, { etag: sent.etag, size: body.length, md5: sent.md5 });
        job.progress.finished(partNumber, body.length);
        buffers.give(body);
        saving = saving.then(() => saveCheckpoint(job, state));
      },
    });
  } finally {
    await saving;
  }
}

/** The parts S3 does not hold, each read from the source into a free part buffer when a sender asks for it. */
async function* missingParts(job: MultipartJob, state: UploadState, buffers: PartBuffers, signal: AbortSignal): AsyncGenerator<{ partNumber: number; body: Buffer }> {
  const reader = new SourceRangeReader(job.context.source, 's3', signal);
  try {
    for (let partNumber = 1; partNumber <= partCount(job.size, state.partSize); partNumber += 1) {
      if (state.done.has(partNumber)) continue;
      const { offset, length } = partRange(partNumber, job.size, state.partSize);
      yield { partNumber, body: await reader.read(offset, length, buffers.take(length)) };
    }
  } finally {
    reader.close();
  }
}

interface SentPart {
  etag: string;
  md5: Buffer;
  /** Whether S3's ETag was checked against the MD5 (checksum.ts). */
  verified: boolean;
}

/** Tries of a part whose ETag is not its MD5: the next send replaces the altered part. */
const SENDS_PER_ALTERED_PART = 2;

async function sendPart(job: MultipartJob, uploadId: string, partNumber: number, body: Buffer, signal: AbortSignal): Promise<SentPart> {
  const md5 = md5Of(body);
  for (let send = 1; ; send += 1) {
    const command = new UploadPartCommand({
      Bucket: job.bucket,
      Key: job.key,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentLength: body.length,
      ContentMD5: md5.toString('base64'),
    });
    const answer = await job.client.send(
      countSentBytes(command, (sent) => job.progress.sending(partNumber, sent)),
      { abortSignal: signal },
    );
    if (!answer.ETag) throw new Error(`UploadPart ${partNumber} answered without an ETag`);
    try {
      return { etag: answer.ETag, md5, verified: checkEtag(answer.ETag, md5, answer.ServerSideEncryption, `part ${partNumber}`, job.where.host) };
    } catch (error) {
      if (!(error instanceof ChecksumMismatch) || send >= SENDS_PER_ALTERED_PART) throw error;
      job.context.log.warn({ part: partNumber }, 'S3 stored the part altered (its ETag is not the MD5 sent); sending it again');
    }
  }
}

/**
 * Once S3 holds every part, completing takes a moment, and S3 forgets the UploadId when
 * it is done. Completing is therefore not cancelled by an abort that arrives while it
 * runs (the socket's idle timeout still bounds it): cut short, the object might exist
 * while the next attempt, finding no UploadId, uploaded the whole file again.
 */
async function complete(job: MultipartJob, state: UploadState): Promise<Completed> {
  const { context } = job;
  context.signal.throwIfAborted();
  const parts = [...state.done.entries()].sort(([a], [b]) => a - b).map(([PartNumber, part]) => ({ PartNumber, ETag: part.etag }));
  const answer = await job.client.send(
    new CompleteMultipartUploadCommand({ Bucket: job.bucket, Key: job.key, UploadId: state.uploadId, MultipartUpload: { Parts: parts } }),
  );
  context.log.info({ upload_id: state.uploadId, parts: parts.length }, 'multipart upload completed');
  return { etag: answer.ETag, versionId: answer.VersionId, acl: state.acl, sse: answer.ServerSideEncryption, checksum: completedChecksum(state, answer.ETag, answer.ServerSideEncryption, job.where.host) };
}

/**
 * The object's multipart checksum (checksum.ts), known when every part's MD5 is. S3 answers
 * it as the ETag; a server that answers another form (s3rver: the whole file's MD5) is
 * trusted on the per-part checks.
 */
function completedChecksum(state: UploadState, rawEtag: string | undefined, sse: string | undefined, host: string): Completed['checksum'] {
  const parts = [...state.done.entries()].sort(([a], [b]) => a - b).map(([, part]) => part.md5);
  const known = parts.every((md5): md5 is Buffer => md5 !== undefined);
  const value = known ? multipartEtag(parts) : undefined;
  const etag = bareEtag(rawEtag);
  let verified = state.verified && known;
  if (value !== undefined && etag !== undefined && /^[0-9a-f]{32}-\d+$/.test(etag) && !(sse ?? '').startsWith('aws:kms')) {
    if (etag !== value) throw new ChecksumMismatch(`${host} completed the object with ETag ${etag}, but the parts sent make ${value} (checksum mismatch)`);
    verified = true;
  }
  return { algorithm: 'MD5', scope: 'parts', ...(value !== undefined ? { value } : {}), parts: parts.length, verified };
}

/**
 * Permanent failures (and a source that changed, whose sent parts are of the old file)
 * abort the multipart upload and clear the checkpoint, and so does a transient failure
 * of the last attempt (no retry will resume it); a gone upload clears the checkpoint.
 * Everything else, aborts included, keeps both for the next attempt.
 */
async function afterFailure(job: MultipartJob, uploadId: string | undefined, failure: FleetError, error: unknown): Promise<void> {
  const { context } = job;
  const failsForGood = failure.category === 'permanent' || (context.lastAttempt && failure.category === 'transient' && failure.code !== 'UF_ABORTED');
  // Parts that arrived altered are listed like any other: no resume may complete with them.
  if (failsForGood || failure.code === 'UF_SOURCE_CHANGED' || s3ErrorName(error) === CHECKSUM_MISMATCH) {
    if (uploadId) await abortQuietly(job, job.key, uploadId);
    await clearQuietly(job);
  } else if (s3ErrorName(error) === 'NoSuchUpload') {
    await clearQuietly(job);
  } else if (uploadId) {
    context.log.info({ upload_id: uploadId, code: failure.code }, 'multipart upload interrupted; kept with its checkpoint for the next attempt');
  }
}

async function abortQuietly(job: Pick<MultipartJob, 'client' | 'context' | 'bucket'>, key: string, uploadId: string): Promise<void> {
  try {
    await job.client.send(new AbortMultipartUploadCommand({ Bucket: job.bucket, Key: key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) });
    job.context.log.info({ upload_id: uploadId }, 'multipart upload aborted; its parts are deleted');
  } catch (error) {
    // The original failure matters more; an incomplete upload left behind is removed by
    // a bucket lifecycle rule (AbortIncompleteMultipartUpload), see docs/destinations/s3.md.
    job.context.log.warn({ upload_id: uploadId, error: s3ErrorName(error) }, 'could not abort the multipart upload; its parts remain until a lifecycle rule removes them');
  }
}

async function clearQuietly(job: MultipartJob): Promise<void> {
  try {
    await job.context.checkpoint.clear();
  } catch (error) {
    job.context.log.warn({ error: (error as Error).message }, 'could not clear the checkpoint');
  }
}

/** Saves the parts S3 holds. A failed save is logged, not fatal: the UploadId is saved already, and ListParts finds the parts. */
async function saveCheckpoint(job: MultipartJob, state: UploadState): Promise<void> {
  try {
    await job.context.checkpoint.save(checkpointOf(job, state));
  } catch (error) {
    job.context.log.warn({ error: (error as Error).message }, 'could not save the checkpoint; the next attempt asks S3 for the parts');
  }
}

function checkpointOf(job: MultipartJob, state: UploadState): S3Checkpoint {
  return {
    version: 1,
    uploadId: state.uploadId,
    endpoint: job.endpoint,
    bucket: job.bucket,
    key: job.key,
    size: job.size,
    partSize: state.partSize,
    parts: [...state.done.entries()]
      .sort(([a], [b]) => a - b)
      .map(([PartNumber, part]) => ({ PartNumber, ETag: part.etag, ...(part.md5 ? { MD5: part.md5.toString('base64') } : {}) })),
    ...(state.acl ? { acl: state.acl.applied ?? null, ...(state.acl.note ? { aclNote: state.acl.note } : {}) } : {}),
  };
}
