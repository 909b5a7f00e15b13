import { isIP } from 'node:net';
import { FleetError } from '@upload-fleet/core';
import { DEFAULT_REGION, endpointAt, resolveEndpoint, type S3Endpoint } from './endpoint.js';

/**
 * S3-compatible services by name: the `provider` parameter of an `s3` destination (beyond
 * the spec; absent means `aws`, Amazon S3 as the spec describes it). Each provider's whole
 * behaviour is declared here, once: where its endpoint is (a template filled from `region`
 * or `account_id`), which region requests are signed for, path-style or virtual-hosted
 * requests and URLs, which of the spec's parameters it honours, ignores or refuses, and
 * what the result says about the URL. The schema (definition.ts) validates with
 * `providerProblems`, the adapter (index.ts) connects with `providerEndpoint` and sends
 * what `objectPlan` says. docs/destinations/s3.md has a section per provider with the
 * documentation each rule follows.
 *
 * No SDK here: definition.ts imports this module.
 */

export const S3_PROVIDERS = ['aws', 'r2', 'b2', 'wasabi', 'spaces', 'minio'] as const;
export type S3Provider = (typeof S3_PROVIDERS)[number];

/** The canned ACLs of the spec (definition.ts re-exports them as S3_ACLS). */
export const CANNED_ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read'] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];
/**
 * The spec's default `acl`. The schema leaves an absent `acl` absent, so the adapter can
 * tell it from an explicit one (object-parameters.ts); the provider rules still accept
 * an explicit public-read where they accept the default, as they did.
 */
export const SPEC_DEFAULT_ACL: CannedAcl = 'public-read';

/** Providers whose endpoint is a template the operator may change (`S3_<NAME>_ENDPOINT`). */
export type TemplatedProvider = 'r2' | 'b2' | 'wasabi' | 'spaces';
export const TEMPLATED_PROVIDERS = ['r2', 'b2', 'wasabi', 'spaces'] as const satisfies readonly TemplatedProvider[];

/** How a provider treats `acl`. */
type AclRule =
  /** Sent as `x-amz-acl`; values outside `accepted` are refused at submit time. */
  | { kind: 'canned'; accepted: readonly CannedAcl[] }
  /**
   * The provider applies no object ACL: nothing is sent, an `acl` other than the spec's
   * default is refused at submit time (it could not be honoured), and the result says that
   * no ACL was applied. `access` says what decides access instead.
   */
  | { kind: 'none'; access: string };

interface RegionRule {
  /** Absent `region` means this; undefined: `region` is required. */
  readonly default: string | undefined;
  readonly pattern: RegExp;
  /** For messages: "a region like us-west-004". */
  readonly example: string;
}

export interface ProviderRules {
  readonly label: string;
  /**
   * The endpoint template (`{region}`, `{account_id}`), the default of the operator's
   * `S3_<NAME>_ENDPOINT`; undefined where the endpoint is `s3host` (aws, minio).
   */
  readonly endpointTemplate: string | undefined;
  /** `s3host`: may be given (aws), must be given (minio), or is refused (the endpoint is the template's). */
  readonly s3host: 'optional' | 'required' | 'refused';
  /** undefined: `region` is refused (aws reads it from s3host, as the spec has it). */
  readonly region: RegionRule | undefined;
  readonly accountId: boolean;
  /** Path-style requests and URLs by default; undefined: the s3host rule of endpoint.ts. */
  readonly pathStyle: boolean | undefined;
  readonly acl: AclRule;
  /** Whether `reduced_redundancy` is sent as x-amz-storage-class: REDUCED_REDUNDANCY; else ignored, and said so. */
  readonly reducedRedundancy: boolean | { ignoredBecause: string };
  /** Whether `aws_use_policy` (the fleet's own AWS credentials) can sign for this provider. */
  readonly usePolicy: boolean;
  /** Set when the returned URL cannot serve the file to anyone without credentials: why, and what would. */
  readonly notPublic?: string;
}

