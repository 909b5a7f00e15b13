import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/**
 * s3rver in this process, on 127.0.0.1: the S3 stand-in of the tests and of `pnpm demo`.
 *
 * s3rver 3.7.1 accepts any secret for its one access key (S3RVER), so signing cannot be
 * proven with it, and it ignores ACLs. It also lacks three multipart calls the adapter
 * needs: ListParts, AbortMultipartUpload and ListMultipartUploads (its router answers
 * MethodNotAllowed or NotImplemented), and it accepts UploadPart for an UploadId it never
 * issued. `startS3Server` adds those calls on s3rver's own upload folders, answering as S3
 * documents them (NoSuchUpload for unknown ids), in a Koa middleware placed before
 * s3rver's router; everything else is s3rver's.
 */

export const S3RVER_KEY = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

/** One request s3rver received, named by the S3 operation it is. */
export interface S3Request {
  operation: string;
  bucket: string;
  key: string;
  uploadId?: string;
  partNumber?: number;
  headers: Record<string, string | string[] | undefined>;
}

/** An S3 error answer to give instead of s3rver's, for the next `times` matching requests. */
export interface S3Fault {
  operation: string;
  partNumber?: number;
  status: number;
  code: string;
  times?: number;
}

export interface LocalS3Server {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: s3rver itself, without the proxy. */
  readonly endpoint: string;
  readonly directory: string;
  /** Every request, in arrival order. */
  readonly requests: S3Request[];
  /** Answers the next matching requests with this error. */
  inject(fault: S3Fault): void;
  /** Most requests of this operation s3rver was handling at once since the last reset. */
  peak(operation: string): number;
  resetPeaks(): void;
  /** Multipart uploads in progress in a bucket (what ListMultipartUploads answers). */
  uploadsInProgress(bucket: string): { key: string; uploadId: string; parts: number[] }[];
  /** Size and SHA-256 of the object, or undefined. */
  stored(bucket: string, key: string): Promise<{ size: number; sha256: string } | undefined>;
  /** A client of s3rver itself, for reading objects back. */
  readonly client: S3Client;
  close(): Promise<void>;
}

