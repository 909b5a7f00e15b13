import { GetObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { S3Destination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { S3Settings } from './definition.js';
import { checkpointFits, parseCheckpoint, type S3Checkpoint } from './checkpoint.js';
import { connectS3, countSentBytes, type S3Connection } from './client.js';
import type { S3Endpoint } from './endpoint.js';
import { objectPlan, providerEndpoint, providerOf, type ObjectPlan } from './providers.js';
import { classifyS3Error, type S3Where } from './errors.js';
import { discardCheckpoint, uploadMultipart, type Completed } from './multipart.js';
import { sendWithAcl } from './acl-fallback.js';
import { checkEtag, md5Of } from './checksum.js';
import { aclRequest, prefixedUrl, storageClassOf, taggingOf } from './object-parameters.js';
import { SourceRangeReader } from '../source-ranges.js';
import { choosePartSize, MAX_OBJECT_SIZE } from './part-size.js';
import { createPartProgress, type PartProgress } from '../part-progress.js';
import { encodeKey, objectUrl } from './url.js';

/**
 * Amazon S3, S3-compatible servers through `s3host`, and the S3-compatible services named
 * by `provider` (providers.ts: their endpoints, URL shapes, and what each ignores or refuses).
 *
 * A file that fits in one part (see part-size.ts: 5 MiB for most files) is sent with one
 * PutObject; a larger one as a resumable multipart upload (multipart.ts), so a retry on
 * any process continues with the parts S3 already holds. Either way the file is streamed
 * from the source a part at a time, never held whole in memory.
 *
 * Where requests go (https, region, path-style) is decided in endpoint.ts, the URL the
 * caller gets back in url.ts, and what failures mean in errors.ts.
 */
export function createS3Adapter(config: S3Settings): DestinationAdapter<'s3'> {
  return { type: 's3', upload: (context) => upload(config, context) };
}

async function upload(config: S3Settings, context: UploadContext<S3Destination>): Promise<UploadResult> {
  const { destination, source, signal, network, log } = context;
  const { bucket, filename: key } = destination;
  const hasKeys = destination.aws_access_key_id !== undefined;
  const provider = providerOf(destination);
  const endpoint = providerEndpoint(destination, config.forcePathStyle, config.endpoints);
  const plan = objectPlan(destination);
  const where: S3Where = { bucket, key, host: endpoint.publicHost, usePolicy: !hasKeys, provider };
  if (signal.aborted) throw classifyS3Error(signal.reason, where, signal);
  if (source.size > MAX_OBJECT_SIZE) {
    throw new FleetError('UF_FILE_TOO_LARGE', `The file has ${source.size} bytes; S3 objects can have at most 5 TiB`, { destination: 's3' });
  }
  if (hasKeys && destination.aws_use_policy) {
    log.warn({ bucket }, 'both access keys and aws_use_policy were given: the keys sign, the fleet\'s own credentials are not used');
  }

  // s3host is the caller's choice: refuse private and metadata addresses before anything
  // is sent; the connections check again at connect time (client.ts).
  await network.assertAllowed(endpoint.checkUrl);

  const connection = connectS3(endpoint, destination, network);
  const progress = createPartProgress(source.size, (bytes) => context.reportProgress(bytes));
  try {
    const saved = parseCheckpoint(await context.checkpoint.load());
    const resumable = saved !== undefined && checkpointFits(saved, { endpoint: endpoint.id, bucket, key, size: source.size });
    // A started multipart upload is continued even if the chooser would now pick a single PUT.
    const multipart = resumable || source.size > choosePartSize(source.size, config.partSize, config.partsInFlight);
    log.info({ bucket, key, provider, host: endpoint.publicHost, bytes: source.size, multipart, resuming: resumable }, 'uploading to S3');
    for (const note of plan.notes) log.info({ provider }, note);

    const completed = multipart
      ? await uploadMultipart(
          {
            client: connection.client,
            context,
            endpoint: endpoint.id,
            bucket,
            key,
            size: source.size,
            objectParams: objectParams(destination, context.contentType, plan),
            acl: { ...aclRequest(destination.acl), acl: plan.acl },
            partsInFlight: config.partsInFlight,
            partSize: config.partSize,
            where,
            progress,
          },
          saved,
        )
      : await putObject(connection, context, endpoint, progress, saved, plan, where);
    progress.complete();

    const url = destination.url_prefix !== undefined ? prefixedUrl(destination.url_prefix, encodeKey(key)) : objectUrl(endpoint, bucket, key, destination.secure);
    const signed = destination.sign_urls_for !== undefined ? await signedUrl(connection, destination, destination.sign_urls_for) : undefined;
    const storageClass = storageClassOf({ storage_class: destination.storage_class, reduced_redundancy: plan.reducedRedundancy });
    log.info({ url, bytes: source.size, acl: completed.acl?.applied ?? null, checksum_verified: completed.checksum.verified }, 'uploaded to S3');
    return {
      url,
      bytes: source.size,
      // S3 quotes ETags as HTTP does; the result carries the bare value.
      etag: completed.etag?.replace(/^"|"$/g, ''),
      ...(completed.versionId ? { version_id: completed.versionId } : {}),
      bucket,
      key,
      // The spec's Amazon S3 result stays as it was, plus what the parameters beyond it did;
      // a named provider says what it did.
      ...(provider === 'aws'
        ? completed.acl !== undefined && completed.acl.applied === undefined
          ? { acl_applied: null, ...(completed.acl.note ? { acl_note: completed.acl.note } : {}) }
          : {}
        : { provider, acl_applied: plan.acl ?? null, ...(plan.urlPublic === false ? { url_public: false } : {}), ...(plan.notes.length ? { notes: plan.notes } : {}) }),
      ...(storageClass !== undefined ? { storage_class: storageClass } : {}),
      ...(completed.sse !== undefined ? { sse: completed.sse } : {}),
      checksum: completed.checksum,
      ...(signed ? { signed_url: signed.url, signed_url_expires_at: signed.expiresAt } : {}),
    };
  } catch (error) {
    throw classifyS3Error(error, where, signal);
  } finally {
    connection.close();
  }
}

/** A file that fits in one part: read it into memory (at most one part size) and PUT it. */
async function putObject(
  connection: S3Connection,
  context: UploadContext<S3Destination>,
  endpoint: S3Endpoint,
  progress: PartProgress,
  saved: S3Checkpoint | undefined,
  plan: ObjectPlan,
  where: S3Where,
): Promise<Completed> {
  const { destination, source, signal } = context;
  if (saved) await discardCheckpoint({ client: connection.client, context, endpoint: endpoint.id, bucket: destination.bucket }, saved);
  const reader = new SourceRangeReader(source, 's3', signal);
  let body: Buffer;
  try {
    body = await reader.read(0, source.size);
  } finally {
    reader.close();
  }
  const md5 = md5Of(body);
  const { answer, acl } = await sendWithAcl({ ...aclRequest(destination.acl), acl: plan.acl }, where, context.log, (ACL) => {
    const command = new PutObjectCommand({
      Bucket: destination.bucket,
      Key: destination.filename,
      ...objectParams(destination, context.contentType, plan),
      ...(ACL ? { ACL } : {}),
      Body: body,
      ContentLength: body.length,
      ContentMD5: md5.toString('base64'),
    });
    return connection.client.send(
      countSentBytes(command, (sent) => progress.sending(1, sent)),
      { abortSignal: signal },
    );
  });
  // A single PUT is not sent again on a mismatch: the job's retry does (the object is replaced).
  const verified = checkEtag(answer.ETag, md5, answer.ServerSideEncryption, 'the object', where.host);
  return {
    etag: answer.ETag,
    versionId: answer.VersionId,
    acl,
    sse: answer.ServerSideEncryption,
    checksum: { algorithm: 'MD5', scope: 'object', value: md5.toString('hex'), verified },
  };
}

/**
 * A presigned GET of the object (SigV4 query parameters), for private objects: signed with
 * the upload's credentials, valid for `seconds` (at most 7 days; less when the credentials
 * are temporary ones that expire sooner).
 */
async function signedUrl(connection: S3Connection, destination: S3Destination, seconds: number): Promise<{ url: string; expiresAt: string }> {
  const signedAt = Date.now();
  const url = await getSignedUrl(connection.client, new GetObjectCommand({ Bucket: destination.bucket, Key: destination.filename }), { expiresIn: seconds });
  return { url, expiresAt: new Date(signedAt + seconds * 1000).toISOString() };
}

/**
 * The object's headers from the destination, as the spec names them and beyond it, minus
 * what the provider does not take (`plan`). The ACL is not among them: it goes with the
 * request that creates the object, through sendWithAcl (acl-fallback.ts).
 */
function objectParams(destination: S3Destination, contentType: string, plan: ObjectPlan): Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body' | 'ACL'> {
  const storageClass = storageClassOf({ storage_class: destination.storage_class, reduced_redundancy: plan.reducedRedundancy });
  const tagging = taggingOf(destination.tags);
  return {
    ContentType: contentType,
    ...(destination.contentdisposition !== undefined ? { ContentDisposition: destination.contentdisposition } : {}),
    ...(destination.cachecontrol !== undefined ? { CacheControl: destination.cachecontrol } : {}),
    ...(storageClass !== undefined ? { StorageClass: storageClass } : {}),
    ...(destination.metadata !== undefined ? { Metadata: destination.metadata } : {}),
    ...(destination.sse !== undefined ? { ServerSideEncryption: destination.sse } : {}),
    ...(destination.sse_kms_key_id !== undefined ? { SSEKMSKeyId: destination.sse_kms_key_id } : {}),
    ...(tagging !== undefined ? { Tagging: tagging } : {}),
  };
}