export const PROVIDERS: Readonly<Record<S3Provider, ProviderRules>> = {
  aws: {
    label: 'Amazon S3',
    endpointTemplate: undefined,
    s3host: 'optional',
    region: undefined,
    accountId: false,
    pathStyle: undefined,
    acl: { kind: 'canned', accepted: CANNED_ACLS },
    reducedRedundancy: true,
    usePolicy: true,
  },
  // https://developers.cloudflare.com/r2/api/s3/api/ : endpoint https://<ACCOUNT_ID>.r2.cloudflarestorage.com,
  // region "auto" (empty and us-east-1 alias it); PutObject and CreateMultipartUpload
  // implement neither x-amz-acl nor the grant headers; x-amz-storage-class only STANDARD
  // and STANDARD_IA. Public access is a bucket setting (custom domain or r2.dev subdomain).
  r2: {
    label: 'Cloudflare R2',
    endpointTemplate: 'https://{account_id}.r2.cloudflarestorage.com',
    s3host: 'refused',
    region: { default: 'auto', pattern: /^auto$/, example: 'auto (R2 has no other)' },
    accountId: true,
    pathStyle: true,
    acl: { kind: 'none', access: 'R2 buckets are private; public access is a bucket setting (a custom domain or the r2.dev subdomain)' },
    reducedRedundancy: { ignoredBecause: 'R2 offers the storage classes STANDARD and STANDARD_IA, not REDUCED_REDUNDANCY' },
    usePolicy: false,
    notPublic:
      'the URL is the bucket\'s S3 API endpoint, which serves no anonymous reads; the file is public only through a custom domain or the r2.dev subdomain enabled on the bucket',
  },
  // https://www.backblaze.com/docs/cloud-storage-s3-compatible-api : endpoint
  // s3.<region>.backblazeb2.com; ACLs are the bucket's (private or public-read), a PutObject
  // x-amz-acl "must be the same as the bucket ACL" (https://www.backblaze.com/apidocs/s3-put-object);
  // that page lists no x-amz-storage-class, and B2 answers the SDK's x-amz-checksum-* headers
  // with InvalidArgument (client.ts keeps them off for every provider).
  b2: {
    label: 'Backblaze B2',
    endpointTemplate: 'https://s3.{region}.backblazeb2.com',
    s3host: 'refused',
    region: { default: undefined, pattern: /^[a-z]{2}-[a-z]+-\d{3}$/, example: 'us-west-004 (the region in the bucket\'s endpoint, s3.<region>.backblazeb2.com)' },
    accountId: false,
    pathStyle: false,
    acl: { kind: 'none', access: 'B2 applies the bucket\'s access setting (private or public) to every file in it' },
    reducedRedundancy: { ignoredBecause: 'B2 has a single storage class' },
    usePolicy: false,
  },
  // https://docs.wasabi.com/docs/service-urls-for-wasabis-storage-regions : s3.wasabisys.com
  // for us-east-1 (s3.us-east-1.wasabisys.com is its alias), s3.<region>.wasabisys.com
  // elsewhere; Wasabi is "bit-compatible" with S3, canned ACLs included.
  wasabi: {
    label: 'Wasabi',
    endpointTemplate: 'https://s3.{region}.wasabisys.com',
    s3host: 'refused',
    region: { default: 'us-east-1', pattern: /^[a-z]{2}-[a-z]+-\d$/, example: 'eu-central-1' },
    accountId: false,
    pathStyle: false,
    acl: { kind: 'canned', accepted: CANNED_ACLS },
    reducedRedundancy: { ignoredBecause: 'Wasabi has a single storage class' },
    usePolicy: false,
  },
  // https://docs.digitalocean.com/reference/api/spaces/ : endpoint ${REGION}.digitaloceanspaces.com,
  // SigV4 credential scope ${REGION_SLUG}; objects at <bucket>.<region>.digitaloceanspaces.com;
  // canned ACLs private and public-read.
  spaces: {
    label: 'DigitalOcean Spaces',
    endpointTemplate: 'https://{region}.digitaloceanspaces.com',
    s3host: 'refused',
    region: { default: undefined, pattern: /^[a-z]{3}\d$/, example: 'nyc3' },
    accountId: false,
    pathStyle: false,
    acl: { kind: 'canned', accepted: ['private', 'public-read'] },
    reducedRedundancy: { ignoredBecause: 'Spaces sets the storage tier per bucket (standard or cold storage), not per object' },
    usePolicy: false,
  },
  // https://docs.min.io/community/minio-object-store/reference/s3-api-compatibility.html :
  // PutObjectAcl/GetObjectAcl unsupported, access is set by bucket policy (MinIO ignores
  // x-amz-acl on upload, minio/minio#6959); REDUCED_REDUNDANCY is a MinIO storage class.
  // Self-hosted: s3host names the server; path-style unless the server has MINIO_DOMAIN.
  minio: {
    label: 'MinIO',
    endpointTemplate: undefined,
    s3host: 'required',
    region: { default: DEFAULT_REGION, pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, example: 'us-east-1 (MinIO\'s default; MINIO_SITE_REGION of the server)' },
    accountId: false,
    pathStyle: true,
    acl: { kind: 'none', access: 'MinIO has no object ACLs; access is set by bucket policy (mc anonymous set)' },
    reducedRedundancy: true,
    usePolicy: false,
  },
};

/** The provider of a destination: `aws` when it names none. */
export function providerOf(destination: { provider?: S3Provider | undefined }): S3Provider {
  return destination.provider ?? 'aws';
}