/** The parts of s3rver that its type definitions leave out. */
interface S3rverInternals {
  middleware: KoaMiddleware[];
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

export async function startS3Server(options: { buckets: string[] }): Promise<LocalS3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'upload-fleet-s3rver-'));
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const internals = s3rver as unknown as S3rverInternals;
  const requests: S3Request[] = [];
  const faults: S3Fault[] = [];
  const active = new Map<string, number>();
  const peaks = new Map<string, number>();
  const uploadsDir = (bucket: string) => internals.store.getResourcePath(bucket, undefined, 'uploads');
  const uploadDir = (bucket: string, uploadId: string) => join(uploadsDir(bucket), uploadId.replace(/[^a-zA-Z0-9_-]/g, '_'));
  const partsOf = (dir: string) =>
    readdirSync(dir)
      .filter((f) => /^\d+$/.test(f) && existsSync(join(dir, `${f}.md5`)))
      .map(Number)
      .sort((a, b) => a - b);

  const uploadsInProgress = (bucket: string) => {
    const root = uploadsDir(bucket);
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .filter((id) => existsSync(join(root, id, 'key')))
      .map((uploadId) => ({ uploadId, key: readFileSync(join(root, uploadId, 'key'), 'utf8'), parts: partsOf(join(root, uploadId)) }));
  };

  /** Part uploads still being written, per UploadId (see AbortMultipartUpload below). */
  const partWrites = new Map<string, Set<Promise<void>>>();

  internals.middleware.unshift(async (ctx, next) => {
    const segments = ctx.path.split('/').slice(1);
    const bucket = decodeURIComponent(segments[0] ?? '');
    const key = segments.slice(1).map(decodeURIComponent).join('/');
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined;
    const partNumber = typeof ctx.query.partNumber === 'string' ? Number(ctx.query.partNumber) : undefined;
    const operation = operationOf(ctx.method, key, ctx.query);
    requests.push({ operation, bucket, key, ...(uploadId ? { uploadId } : {}), ...(partNumber ? { partNumber } : {}), headers: { ...ctx.headers } });
    const now = (active.get(operation) ?? 0) + 1;
    active.set(operation, now);
    peaks.set(operation, Math.max(peaks.get(operation) ?? 0, now));
    try {
      await answer(ctx, next, { operation, bucket, key, uploadId, partNumber });
    } finally {
      active.set(operation, (active.get(operation) ?? 1) - 1);
    }
  });

  const answer = async (
    ctx: KoaContext,
    next: () => Promise<void>,
    { operation, bucket, key, uploadId, partNumber }: { operation: string; bucket: string; key: string; uploadId: string | undefined; partNumber: number | undefined },
  ): Promise<void> => {

    const fault = faults.find((f) => f.operation === operation && (f.partNumber === undefined || f.partNumber === partNumber));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) faults.splice(faults.indexOf(fault), 1);
      return answerError(ctx, fault.status, fault.code, `Injected ${fault.code}`);
    }

    const dir = uploadId ? uploadDir(bucket, uploadId) : undefined;
    const known = dir !== undefined && existsSync(join(dir, 'key'));
    switch (operation) {
      case 'ListParts': {
        if (!known) return noSuchUpload(ctx, uploadId);
        const marker = Number(ctx.query['part-number-marker'] ?? 0);
        const max = Number(ctx.query['max-parts'] ?? 1000);
        const after = partsOf(dir).filter((n) => n > marker);
        const page = after.slice(0, max);
        const xmlParts = page.map((n) => {
          const md5 = readFileSync(join(dir, `${n}.md5`), 'utf8');
          const stat = statSync(join(dir, String(n)));
          return `<Part><PartNumber>${n}</PartNumber><LastModified>${stat.mtime.toISOString()}</LastModified><ETag>"${md5}"</ETag><Size>${stat.size}</Size></Part>`;
        });
        const truncated = after.length > page.length;
        return answerXml(
          ctx,
          `<ListPartsResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${escapeXml(uploadId!)}</UploadId>` +
            `<PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${page.at(-1) ?? marker}</NextPartNumberMarker>` +
            `<MaxParts>${max}</MaxParts><IsTruncated>${truncated}</IsTruncated>${xmlParts.join('')}</ListPartsResult>`,
        );
      }
      case 'AbortMultipartUpload':
        if (!known) return noSuchUpload(ctx, uploadId);
        // s3rver throws (uncaught, in this process) when a part still being written loses
        // its folder: let the parts in flight for this upload end first. Real S3 has no such race.
        await Promise.race([Promise.allSettled([...(partWrites.get(uploadId!) ?? [])]), new Promise((r) => setTimeout(r, 5000))]);
        rmSync(dir, { recursive: true, force: true });
        ctx.status = 204;
        ctx.body = '';
        return;
      case 'ListMultipartUploads': {
        if (!existsSync(join(directory, bucket))) return answerError(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist');
        const uploads = uploadsInProgress(bucket).map((u) => `<Upload><Key>${escapeXml(u.key)}</Key><UploadId>${escapeXml(u.uploadId)}</UploadId></Upload>`);
        return answerXml(ctx, `<ListMultipartUploadsResult><Bucket>${escapeXml(bucket)}</Bucket><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`);
      }
      case 'UploadPart':
        // s3rver would create the upload's folder for any id; S3 answers NoSuchUpload.
        if (!known) return noSuchUpload(ctx, uploadId);
        // A part sent again replaces the old one: until it is written, it is not listed.
        rmSync(join(dir, `${partNumber}.md5`), { force: true });
        {
          const writes = partWrites.get(uploadId!) ?? new Set<Promise<void>>();
          partWrites.set(uploadId!, writes);
          const write = next();
          writes.add(write);
          try {
            return await write;
          } finally {
            writes.delete(write);
          }
        }
      case 'CompleteMultipartUpload':
        if (!known) return noSuchUpload(ctx, uploadId);
        return next();
      default:
        return next();
    }
  };

  const { port } = await s3rver.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  return {
    port,
    endpoint,
    directory,
    requests,
    inject: (fault) => faults.push({ ...fault }),
    peak: (operation) => peaks.get(operation) ?? 0,
    resetPeaks: () => peaks.clear(),
    uploadsInProgress,
    client,
    async stored(bucket, key) {
      let body: Readable;
      try {
        body = (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { size, sha256: hash.digest('hex') };
    },
    async close() {
      client.destroy();
      await s3rver.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The S3 operation a request is, by method and query (https://docs.aws.amazon.com/AmazonS3/latest/API/). */
function operationOf(method: string, key: string, query: KoaContext['query']): string {
  const has = (name: string) => query[name] !== undefined;
  if (!key) {
    if (method === 'GET' && has('uploads')) return 'ListMultipartUploads';
    return `${method} bucket`;
  }
  if (method === 'PUT') return has('uploadId') ? 'UploadPart' : 'PutObject';
  if (method === 'POST') return has('uploads') ? 'CreateMultipartUpload' : has('uploadId') ? 'CompleteMultipartUpload' : 'POST object';
  if (method === 'GET') return has('uploadId') ? 'ListParts' : 'GetObject';
  if (method === 'DELETE') return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'HEAD') return 'HeadObject';
  return `${method} object`;
}

function noSuchUpload(ctx: KoaContext, uploadId: string | undefined): void {
  answerError(ctx, 404, 'NoSuchUpload', `The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed. (${uploadId ?? ''})`);
}

function answerError(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
}

function answerXml(ctx: KoaContext, xml: string): void {
  ctx.status = 200;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

