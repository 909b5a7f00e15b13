/**
 * S3-specific integration tests against s3rver (with the multipart calls it lacks added by
 * startS3Server, see targets/s3.ts): object headers, single PUT or multipart, resume from
 * what ListParts says, clean-up after permanent failures, aws_use_policy, the network
 * guard on the SDK's connections, and the returned URL. The shared behaviour suite
 * (behaviour/behaviour.test.ts) covers what every adapter does.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNetworkGuard, FleetError, type AddressResolver, type NetworkGuard, type UploadResult } from '@upload-fleet/core';
import { s3DestinationSchema, type S3Destination } from '../src/s3/definition.js';
import type { CheckpointStore, UploadSource } from '../src/index.js';
import type { S3Checkpoint } from '../src/s3/checkpoint.js';
import { createS3Adapter } from '../src/s3/index.js';
import { DEFAULT_PART_SIZE_MIB } from '../src/s3/part-size.js';
import { fileSource, memoryCheckpoints, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3Server, type LocalS3Server } from './behaviour/targets/s3.js';

const MiB = 1024 * 1024;
const DEFAULT_PART_SIZE = DEFAULT_PART_SIZE_MIB * MiB;
const BUCKET = 'videos';
const localGuard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] });

let server: LocalS3Server;
let dir: string;
let small: SourceFile;
/** 6 parts of 5 MiB, the last one shorter. */
let sixParts: SourceFile;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-s3-'));
  small = await writeRandomFile(dir, 'small.mp4', 300 * 1024);
  sixParts = await writeRandomFile(dir, 'six-parts.mp4', 5 * 5 * MiB + 1234);
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function destination(overrides: Record<string, unknown> = {}): S3Destination {
  return s3DestinationSchema.parse({
    type: 's3',
    bucket: BUCKET,
    filename: 'renders/welcome.mp4',
    aws_access_key_id: S3RVER_KEY,
    aws_secret_access_key: S3RVER_SECRET,
    s3host: `127.0.0.1:${server.port}`,
    ...overrides,
  });
}

interface RunOptions {
  signal?: AbortSignal;
  lastAttempt?: boolean;
  checkpoint?: CheckpointStore;
  onProgress?: (bytes: number) => void;
  partsInFlight?: number;
  /** S3_PART_SIZE_MIB in bytes; the default's when not given. */
  partSize?: number;
  forcePathStyle?: boolean;
  network?: NetworkGuard;
  source?: UploadSource;
}

function run(dest: S3Destination, file: SourceFile, options: RunOptions = {}): Promise<UploadResult> {
  const adapter = createS3Adapter({ partsInFlight: options.partsInFlight ?? 4, partSize: options.partSize ?? DEFAULT_PART_SIZE, forcePathStyle: options.forcePathStyle });
  const { partsInFlight: _partsInFlight, partSize: _partSize, forcePathStyle: _forcePathStyle, source = fileSource(file), network = localGuard, ...rest } = options;
  return adapter.upload(testUploadContext(dest, { source, network, secrets: [S3RVER_SECRET], ...rest }));
}