/** What the provider rules read from a destination (the parsed s3 destination has these fields). */
export interface ProviderFields {
  provider?: S3Provider | undefined;
  region?: string | undefined;
  account_id?: string | undefined;
  s3host?: string | undefined;
  /** Left out: the spec's default; "bucket-default": none (object-parameters.ts). */
  acl?: CannedAcl | 'bucket-default' | undefined;
  aws_use_policy: boolean;
  reduced_redundancy: boolean;
}

export interface ProviderProblem {
  path: string;
  message: string;
}

/**
 * What a destination asks that its provider cannot do, by field, for the schema's
 * submit-time check. Runs even when other fields are invalid, so it reads defensively.
 */
export function providerProblems(destination: Partial<Record<keyof ProviderFields, unknown>>): ProviderProblem[] {
  const provider = typeof destination.provider === 'string' && destination.provider in PROVIDERS ? (destination.provider as S3Provider) : undefined;
  if (provider === undefined && destination.provider !== undefined) return [];
  const id = provider ?? 'aws';
  const rules = PROVIDERS[id];
  const problems: ProviderProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const name = provider === undefined ? 'Amazon S3 (no provider)' : `provider "${id}" (${rules.label})`;

  if (rules.s3host === 'required' && destination.s3host === undefined) {
    add('s3host', `s3host is required with ${name}: give your server's host with an optional port, like minio.example.com:9000`);
  }
  if (rules.s3host === 'refused' && destination.s3host !== undefined) {
    add(
      's3host',
      `s3host is not used with ${name}: the endpoint is built from ${rules.accountId ? 'account_id' : 'region'}; leave s3host out (an operator points the provider elsewhere with S3_${id.toUpperCase()}_ENDPOINT)`,
    );
  }

  const region = destination.region;
  if (rules.region === undefined) {
    if (region !== undefined) add('region', `region is not used with ${name}: name the region's endpoint in s3host instead, like s3.eu-central-1.amazonaws.com`);
  } else if (region === undefined) {
    if (rules.region.default === undefined) add('region', `region is required with ${name}: give ${rules.region.example}`);
  } else if (typeof region === 'string' && region !== '' && !rules.region.pattern.test(region)) {
    add('region', `region "${region.slice(0, 64)}" is not a region of ${rules.label}: give ${rules.region.example}`);
  }

  const accountId = destination.account_id;
  if (!rules.accountId) {
    if (accountId !== undefined) add('account_id', `account_id is only used with provider "r2" (Cloudflare R2); leave it out with ${name}`);
  } else if (accountId === undefined) {
    add('account_id', `account_id is required with ${name}: give your Cloudflare account id (32 hex digits, shown in the R2 dashboard)`);
  } else if (typeof accountId === 'string' && accountId !== '' && !/^[0-9a-f]{32}$/.test(accountId)) {
    add('account_id', 'account_id must be your Cloudflare account id: 32 lower-case hex digits, shown in the R2 dashboard');
  }

  if (!rules.usePolicy && destination.aws_use_policy === true) {
    add(
      'aws_use_policy',
      `aws_use_policy uploads with the fleet's own AWS credentials, which ${rules.label} does not accept: give aws_access_key_id and aws_secret_access_key of a ${rules.label} access key`,
    );
  }

  // Only a valid canned ACL: the schema already reports any other value.
  const acl = destination.acl;
  if (typeof acl === 'string' && (CANNED_ACLS as readonly string[]).includes(acl)) {
    if (rules.acl.kind === 'none' && acl !== SPEC_DEFAULT_ACL) {
      add('acl', `${rules.label} applies no object ACLs, so acl "${acl}" cannot be honoured: ${rules.acl.access}; leave acl out`);
    }
    if (rules.acl.kind === 'canned' && !(rules.acl.accepted as readonly string[]).includes(acl)) {
      add('acl', `${rules.label} accepts acl ${rules.acl.accepted.map((a) => `"${a}"`).join(' or ')} only`);
    }
  }
  return problems;
}

/** Endpoint templates by provider, as the operator set them (definition.ts's settings). */
export type EndpointTemplates = Readonly<Record<TemplatedProvider, string>>;

export const DEFAULT_ENDPOINT_TEMPLATES: EndpointTemplates = {
  r2: PROVIDERS.r2.endpointTemplate!,
  b2: PROVIDERS.b2.endpointTemplate!,
  wasabi: PROVIDERS.wasabi.endpointTemplate!,
  spaces: PROVIDERS.spaces.endpointTemplate!,
};

/** Wasabi's primary service URL for us-east-1 (the template's form is its documented alias). */
const WASABI_US_EAST_1 = 'https://s3.wasabisys.com';

