import { describe, expect, it } from 'vitest';
import { s3DestinationSchema, type S3Destination } from './definition.js';
import { isEndpointTemplate, objectPlan, providerEndpoint, providerLimitKey, providerOf } from './providers.js';
import { objectUrl } from './url.js';
import { destinationsConfig } from '../definitions.js';

/** The s3 settings an operator's environment gives. */
const s3SettingsFrom = (env: Record<string, string>) => destinationsConfig.load(env).s3;

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const keys = { aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'secret' };

function parse(fields: Record<string, unknown>): S3Destination {
  return s3DestinationSchema.parse({ type: 's3', bucket: 'videos', filename: 'renders/a.mp4', ...keys, ...fields });
}

/** The problems of a destination, as `field: message`. */
function problems(fields: Record<string, unknown>): { path: string; message: string }[] {
  const result = s3DestinationSchema.safeParse({ type: 's3', bucket: 'videos', filename: 'renders/a.mp4', ...keys, ...fields });
  return (result.error?.issues ?? []).map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

describe('endpoints and URLs by provider (the documented defaults)', () => {
  it.each([
    // fields, endpoint, signing region, path-style, URL of renders/a.mp4 with secure: true
    [{ provider: 'r2', account_id: ACCOUNT }, `https://${ACCOUNT}.r2.cloudflarestorage.com`, 'auto', true, `https://${ACCOUNT}.r2.cloudflarestorage.com/videos/renders/a.mp4`],
    [{ provider: 'r2', account_id: ACCOUNT, region: 'auto' }, `https://${ACCOUNT}.r2.cloudflarestorage.com`, 'auto', true, `https://${ACCOUNT}.r2.cloudflarestorage.com/videos/renders/a.mp4`],
    [{ provider: 'b2', region: 'us-west-004' }, 'https://s3.us-west-004.backblazeb2.com', 'us-west-004', false, 'https://videos.s3.us-west-004.backblazeb2.com/renders/a.mp4'],
    [{ provider: 'b2', region: 'eu-central-003' }, 'https://s3.eu-central-003.backblazeb2.com', 'eu-central-003', false, 'https://videos.s3.eu-central-003.backblazeb2.com/renders/a.mp4'],
    // Wasabi's us-east-1 is s3.wasabisys.com, the default region; the others s3.<region>.wasabisys.com.
    [{ provider: 'wasabi' }, 'https://s3.wasabisys.com', 'us-east-1', false, 'https://videos.s3.wasabisys.com/renders/a.mp4'],
    [{ provider: 'wasabi', region: 'us-east-1' }, 'https://s3.wasabisys.com', 'us-east-1', false, 'https://videos.s3.wasabisys.com/renders/a.mp4'],
    [{ provider: 'wasabi', region: 'eu-central-2' }, 'https://s3.eu-central-2.wasabisys.com', 'eu-central-2', false, 'https://videos.s3.eu-central-2.wasabisys.com/renders/a.mp4'],
    [{ provider: 'spaces', region: 'nyc3' }, 'https://nyc3.digitaloceanspaces.com', 'nyc3', false, 'https://videos.nyc3.digitaloceanspaces.com/renders/a.mp4'],
    [{ provider: 'spaces', region: 'fra1' }, 'https://fra1.digitaloceanspaces.com', 'fra1', false, 'https://videos.fra1.digitaloceanspaces.com/renders/a.mp4'],
    // MinIO: the s3host, path-style even without a port, us-east-1 unless region says otherwise.
    [{ provider: 'minio', s3host: 'minio.example.com' }, 'https://minio.example.com', 'us-east-1', true, 'https://minio.example.com/videos/renders/a.mp4'],
    [{ provider: 'minio', s3host: 'minio.example.com:9000', region: 'eu-west-1' }, 'https://minio.example.com:9000', 'eu-west-1', true, 'https://minio.example.com:9000/videos/renders/a.mp4'],
    [{ provider: 'minio', s3host: 'http://minio.internal:9000' }, 'http://minio.internal:9000', 'us-east-1', true, 'https://minio.internal:9000/videos/renders/a.mp4'],
    // aws (also when named): endpoint.ts's rule, unchanged.
    [{}, undefined, 'us-east-1', false, 'https://videos.s3.amazonaws.com/renders/a.mp4'],
    [{ provider: 'aws', s3host: 's3.eu-central-1.amazonaws.com' }, 'https://s3.eu-central-1.amazonaws.com', 'eu-central-1', false, 'https://videos.s3.eu-central-1.amazonaws.com/renders/a.mp4'],
  ] as const)('%o -> %s, region %s, path-style %s, %s', (fields, url, region, pathStyle, objectAt) => {
    const endpoint = providerEndpoint(parse(fields), undefined);
    expect(endpoint.url?.origin).toBe(url);
    expect(endpoint.region).toBe(region);
    expect(endpoint.pathStyle).toBe(pathStyle);
    expect(objectUrl(endpoint, 'videos', 'renders/a.mp4', true)).toBe(objectAt);
    // Checkpoints of one account, region or host never resume on another.
    if (url !== undefined) expect(endpoint.id).toBe(url);
  });

  it('keeps the spec\'s http URL when secure is not set, and moves dotted buckets into the path over https', () => {
    const spaces = providerEndpoint(parse({ provider: 'spaces', region: 'nyc3' }), undefined);
    expect(objectUrl(spaces, 'videos', 'a.mp4', false)).toBe('http://videos.nyc3.digitaloceanspaces.com/a.mp4');
    expect(objectUrl(spaces, 'my.videos', 'a.mp4', true)).toBe('https://nyc3.digitaloceanspaces.com/my.videos/a.mp4');
  });

  it('lets S3_FORCE_PATH_STYLE decide for s3host endpoints (aws, minio) only', () => {
    expect(providerEndpoint(parse({ provider: 'minio', s3host: 'minio.example.com' }), false).pathStyle).toBe(false);
    expect(providerEndpoint(parse({ s3host: 's3.eu-central-1.amazonaws.com' }), true).pathStyle).toBe(true);
    expect(providerEndpoint(parse({ provider: 'spaces', region: 'nyc3' }), true).pathStyle).toBe(false);
    expect(providerEndpoint(parse({ provider: 'r2', account_id: ACCOUNT }), false).pathStyle).toBe(true);
  });
});

describe('operator endpoint templates (sovereign, self-hosted, test servers)', () => {
  it('fills {region} and {account_id} into the operator\'s template', () => {
    const eu = providerEndpoint(parse({ provider: 'r2', account_id: ACCOUNT }), undefined, { r2: 'https://{account_id}.eu.r2.cloudflarestorage.com' });
    expect(eu.url?.origin).toBe(`https://${ACCOUNT}.eu.r2.cloudflarestorage.com`);
    const local = providerEndpoint(parse({ provider: 'spaces', region: 'ams3' }), undefined, { spaces: 'http://{region}.spaces.localhost:9000' });
    expect(local.url?.origin).toBe('http://ams3.spaces.localhost:9000');
    expect(local.region).toBe('ams3');
    expect(objectUrl(local, 'videos', 'a.mp4', false)).toBe('http://videos.ams3.spaces.localhost:9000/a.mp4');
  });

  it('uses the template as written for Wasabi us-east-1 once the operator changed it', () => {
    expect(providerEndpoint(parse({ provider: 'wasabi' }), undefined, { wasabi: 'https://s3.{region}.wasabi.example' }).url?.origin).toBe('https://s3.us-east-1.wasabi.example');
  });

  it('sends path-style requests to a template that is an IP address (no bucket subdomains there)', () => {
    const ip = providerEndpoint(parse({ provider: 'b2', region: 'us-west-004' }), undefined, { b2: 'http://127.0.0.1:9000' });
    expect(ip.pathStyle).toBe(true);
    expect(objectUrl(ip, 'videos', 'a.mp4', false)).toBe('http://127.0.0.1:9000/videos/a.mp4');
  });

  it('reads the templates from the s3 settings, each with its documented default', () => {
    expect(s3SettingsFrom({}).endpoints).toEqual({
      r2: 'https://{account_id}.r2.cloudflarestorage.com',
      b2: 'https://s3.{region}.backblazeb2.com',
      wasabi: 'https://s3.{region}.wasabisys.com',
      spaces: 'https://{region}.digitaloceanspaces.com',
    });
    expect(s3SettingsFrom({ S3_SPACES_ENDPOINT: 'http://127.0.0.1:4569' }).endpoints?.spaces).toBe('http://127.0.0.1:4569');
    const refused = destinationsConfig.safeLoad({ S3_B2_ENDPOINT: 's3.{region}.backblazeb2.com/path' });
    expect(refused.ok ? [] : refused.problems.map((problem) => problem.setting)).toEqual(['S3_B2_ENDPOINT']);
  });

  it.each([
    ['https://{region}.digitaloceanspaces.com', true],
    ['http://127.0.0.1:9000', true],
    ['https://{account_id}.r2.cloudflarestorage.com/', true],
    ['ftp://{region}.example.com', false],
    ['https://{region}.example.com/bucket', false],
    ['https://user:pw@{region}.example.com', false],
    ['not a url', false],
  ])('template %s is accepted: %s', (template, accepted) => {
    expect(isEndpointTemplate(template)).toBe(accepted);
  });
});

describe('what each provider refuses at submit time, by field', () => {
  it.each([
    // fields, field, words of the message
    [{ provider: 'r2' }, 'account_id', 'account_id is required with provider "r2"'],
    [{ provider: 'r2', account_id: 'my-account' }, 'account_id', '32 lower-case hex digits'],
    [{ provider: 'r2', account_id: ACCOUNT, region: 'us-east-1' }, 'region', 'auto'],
    [{ provider: 'r2', account_id: ACCOUNT, acl: 'private' }, 'acl', 'Cloudflare R2 applies no object ACLs, so acl "private" cannot be honoured'],
    [{ provider: 'r2', account_id: ACCOUNT, acl: 'public-read-write' }, 'acl', 'custom domain or the r2.dev subdomain'],
    [{ provider: 'r2', account_id: ACCOUNT, s3host: 'x.r2.cloudflarestorage.com' }, 's3host', 'S3_R2_ENDPOINT'],
    [{ provider: 'b2' }, 'region', 'region is required with provider "b2"'],
    [{ provider: 'b2', region: 'us-west-4' }, 'region', 'us-west-004'],
    [{ provider: 'b2', region: 'us-west-004', acl: 'private' }, 'acl', 'bucket\'s access setting'],
    [{ provider: 'b2', region: 'us-west-004', account_id: ACCOUNT }, 'account_id', 'only used with provider "r2"'],
    [{ provider: 'wasabi', region: 'nyc3' }, 'region', 'eu-central-1'],
    [{ provider: 'wasabi', s3host: 's3.wasabisys.com' }, 's3host', 'built from region'],
    [{ provider: 'spaces' }, 'region', 'nyc3'],
    // A region is part of a host name: anything but the provider's shape is refused, so it cannot redirect the upload.
    [{ provider: 'spaces', region: 'nyc3.evil.example' }, 'region', 'is not a region of DigitalOcean Spaces'],
    [{ provider: 'spaces', region: 'nyc3', acl: 'authenticated-read' }, 'acl', 'accepts acl "private" or "public-read" only'],
    [{ provider: 'minio' }, 's3host', 's3host is required with provider "minio"'],
    [{ provider: 'minio', s3host: 'minio:9000', acl: 'private' }, 'acl', 'bucket policy'],
    [{ region: 'eu-central-1' }, 'region', 'name the region\'s endpoint in s3host'],
    [{ provider: 'azure' }, 'provider', '"r2", "b2", "wasabi", "spaces", "minio"'],
  ] as const)('%o: %s', (fields, field, words) => {
    expect(problems(fields)).toEqual([{ path: field, message: expect.stringContaining(words) }]);
  });

  it('refuses aws_use_policy for every named provider but aws, asking for the provider\'s keys', () => {
    const found = s3DestinationSchema.safeParse({ type: 's3', bucket: 'videos', filename: 'a.mp4', provider: 'wasabi', aws_use_policy: true });
    expect(found.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['aws_use_policy', expect.stringContaining('give aws_access_key_id and aws_secret_access_key of a Wasabi access key')],
    ]);
    expect(s3DestinationSchema.safeParse({ type: 's3', bucket: 'videos', filename: 'a.mp4', provider: 'aws', aws_use_policy: true }).success).toBe(true);
  });

  it('asks a named provider for its access key, not for aws_use_policy, when no credentials are given', () => {
    const found = s3DestinationSchema.safeParse({ type: 's3', bucket: 'videos', filename: 'a.mp4', provider: 'spaces', region: 'nyc3' });
    expect(found.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['aws_access_key_id', 'give aws_access_key_id and aws_secret_access_key of your DigitalOcean Spaces access key'],
    ]);
  });

  it('lists every problem at once', () => {
    expect(problems({ provider: 'r2', acl: 'private', s3host: 'x.example.com', reduced_redundancy: 'yes' }).map((p) => p.path).sort()).toEqual([
      'account_id',
      'acl',
      'reduced_redundancy',
      's3host',
    ]);
  });

  it('accepts the spec default acl (public-read) everywhere: it cannot be told from an acl left out', () => {
    for (const fields of [{ provider: 'r2', account_id: ACCOUNT }, { provider: 'b2', region: 'us-west-004' }, { provider: 'minio', s3host: 'minio:9000' }]) {
      expect(problems({ ...fields, acl: 'public-read' })).toEqual([]);
    }
  });
});

