/**
 * The S3-compatible providers end to end against the local S3 server (s3rver, started
 * here), each reached through its own endpoint template set the way an operator would
 * (S3_R2_ENDPOINT, S3_B2_ENDPOINT, S3_WASABI_ENDPOINT, S3_SPACES_ENDPOINT, or MinIO's
 * s3host) and pointed at a front that answers under the provider's host names
 * (s3-provider-front.ts). Asserted per provider: the bytes stored are the file's, the
 * requests went to the provider's host in its addressing style and were signed for its
 * region, the headers it ignores were not sent and those it takes were, the result carries
 * the provider's URL shape and says what was applied, the URL addresses the object, and a
 * multipart upload resumes with the parts the server holds. The rules themselves are
 * unit-tested in src/s3/providers.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetworkGuard, FleetError, type UploadResult } from '@upload-fleet/core';
import { validateDeliveryRequest } from '../src/definitions.js';
import { s3DestinationSchema, type S3Destination } from '../src/s3/definition.js';
import type { S3Checkpoint } from '../src/s3/checkpoint.js';
import { createS3Adapter } from '../src/s3/index.js';
import { fileSource, memoryCheckpoints, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3Server, type LocalS3Server } from './behaviour/targets/s3.js';
import { localhostResolver, startProviderFront, type FrontRequest, type ProviderFront } from './s3-provider-front.js';
import { destinationsConfig } from '../src/definitions.js';

/** The s3 settings an operator's environment gives. */
const s3SettingsFrom = (env: Record<string, string>) => destinationsConfig.load(env).s3;

const MiB = 1024 * 1024;
const BUCKET = 'videos';
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const guard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'], resolver: localhostResolver });