/** Whether an operator's template is an http(s) origin once filled in (checked when settings are read). */
export function isEndpointTemplate(template: string): boolean {
  try {
    const url = new URL(fillTemplate(template, { region: 'region', account_id: 'account' }));
    return (url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username;
  } catch {
    return false;
  }
}

function fillTemplate(template: string, values: { region: string; account_id: string }): string {
  // Values were checked against the provider's pattern at submit time (no dots, slashes or
  // colons), so they cannot move the host elsewhere; encodeURIComponent is a second guard.
  return template.replaceAll('{region}', encodeURIComponent(values.region)).replaceAll('{account_id}', encodeURIComponent(values.account_id));
}

/**
 * Where an upload connects and how its URL is shaped, by provider. `aws` is endpoint.ts's
 * s3host rule unchanged; `minio` the same host rule with path-style and the destination's
 * region; the others fill their operator's template. `forcePathStyle` (S3_FORCE_PATH_STYLE)
 * decides for hosts named by s3host; templated providers keep their own style, except on
 * an IP address, which has no bucket subdomains.
 */
export function providerEndpoint(destination: ProviderFields, forcePathStyle: boolean | undefined, templates: Partial<EndpointTemplates> = {}): S3Endpoint {
  const provider = providerOf(destination);
  const rules = PROVIDERS[provider];
  if (provider === 'aws') return resolveEndpoint(destination.s3host, forcePathStyle);
  const region = destination.region ?? rules.region?.default ?? DEFAULT_REGION;
  if (provider === 'minio') {
    if (destination.s3host === undefined) throw invalid('s3host is required with provider "minio"');
    const hosted = resolveEndpoint(destination.s3host, forcePathStyle);
    return { ...hosted, region, pathStyle: forcePathStyle ?? true };
  }
  const template = templates[provider] ?? DEFAULT_ENDPOINT_TEMPLATES[provider];
  const filled =
    provider === 'wasabi' && region === 'us-east-1' && template === DEFAULT_ENDPOINT_TEMPLATES.wasabi
      ? WASABI_US_EAST_1
      : fillTemplate(template, { region, account_id: destination.account_id ?? '' });
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    throw invalid(`the ${rules.label} endpoint "${filled.slice(0, 200)}" is not a URL: check S3_${provider.toUpperCase()}_ENDPOINT`);
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return endpointAt(url, region, isIP(hostname) !== 0 || (rules.pathStyle ?? false));
}

function invalid(message: string): FleetError {
  return new FleetError('UF_INVALID_REQUEST', message, { destination: 's3' });
}

/** What an upload sends and reports, beyond the spec's own headers. */
export interface ObjectPlan {
  /** The x-amz-acl to send; undefined: none. */
  acl: CannedAcl | undefined;
  /** Whether to send x-amz-storage-class: REDUCED_REDUNDANCY. */
  reducedRedundancy: boolean;
  /** For the result: what the provider ignored and why, what the URL can and cannot do. */
  notes: string[];
  /** False when the URL cannot serve the file publicly whatever the bucket; undefined: the acl and bucket decide. */
  urlPublic: false | undefined;
}

export function objectPlan(destination: ProviderFields): ObjectPlan {
  const rules = PROVIDERS[providerOf(destination)];
  const notes: string[] = [];
  const acl = rules.acl.kind === 'canned' ? (destination.acl === 'bucket-default' ? undefined : (destination.acl ?? SPEC_DEFAULT_ACL)) : undefined;
  if (rules.acl.kind === 'none') notes.push(`no ACL was applied: ${rules.acl.access}`);
  const reducedRedundancy = destination.reduced_redundancy && rules.reducedRedundancy === true;
  if (destination.reduced_redundancy && typeof rules.reducedRedundancy === 'object') {
    notes.push(`reduced_redundancy was ignored: ${rules.reducedRedundancy.ignoredBecause}`);
  }
  if (rules.notPublic) notes.push(`not public: ${rules.notPublic}`);
  return { acl, reducedRedundancy, notes, urlPublic: rules.notPublic ? false : undefined };
}

/** The account uploads count against: the provider's host (account or region) and the bucket. */
export function providerLimitKey(destination: ProviderFields & { bucket: string }): string {
  const provider = providerOf(destination);
  if (provider === 'aws') return destination.s3host ? `${destination.s3host.toLowerCase()}/${destination.bucket}` : destination.bucket;
  const where = provider === 'minio' ? (destination.s3host ?? '').toLowerCase() : provider === 'r2' ? (destination.account_id ?? '') : (destination.region ?? PROVIDERS[provider].region?.default ?? '');
  return `${provider}:${where}/${destination.bucket}`;
}