async function failure(upload: Promise<unknown>): Promise<FleetError> {
  const error = await upload.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

/** Requests from now on, by operation (and part number for UploadPart). */
function watchRequests() {
  const start = server.requests.length;
  const all = () => server.requests.slice(start);
  return {
    all,
    operations: () => all().map((r) => r.operation),
    count: (operation: string) => all().filter((r) => r.operation === operation).length,
    partsSent: () => all().filter((r) => r.operation === 'UploadPart').map((r) => r.partNumber!),
  };
}

/**
 * A checkpoint store that aborts the upload (as a shutdown would) once the checkpoint
 * holds `parts` parts, so a test can interrupt a fast local upload at a known point.
 */
function interruptAfter(parts: number) {
  const controller = new AbortController();
  const store = memoryCheckpoints();
  const save = store.save.bind(store);
  store.save = async <T,>(state: T) => {
    await save(state);
    if ((state as S3Checkpoint).parts.length >= parts) controller.abort('shutdown');
  };
  return { store, signal: controller.signal };
}

async function interruptedUpload(dest: S3Destination, file: SourceFile, parts: number) {
  const { store, signal } = interruptAfter(parts);
  const error = await failure(run(dest, file, { checkpoint: store, signal, partsInFlight: 1 }));
  expect(error.code).toBe('UF_ABORTED');
  return store;
}

describe('the object S3 stores', () => {
  it.each([
    ['a single PUT', () => small],
    ['a multipart upload', () => sixParts],
  ])('carries content type, disposition, cache control, storage class and metadata (%s)', async (_how, file) => {
    const key = `headers/${file().name}`;
    await run(
      destination({
        filename: key,
        contenttype: 'video/mp4',
        contentdisposition: 'attachment; filename="welcome.mp4"',
        cachecontrol: 'public, max-age=86400',
        reduced_redundancy: true,
        metadata: { render: 'r-42', 'customer-id': 'c7' },
        acl: 'private',
      }),
      file(),
    );
    const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head).toMatchObject({
      ContentType: 'video/mp4',
      ContentDisposition: 'attachment; filename="welcome.mp4"',
      CacheControl: 'public, max-age=86400',
      StorageClass: 'REDUCED_REDUNDANCY',
      Metadata: { render: 'r-42', 'customer-id': 'c7' },
      ContentLength: file().size,
    });
    expect(await server.stored(BUCKET, key)).toEqual({ size: file().size, sha256: file().sha256 });
  });

  it('sends the acl (public-read by default), though s3rver cannot enforce it', async () => {
    const requests = watchRequests();
    await run(destination({ filename: 'acl/default.mp4' }), small);
    await run(destination({ filename: 'acl/private.mp4', acl: 'authenticated-read' }), small);
    expect(requests.all().map((r) => r.headers['x-amz-acl'])).toEqual(['public-read', 'authenticated-read']);
  });

  it('stores the spec\'s default content type when the destination names none', async () => {
    const dest = s3DestinationSchema.parse({ ...destination({ filename: 'ct/default.mp4' }), contenttype: undefined });
    await run(dest, small);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'ct/default.mp4' }));
    // The spec's default for contenttype.
    expect(head.ContentType).toBe('application/octet-stream');
  });

  it('refuses metadata that is not header text, leaving no multipart upload behind', async () => {
    const error = await failure(run(destination({ filename: 'meta/bad.mp4', metadata: { note: 'fertig ✓' } }), sixParts));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_INVALID_REQUEST', category: 'permanent' });
    expect(server.uploadsInProgress(BUCKET).filter((u) => u.key === 'meta/bad.mp4')).toEqual([]);
  });
});