let server: LocalS3Server;
let front: ProviderFront;
let dir: string;
let small: SourceFile;
/** Two parts: 5 MiB and 1 byte. */
let twoParts: SourceFile;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  front = await startProviderFront(server.port, [BUCKET]);
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-s3-providers-'));
  small = await writeRandomFile(dir, 'small.mp4', 300 * 1024);
  twoParts = await writeRandomFile(dir, 'two-parts.mp4', 5 * MiB + 1);
});
afterAll(async () => {
  await front?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The operator's settings: every provider's endpoint template points at the front. */
function operatorSettings() {
  return s3SettingsFrom({
    S3_R2_ENDPOINT: `http://{account_id}.r2.localhost:${front.port}`,
    S3_B2_ENDPOINT: `http://s3.{region}.b2.localhost:${front.port}`,
    S3_WASABI_ENDPOINT: `http://s3.{region}.wasabi.localhost:${front.port}`,
    S3_SPACES_ENDPOINT: `http://{region}.spaces.localhost:${front.port}`,
  });
}

interface ProviderCase {
  name: string;
  fields: () => Record<string, unknown>;
  /** The endpoint host the requests go to (the bucket joins it when virtual-hosted). */
  endpointHost: () => string;
  virtualHosted: boolean;
  signingRegion: string;
  /** x-amz-acl on the requests that create the object; undefined: none. */
  aclHeader: string | undefined;
  /** x-amz-storage-class sent; undefined: none. */
  storageClass: string | undefined;
  /** What the result adds for the provider. */
  resultExtras: Record<string, unknown>;
}

const CASES: ProviderCase[] = [
  {
    name: 'r2',
    fields: () => ({ provider: 'r2', account_id: ACCOUNT, reduced_redundancy: true }),
    endpointHost: () => `${ACCOUNT}.r2.localhost:${front.port}`,
    virtualHosted: false,
    signingRegion: 'auto',
    aclHeader: undefined,
    storageClass: undefined,
    resultExtras: {
      provider: 'r2',
      acl_applied: null,
      url_public: false,
      notes: [
        expect.stringContaining('no ACL was applied'),
        expect.stringContaining('reduced_redundancy was ignored'),
        expect.stringContaining('not public: the URL is the bucket\'s S3 API endpoint'),
      ],
    },
  },
  {
    name: 'b2',
    fields: () => ({ provider: 'b2', region: 'us-west-004', reduced_redundancy: true }),
    endpointHost: () => `s3.us-west-004.b2.localhost:${front.port}`,
    virtualHosted: true,
    signingRegion: 'us-west-004',
    aclHeader: undefined,
    storageClass: undefined,
    resultExtras: {
      provider: 'b2',
      acl_applied: null,
      notes: [expect.stringContaining('B2 applies the bucket\'s access setting'), expect.stringContaining('B2 has a single storage class')],
    },
  },
  {
    name: 'wasabi',
    fields: () => ({ provider: 'wasabi', region: 'eu-central-2', acl: 'private', reduced_redundancy: true }),
    endpointHost: () => `s3.eu-central-2.wasabi.localhost:${front.port}`,
    virtualHosted: true,
    signingRegion: 'eu-central-2',
    aclHeader: 'private',
    storageClass: undefined,
    resultExtras: { provider: 'wasabi', acl_applied: 'private', notes: [expect.stringContaining('Wasabi has a single storage class')] },
  },
  {
    name: 'spaces',
    fields: () => ({ provider: 'spaces', region: 'nyc3' }),
    endpointHost: () => `nyc3.spaces.localhost:${front.port}`,
    virtualHosted: true,
    signingRegion: 'nyc3',
    // The spec's default acl, which Spaces takes.
    aclHeader: 'public-read',
    storageClass: undefined,
    resultExtras: { provider: 'spaces', acl_applied: 'public-read' },
  },
  {
    name: 'minio',
    fields: () => ({ provider: 'minio', s3host: `http://minio.localhost:${front.port}`, reduced_redundancy: true }),
    endpointHost: () => `minio.localhost:${front.port}`,
    virtualHosted: false,
    signingRegion: 'us-east-1',
    aclHeader: undefined,
    storageClass: 'REDUCED_REDUNDANCY',
    resultExtras: { provider: 'minio', acl_applied: null, storage_class: 'REDUCED_REDUNDANCY', notes: [expect.stringContaining('MinIO has no object ACLs')] },
  },
];

function destination(provider: ProviderCase, filename: string): S3Destination {
  return s3DestinationSchema.parse({
    type: 's3',
    bucket: BUCKET,
    filename,
    aws_access_key_id: S3RVER_KEY,
    aws_secret_access_key: S3RVER_SECRET,
    contenttype: 'video/mp4',
    ...provider.fields(),
  });
}

function run(dest: S3Destination, file: SourceFile, options: { checkpoint?: ReturnType<typeof memoryCheckpoints>; signal?: AbortSignal; partsInFlight?: number } = {}): Promise<UploadResult> {
  const adapter = createS3Adapter({ ...operatorSettings(), partsInFlight: options.partsInFlight ?? 4 });
  return adapter.upload(
    testUploadContext(dest, {
      source: fileSource(file),
      network: guard,
      secrets: [S3RVER_SECRET],
      ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }),
  );
}

/** The requests the front saw while `work` ran. */
async function requestsDuring<T>(work: () => Promise<T>): Promise<{ value: T; requests: FrontRequest[] }> {
  const start = front.requests.length;
  const value = await work();
  return { value, requests: front.requests.slice(start) };
}

const createsObject = (request: FrontRequest) => (request.method === 'PUT' && !request.path.includes('partNumber=')) || (request.method === 'POST' && request.path.includes('?uploads'));

describe.each(CASES.map((c) => [c.name, c] as const))('provider %s, end to end', (_name, provider) => {
  it.each([
    ['a single PUT', () => small],
    ['a multipart upload', () => twoParts],
  ])('stores the file byte for byte (%s) at the provider\'s host, in its addressing style, signed for its region', async (how, file) => {
    const key = `renders/${provider.name} ${how}.mp4`;
    const { value: result, requests } = await requestsDuring(() => run(destination(provider, key), file()));

    expect(await server.stored(BUCKET, key)).toEqual({ size: file().size, sha256: file().sha256 });

    const encodedKey = key.split('/').map(encodeURIComponent).join('/');
    const url = provider.virtualHosted ? `http://${BUCKET}.${provider.endpointHost()}/${encodedKey}` : `http://${provider.endpointHost()}/${BUCKET}/${encodedKey}`;
    expect(result).toEqual({
      url,
      bytes: file().size,
      etag: expect.any(String),
      bucket: BUCKET,
      key,
      // The MD5 checks of checksum.ts run against every provider, whose ETags are MD5s too.
      checksum: expect.objectContaining({ algorithm: 'MD5', verified: true }),
      ...provider.resultExtras,
    });

    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect(request.host).toBe(provider.virtualHosted ? `${BUCKET}.${provider.endpointHost()}` : provider.endpointHost());
      expect(request.path.startsWith(`/${BUCKET}/`)).toBe(!provider.virtualHosted);
      expect(request.signingRegion).toBe(provider.signingRegion);
      // No SDK "flexible checksum" headers: B2 refuses them (InvalidArgument), Content-MD5 is sent instead.
      expect(Object.keys(request.headers).filter((name) => name.startsWith('x-amz-checksum') || name === 'x-amz-sdk-checksum-algorithm')).toEqual([]);
      expect(request.headers['content-md5'] !== undefined).toBe(request.method === 'PUT');
    }
    const creating = requests.filter(createsObject);
    expect(creating).toHaveLength(1);
    expect(creating[0]!.headers['x-amz-acl']).toBe(provider.aclHeader);
    expect(creating[0]!.headers['x-amz-storage-class']).toBe(provider.storageClass);
    expect(requests.some((r) => r.path.includes('partNumber='))).toBe(how === 'a multipart upload');

    // The returned URL names the object (the front routes it as the provider would).
    expect(await front.fetchObject(result.url!)).toEqual({ status: 200, size: file().size, sha256: file().sha256 });
  });

  it('resumes an interrupted multipart upload with the part the server holds, at the provider\'s host', async () => {
    const key = `resume/${provider.name}.mp4`;
    const controller = new AbortController();
    const checkpoint = memoryCheckpoints();
    const save = checkpoint.save.bind(checkpoint);
    checkpoint.save = async <T,>(state: T) => {
      await save(state);
      if ((state as S3Checkpoint).parts.length >= 1) controller.abort('shutdown');
    };
    const interrupted = await run(destination(provider, key), twoParts, { checkpoint, signal: controller.signal, partsInFlight: 1 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(interrupted).toBeInstanceOf(FleetError);
    expect((interrupted as FleetError).code).toBe('UF_ABORTED');

    checkpoint.save = save;
    const { requests } = await requestsDuring(() => run(destination(provider, key), twoParts, { checkpoint }));
    const partsSent = requests.filter((r) => r.path.includes('partNumber=')).map((r) => new URLSearchParams(r.path.split('?')[1]).get('partNumber'));
    expect(partsSent).toEqual(['2']);
    expect(requests.some((r) => r.method === 'GET' && r.path.includes('uploadId='))).toBe(true);
    expect(await server.stored(BUCKET, key)).toEqual({ size: twoParts.size, sha256: twoParts.sha256 });
  });
});

describe('refused at submit time, through the request validation the API runs', () => {
  it.each([
    ['r2', { provider: 'r2', account_id: ACCOUNT, acl: 'private' }, 'acl', 'Cloudflare R2 applies no object ACLs'],
    ['r2', { provider: 'r2' }, 'account_id', 'account_id is required'],
    ['b2', { provider: 'b2', region: 'us-west-004', acl: 'authenticated-read' }, 'acl', 'Backblaze B2 applies no object ACLs'],
    ['wasabi', { provider: 'wasabi', aws_use_policy: true }, 'aws_use_policy', 'Wasabi access key'],
    ['spaces', { provider: 'spaces', region: 'nyc3', acl: 'public-read-write' }, 'acl', 'accepts acl "private" or "public-read" only'],
    ['minio', { provider: 'minio' }, 's3host', 's3host is required with provider "minio"'],
  ])('%s: %o is refused at upload.destination.%s', (_provider, fields, field, words) => {
    const result = validateDeliveryRequest({
      source: { path: 'renders/welcome.mp4' },
      upload: { destination: { type: 's3', bucket: BUCKET, filename: 'a.mp4', aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'secret', ...fields } },
    });
    expect(result.ok ? [] : result.problems).toContainEqual({ path: `upload.destination.${field}`, message: expect.stringContaining(words) });
  });
});