describe('what each provider sends and reports', () => {
  it('R2: no ACL header, no storage class, a result that says the URL is not public', () => {
    const plan = objectPlan(parse({ provider: 'r2', account_id: ACCOUNT, reduced_redundancy: true }));
    expect(plan.acl).toBeUndefined();
    expect(plan.reducedRedundancy).toBe(false);
    expect(plan.urlPublic).toBe(false);
    expect(plan.notes).toEqual([
      expect.stringMatching(/^no ACL was applied: R2 buckets are private/),
      expect.stringMatching(/^reduced_redundancy was ignored: R2 offers the storage classes STANDARD and STANDARD_IA/),
      expect.stringMatching(/^not public: the URL is the bucket's S3 API endpoint/),
    ]);
  });

  it.each([
    // fields, acl sent, storage class sent, notes mention
    [{ provider: 'b2', region: 'us-west-004', reduced_redundancy: true }, undefined, false, ['no ACL was applied', 'reduced_redundancy was ignored: B2']],
    [{ provider: 'wasabi', acl: 'authenticated-read', reduced_redundancy: true }, 'authenticated-read', false, ['reduced_redundancy was ignored: Wasabi']],
    [{ provider: 'spaces', region: 'nyc3', acl: 'private' }, 'private', false, []],
    [{ provider: 'spaces', region: 'nyc3' }, 'public-read', false, []],
    [{ provider: 'minio', s3host: 'minio:9000', reduced_redundancy: true }, undefined, true, ['no ACL was applied: MinIO']],
    [{ acl: 'private', reduced_redundancy: true }, 'private', true, []],
  ] as const)('%o: acl %s, REDUCED_REDUNDANCY %s', (fields, acl, reducedRedundancy, notes) => {
    const plan = objectPlan(parse(fields));
    expect(plan.acl).toBe(acl);
    expect(plan.reducedRedundancy).toBe(reducedRedundancy);
    expect(plan.notes).toHaveLength(notes.length);
    notes.forEach((words, i) => expect(plan.notes[i]).toContain(words));
    expect(plan.urlPublic).toBeUndefined();
  });
});

describe('limit keys', () => {
  it('count a provider\'s bucket per account, region or host; Amazon S3 as before', () => {
    expect(providerLimitKey(parse({}))).toBe('videos');
    expect(providerLimitKey(parse({ s3host: 'S3.eu-central-1.amazonaws.com' }))).toBe('s3.eu-central-1.amazonaws.com/videos');
    expect(providerLimitKey(parse({ provider: 'r2', account_id: ACCOUNT }))).toBe(`r2:${ACCOUNT}/videos`);
    expect(providerLimitKey(parse({ provider: 'wasabi' }))).toBe('wasabi:us-east-1/videos');
    expect(providerLimitKey(parse({ provider: 'minio', s3host: 'MinIO:9000' }))).toBe('minio:minio:9000/videos');
    expect(providerOf(parse({}))).toBe('aws');
  });
});