describe('single PUT or multipart', () => {
  it('sends a file that fits in one part (up to 5 MiB) with one PutObject', async () => {
    const exactlyOnePart = await writeRandomFile(dir, 'five.mp4', 5 * MiB);
    const requests = watchRequests();
    await run(destination({ filename: 'choice/small.mp4' }), small);
    await run(destination({ filename: 'choice/five.mp4' }), exactlyOnePart);
    expect(requests.operations()).toEqual(['PutObject', 'PutObject']);
    expect(await server.stored(BUCKET, 'choice/five.mp4')).toEqual({ size: exactlyOnePart.size, sha256: exactlyOnePart.sha256 });
  });

  it('sends a larger file as 5 MiB parts with a Content-MD5 each, then completes', async () => {
    const requests = watchRequests();
    const result = await run(destination({ filename: 'choice/six.mp4' }), sixParts);
    expect(requests.count('CreateMultipartUpload')).toBe(1);
    expect(requests.partsSent().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(requests.count('CompleteMultipartUpload')).toBe(1);
    expect(requests.count('PutObject')).toBe(0);
    for (const part of requests.all().filter((r) => r.operation === 'UploadPart')) expect(part.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(result.bytes).toBe(sixParts.size);
    expect(await server.stored(BUCKET, 'choice/six.mp4')).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
    expect(server.uploadsInProgress(BUCKET)).toEqual([]);
  });

  it('reports progress up to the size, never above it and never backwards', async () => {
    const progress: number[] = [];
    await run(destination({ filename: 'choice/progress.mp4' }), sixParts, { onProgress: (b) => progress.push(b) });
    expect(progress.at(-1)).toBe(sixParts.size);
    expect(progress.every((b, i) => b <= sixParts.size && (i === 0 || b > progress[i - 1]!))).toBe(true);
    // In steps of the bytes the socket took, not only whole parts.
    expect(progress.length).toBeGreaterThan(20);
  });

  it('keeps at most partsInFlight parts in flight, and sends them in parallel', async () => {
    const twentyParts = await writeRandomFile(dir, 'twenty-parts.mp4', 100 * MiB);
    server.resetPeaks();
    await run(destination({ filename: 'choice/two-at-once.mp4' }), twentyParts, { partsInFlight: 2 });
    expect(server.peak('UploadPart')).toBe(2);
    server.resetPeaks();
    await run(destination({ filename: 'choice/one-at-once.mp4' }), twentyParts, { partsInFlight: 1 });
    expect(server.peak('UploadPart')).toBe(1);
  });

  it('cuts the file in parts of S3_PART_SIZE_MIB, read into reused buffers: every byte exact, the last part shorter', async () => {
    const file = await writeRandomFile(dir, 'eight-mib-parts.mp4', 100 * MiB + 4321);
    const requests = watchRequests();
    // One in flight: a single buffer carries all 13 parts.
    await run(destination({ filename: 'choice/eight-mib-parts.mp4' }), file, { partSize: 8 * MiB, partsInFlight: 1 });
    const sizes = requests.all().filter((r) => r.operation === 'UploadPart').map((r) => Number(r.headers['content-length']));
    expect(sizes).toEqual([...Array.from({ length: 12 }, () => 8 * MiB), 4 * MiB + 4321]);
    expect(await server.stored(BUCKET, 'choice/eight-mib-parts.mp4')).toEqual({ size: file.size, sha256: file.sha256 });
    // Two in flight (a tenth of the file makes those 5 MiB parts): parts finishing out of order, two buffers taking turns,
    // filled by positional reads (as a path source is read), which would overwrite a buffer still being sent at once.
    const source: UploadSource = {
      ...fileSource(file),
      async openReader() {
        const handle = await openFile(file.path);
        return { read: async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead, close: () => handle.close() };
      },
    };
    await run(destination({ filename: 'choice/eight-mib-two.mp4' }), file, { partSize: 8 * MiB, partsInFlight: 2, source });
    expect(await server.stored(BUCKET, 'choice/eight-mib-two.mp4')).toEqual({ size: file.size, sha256: file.sha256 });
  });

  it('keeps S3\'s 5 MiB minimum and a tenth of the file in flight whatever part size is set', async () => {
    const requests = watchRequests();
    await run(destination({ filename: 'choice/large-setting.mp4' }), sixParts, { partSize: 64 * MiB, partsInFlight: 4 });
    expect(requests.partsSent().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await server.stored(BUCKET, 'choice/large-setting.mp4')).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('holds in flight at most a tenth of the file, which is what a crash makes it send again', async () => {
    // 4 configured: 25 MiB (5 parts) go one at a time, 100 MiB (20 parts) two at a time.
    server.resetPeaks();
    await run(destination({ filename: 'choice/small-file.mp4' }), sixParts, { partsInFlight: 4 });
    expect(server.peak('UploadPart')).toBe(1);
  });
});

describe('resuming an interrupted multipart upload', () => {
  it('keeps the multipart upload and its checkpoint on abort, then sends only the missing parts', async () => {
    const key = 'resume/plain.mp4';
    const checkpoints = await interruptedUpload(destination({ filename: key }), sixParts, 3);
    const saved = checkpoints.state as S3Checkpoint;
    expect(saved.parts.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
    expect(server.uploadsInProgress(BUCKET).map((u) => u.uploadId)).toContain(saved.uploadId);

    const requests = watchRequests();
    await run(destination({ filename: key }), sixParts, { checkpoint: checkpoints });
    expect(requests.count('CreateMultipartUpload')).toBe(0);
    expect(requests.count('ListParts')).toBe(1);
    expect(requests.partsSent().every((n) => n > 3)).toBe(true);
    expect(await server.stored(BUCKET, key)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
    expect(checkpoints.state).toBeUndefined();
    expect(server.uploadsInProgress(BUCKET).map((u) => u.uploadId)).not.toContain(saved.uploadId);
  });

  it('reports the multipart checksum after a resume from the part MD5s in the checkpoint, and the ACL applied at the start', async () => {
    const key = 'resume/checksum.mp4';
    const checkpoints = await interruptedUpload(destination({ filename: key }), sixParts, 2);
    const saved = checkpoints.state as S3Checkpoint;
    expect(saved.parts.every((p) => typeof p.MD5 === 'string')).toBe(true);
    expect(saved.acl).toBe('public-read');
    const result = await run(destination({ filename: key }), sixParts, { checkpoint: checkpoints });
    const data = readFileSync(sixParts.path);
    const partMd5s = Array.from({ length: 6 }, (_, i) => createHash('md5').update(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB)).digest());
    expect(result.checksum).toEqual({ algorithm: 'MD5', scope: 'parts', value: `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-6`, parts: 6, verified: true });
    // A checkpoint without the MD5s (an older release's) still completes, and says what it could not check.
    const again = await interruptedUpload(destination({ filename: `${key}.old` }), sixParts, 2);
    const old = again.state as S3Checkpoint;
    again.state = { ...old, parts: old.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) };
    const resumed = await run(destination({ filename: `${key}.old` }), sixParts, { checkpoint: again });
    expect(resumed.checksum).toEqual({ algorithm: 'MD5', scope: 'parts', parts: 6, verified: false });
    expect(await server.stored(BUCKET, `${key}.old`)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('resumes with the part size the upload started with, though S3_PART_SIZE_MIB changed since, every byte exact', async () => {
    const file = await writeRandomFile(dir, 'resume-part-size.mp4', 100 * MiB + 99);
    const key = 'resume/part-size.mp4';
    const { store, signal } = interruptAfter(4);
    expect((await failure(run(destination({ filename: key }), file, { checkpoint: store, signal, partSize: 8 * MiB, partsInFlight: 1 }))).code).toBe('UF_ABORTED');
    expect((store.state as S3Checkpoint).partSize).toBe(8 * MiB);
    const requests = watchRequests();
    const result = await run(destination({ filename: key }), file, { checkpoint: store, partSize: 5 * MiB, partsInFlight: 2 });
    const sent = requests.all().filter((r) => r.operation === 'UploadPart');
    expect(sent.every((r) => r.partNumber! > 4) && sent.some((r) => r.partNumber === 13)).toBe(true);
    expect(sent.filter((r) => r.partNumber !== 13).every((r) => Number(r.headers['content-length']) === 8 * MiB)).toBe(true);
    expect(result.checksum).toMatchObject({ scope: 'parts', parts: 13, verified: true });
    expect(await server.stored(BUCKET, key)).toEqual({ size: file.size, sha256: file.sha256 });
  });

  it('trusts ListParts over the checkpoint: a part missing from the checkpoint is not sent again', async () => {
    const key = 'resume/forgotten-part.mp4';
    const checkpoints = await interruptedUpload(destination({ filename: key }), sixParts, 3);
    const saved = checkpoints.state as S3Checkpoint;
    // As if the save after part 2 had been lost.
    checkpoints.state = { ...saved, parts: saved.parts.filter((p) => p.PartNumber !== 2) };

    const requests = watchRequests();
    await run(destination({ filename: key }), sixParts, { checkpoint: checkpoints });
    expect(requests.count('ListParts')).toBe(1);
    expect(requests.partsSent()).not.toContain(2);
    expect(requests.partsSent().every((n) => n > 3)).toBe(true);
    expect(await server.stored(BUCKET, key)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('trusts ListParts over the checkpoint: parts the checkpoint claims but S3 lacks are sent, with S3\'s ETags', async () => {
    const key = 'resume/claimed-parts.mp4';
    const checkpoints = await interruptedUpload(destination({ filename: key }), sixParts, 2);
    const saved = checkpoints.state as S3Checkpoint;
    checkpoints.state = { ...saved, parts: [1, 2, 3, 4, 5, 6].map((n) => ({ PartNumber: n, ETag: '"00000000000000000000000000000000"' })) };

    const requests = watchRequests();
    await run(destination({ filename: key }), sixParts, { checkpoint: checkpoints });
    expect(requests.partsSent().sort((a, b) => a - b)).toEqual(expect.arrayContaining([4, 5, 6]));
    expect(requests.partsSent()).not.toContain(1);
    expect(await server.stored(BUCKET, key)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('starts over when the UploadId is gone (NoSuchUpload)', async () => {
    const key = 'resume/gone.mp4';
    const checkpoints = await interruptedUpload(destination({ filename: key }), sixParts, 2);
    const saved = checkpoints.state as S3Checkpoint;
    await server.client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: saved.uploadId }));

    const requests = watchRequests();
    await run(destination({ filename: key }), sixParts, { checkpoint: checkpoints });
    expect(requests.operations().slice(0, 2)).toEqual(['ListParts', 'CreateMultipartUpload']);
    expect(requests.partsSent().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await server.stored(BUCKET, key)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('aborts the multipart upload of a checkpoint made for another file size, and starts anew', async () => {
    const key = 'resume/changed.mp4';
    const checkpoints = await interruptedUpload(destination({ filename: key }), sixParts, 2);
    const saved = checkpoints.state as S3Checkpoint;
    const grown = await writeRandomFile(dir, 'grown.mp4', sixParts.size + 5 * MiB);

    const requests = watchRequests();
    await run(destination({ filename: key }), grown, { checkpoint: checkpoints });
    expect(requests.operations()[0]).toBe('AbortMultipartUpload');
    expect(server.uploadsInProgress(BUCKET).map((u) => u.uploadId)).not.toContain(saved.uploadId);
    expect(await server.stored(BUCKET, key)).toEqual({ size: grown.size, sha256: grown.sha256 });
  });

  it('ignores a checkpoint that is not one of ours', async () => {
    const checkpoints = memoryCheckpoints();
    checkpoints.state = { sessionUri: 'https://example.com/upload/1', offset: 5 };
    const requests = watchRequests();
    await run(destination({ filename: 'resume/foreign.mp4' }), sixParts, { checkpoint: checkpoints });
    expect(requests.operations()[0]).toBe('CreateMultipartUpload');
    expect(await server.stored(BUCKET, 'resume/foreign.mp4')).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });
});

describe('failures', () => {
  it('aborts the multipart upload and clears the checkpoint on a permanent failure', async () => {
    const key = 'fail/denied.mp4';
    server.inject({ operation: 'UploadPart', partNumber: 3, status: 403, code: 'AccessDenied' });
    const checkpoints = memoryCheckpoints();
    const requests = watchRequests();
    const error = await failure(run(destination({ filename: key }), sixParts, { checkpoint: checkpoints }));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_PERMISSION_DENIED', category: 'permanent' });
    expect(requests.count('AbortMultipartUpload')).toBe(1);
    expect(checkpoints.state).toBeUndefined();
    const uploads = await server.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'fail/' }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await server.stored(BUCKET, key)).toBeUndefined();
  });

  it('keeps the multipart upload for a retry after a transient failure, but aborts it when that was the last attempt', async () => {
    const kept = 'fail/transient-kept.mp4';
    server.inject({ operation: 'UploadPart', partNumber: 2, status: 500, code: 'InternalError', times: 3 });
    const keptCheckpoints = memoryCheckpoints();
    expect((await failure(run(destination({ filename: kept }), sixParts, { checkpoint: keptCheckpoints, partsInFlight: 1 }))).category).toBe('transient');
    expect(keptCheckpoints.state).toBeDefined();
    // (The stand-in's ListMultipartUploads ignores Prefix: filter by key here.)
    const open = (await server.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [];
    const keptUpload = open.find((u) => u.Key === kept);
    expect(keptUpload).toBeDefined();

    const last = 'fail/transient-last.mp4';
    server.inject({ operation: 'UploadPart', partNumber: 2, status: 500, code: 'InternalError', times: 3 });
    const lastCheckpoints = memoryCheckpoints();
    const requests = watchRequests();
    // One part in flight: s3rver crashes on a part still being written into an upload that
    // was just aborted (real S3 does not), so nothing else may be in flight here.
    expect((await failure(run(destination({ filename: last }), sixParts, { checkpoint: lastCheckpoints, lastAttempt: true, partsInFlight: 1 }))).category).toBe('transient');
    expect(requests.count('AbortMultipartUpload')).toBe(1);
    expect(lastCheckpoints.state).toBeUndefined();
    const left = (await server.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [];
    expect(left.filter((u) => u.Key === last)).toEqual([]);
    await server.client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: kept, UploadId: keptUpload!.UploadId }));
  });

  it('aborts the multipart upload when the source turns out shorter than its size', async () => {
    const key = 'fail/short-source.mp4';
    const real = fileSource(sixParts);
    const checkpoints = memoryCheckpoints();
    const error = await failure(run(destination({ filename: key }), sixParts, { source: { ...real, open: shortOpen(real, 12 * MiB) }, checkpoint: checkpoints }));
    expect(error.code).toBe('UF_SOURCE_CHANGED');
    expect(server.uploadsInProgress(BUCKET).filter((u) => u.key === key)).toEqual([]);
    expect(checkpoints.state).toBeUndefined();
  });

  it('keeps the multipart upload and the checkpoint on a transient failure, after the SDK\'s own retries', async () => {
    const key = 'fail/unavailable.mp4';
    server.inject({ operation: 'UploadPart', partNumber: 2, status: 500, code: 'InternalError', times: 3 });
    const checkpoints = memoryCheckpoints();
    const requests = watchRequests();
    const error = await failure(run(destination({ filename: key }), sixParts, { checkpoint: checkpoints, partsInFlight: 1 }));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' });
    expect(requests.partsSent().filter((n) => n === 2)).toHaveLength(3);
    expect(requests.count('AbortMultipartUpload')).toBe(0);
    const saved = checkpoints.state as S3Checkpoint;
    expect(server.uploadsInProgress(BUCKET).map((u) => u.uploadId)).toContain(saved.uploadId);

    // The next attempt finishes it.
    await run(destination({ filename: key }), sixParts, { checkpoint: checkpoints });
    expect(await server.stored(BUCKET, key)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('lets the SDK retry one failed part from memory, invisibly to the job', async () => {
    const key = 'fail/once.mp4';
    server.inject({ operation: 'UploadPart', partNumber: 4, status: 503, code: 'ServiceUnavailable', times: 1 });
    const requests = watchRequests();
    await run(destination({ filename: key }), sixParts);
    expect(requests.partsSent().filter((n) => n === 4)).toHaveLength(2);
    expect(await server.stored(BUCKET, key)).toEqual({ size: sixParts.size, sha256: sixParts.sha256 });
  });

  it('defers on SlowDown that outlasts the SDK\'s retries (rate limited, short wait), keeping the upload', async () => {
    server.inject({ operation: 'PutObject', status: 503, code: 'SlowDown', times: 3 });
    const error = await failure(run(destination({ filename: 'fail/slow.mp4' }), small));
    expect({ code: error.code, category: error.category, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 10_000 });
  });

  it('names a missing bucket', async () => {
    const error = await failure(run(destination({ bucket: 'no-such-bucket', filename: 'x.mp4' }), sixParts));
    expect(error.code).toBe('UF_DESTINATION_NOT_FOUND');
    expect(error.message).toContain('"no-such-bucket"');
  });
});

describe('credentials', () => {
  // The environment is the first source of the SDK's default chain; other variables of the
  // machine (a session token, a profile) must not mix in.
  const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  beforeEach(() => {
    for (const name of names) delete process.env[name];
  });
  afterEach(() => {
    for (const name of names) restore(name, saved[name]);
  });

  it('signs with the fleet\'s own credentials from the default provider chain for aws_use_policy', async () => {
    process.env.AWS_ACCESS_KEY_ID = S3RVER_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'fleet-secret';
    const requests = watchRequests();
    const dest = destination({ filename: 'policy/ok.mp4', aws_access_key_id: undefined, aws_secret_access_key: undefined, aws_use_policy: true });
    await run(dest, small);
    expect(String(requests.all()[0]!.headers.authorization)).toContain(`Credential=${S3RVER_KEY}/`);
    expect(await server.stored(BUCKET, 'policy/ok.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('calls refused fleet credentials an operator\'s problem (UF_CONFIGURATION)', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAFLEETUNKNOWN0000';
    process.env.AWS_SECRET_ACCESS_KEY = 'fleet-secret';
    const dest = destination({ filename: 'policy/refused.mp4', aws_access_key_id: undefined, aws_secret_access_key: undefined, aws_use_policy: true });
    const error = await failure(run(dest, small));
    expect(error.code).toBe('UF_CONFIGURATION');
  });

  it('signs with the given keys even when aws_use_policy is also set', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAFLEETUNKNOWN0000';
    process.env.AWS_SECRET_ACCESS_KEY = 'fleet-secret';
    const requests = watchRequests();
    await run(destination({ filename: 'policy/both.mp4', aws_use_policy: true }), small);
    expect(String(requests.all()[0]!.headers.authorization)).toContain(`Credential=${S3RVER_KEY}/`);
  });

  it('never puts the secret into an error message', async () => {
    const secret = 'do-not-show-this-secret-0123456789';
    const error = await failure(run(destination({ filename: 'policy/x.mp4', aws_access_key_id: 'AKIAUNKNOWN000000000', aws_secret_access_key: secret }), small));
    expect(error.code).toBe('UF_CREDENTIALS_INVALID');
    expect(JSON.stringify(error.toJSON())).not.toContain(secret);
  });
});

describe('network safety', () => {
  it('refuses a private s3host before sending anything', async () => {
    const requests = watchRequests();
    const error = await failure(run(destination({ filename: 'guard/x.mp4' }), small, { network: createNetworkGuard({ allowedPrivateHosts: [] }) }));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(requests.all()).toEqual([]);
  });

  it('checks the address the SDK connects to (a name that rebinds to loopback after the first check)', async () => {
    let answers = 0;
    const resolver: AddressResolver = (_hostname, _options, callback) => {
      answers += 1;
      callback(null, [{ address: answers === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }]);
    };
    const guard = createNetworkGuard({ allowedPrivateHosts: [], resolver });
    const requests = watchRequests();
    const error = await failure(run(destination({ filename: 'guard/rebind.mp4', s3host: `http://rebind.test:${server.port}` }), small, { network: guard }));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(answers).toBeGreaterThan(1);
    expect(requests.all()).toEqual([]);
  });
});

describe('the result', () => {
  it('returns the object URL, size, ETag, bucket and key; the URL serves the file', async () => {
    const key = 'renders/Grüße aus Köln & co (1) ✓.mp4';
    const result = await run(destination({ filename: key }), small);
    expect(result).toEqual({
      url: `http://127.0.0.1:${server.port}/${BUCKET}/renders/Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln%20%26%20co%20(1)%20%E2%9C%93.mp4`,
      bytes: small.size,
      etag: expect.stringMatching(/^[0-9a-f]{32}$/),
      bucket: BUCKET,
      key,
      checksum: { algorithm: 'MD5', scope: 'object', value: result.etag, verified: true },
    });
    const served = await fetch(result.url!);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).length).toBe(small.size);
  });

  it('says https when secure is set, and the ETag of a multipart upload', async () => {
    const result = await run(destination({ filename: 'renders/secure.mp4', secure: true }), sixParts);
    expect(result.url).toBe(`https://127.0.0.1:${server.port}/${BUCKET}/renders/secure.mp4`);
    expect(result.etag).toEqual(expect.any(String));
  });
});

/** A source that ends after `limit` bytes although it announces the whole file. */
function shortOpen(real: UploadSource, limit: number): UploadSource['open'] {
  return async (offset = 0) => {
    const stream = await real.open(offset);
    let left = Math.max(0, limit - offset);
    return Readable.from(
      (async function* () {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (left <= 0) break;
          const piece = chunk.subarray(0, left);
          left -= piece.length;
          yield piece;
        }
        stream.destroy();
      })(),
    );
  };
}

function restore(name: string, value: string | undefined) {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
