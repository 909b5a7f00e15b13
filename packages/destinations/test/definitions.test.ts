import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { secretFieldsOf, validate, type ValidationProblem, type ValidationResult } from '@upload-fleet/core';
import { DESTINATION_TYPES, destinationSchema, destinationSchemas, validateDeliveryRequest, type DestinationType } from '../src/definitions.js';
import { HTTP_METHODS } from '../src/http/definition.js';
import { S3_ACLS } from '../src/s3/definition.js';
import { YOUTUBE_CATEGORIES, YOUTUBE_STATUSES, youtubeTagsLength } from '../src/youtube/definition.js';

/*
 * The destination schemas against docs/spec "Upload Destinations" (upload-destinations.md):
 * every parameter, its type, required or not, its default and its enum; the spec's JSON
 * examples verbatim; and the rules the spec leaves implicit (credentials at submit time,
 * YouTube's limits, HTTP methods that can carry a file).
 */

function ok<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw new Error(`expected valid input, got problems: ${JSON.stringify(result.problems, null, 2)}`);
  return result.value;
}

function problems<T>(result: ValidationResult<T>): ValidationProblem[] {
  if (result.ok) throw new Error(`expected problems, got a valid value: ${JSON.stringify(result.value)}`);
  return result.problems;
}

const parse = (input: unknown) => validate(destinationSchema, input);
const request = (upload: unknown) => ({ source: { path: 'renders/welcome.mp4' }, upload });

// ---------------------------------------------------------------------------------------
// The spec's JSON examples, copied verbatim (each is the `upload` object of a request).
// ---------------------------------------------------------------------------------------

const SPEC_EXAMPLES = {
  's3 with access keys': {
    upload: {
      extension: 'mp4',
      destination: {
        type: 's3',
        bucket: 'my-videos',
        filename: 'renders/welcome.mp4',
        aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE',
        aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
    },
  },
  's3 with a bucket policy': {
    upload: {
      extension: 'mp4',
      destination: {
        type: 's3',
        bucket: 'my-videos',
        filename: 'renders/welcome.mp4',
        aws_use_policy: true,
      },
    },
  },
  azureblob: {
    upload: {
      extension: 'mp4',
      destination: {
        type: 'azureblob',
        account: 'mystorageaccount',
        key: 'your-storage-key',
        container: 'videos',
        filename: 'renders/welcome.mp4',
        contenttype: 'video/mp4',
      },
    },
  },
  youtube: {
    upload: {
      extension: 'mp4',
      destination: {
        type: 'youtube',
        title: 'Welcome, Alex!',
        description: 'A personalized welcome video.',
        category: '22',
        status: 'unlisted',
        tags: ['personalized', 'welcome'],
        oauth_access_token: 'ya29.your-oauth-token',
      },
    },
  },
  facebook: {
    upload: {
      extension: 'mp4',
      destination: {
        type: 'facebook',
        title: 'Welcome Video',
        description: 'A personalized welcome.',
        oauth_access_token: 'your-facebook-token',
      },
    },
  },
  dropbox: {
    upload: {
      extension: 'mp4',
      destination: {
        type: 'dropbox',
        filename: 'Videos/welcome.mp4',
        auth_secret: 'your-auth-secret',
      },
    },
  },
  http: {
    upload: {
      extension: 'mp4',
      destination: {
        type: 'http',
        url: 'https://your-server.com/api/videos',
        filename: 'welcome.mp4',
        method: 'POST',
        headers: {
          Authorization: 'Bearer your-api-token',
        },
      },
    },
  },
  ftp: {
    upload: {
      extension: 'mp4',
      destination: {
        type: 'ftp',
        host: 'ftp.example.com',
        filename: '/videos/welcome.mp4',
        user: 'ftpuser',
        password: 'ftppass',
      },
    },
  },
} as const;

/** The types added beyond the spec (issues 10 and 11), which no spec example covers. */
const BEYOND_THE_SPEC: readonly string[] = ['gcs', 'googledrive', 'mux', 'sftp', 'tiktok', 'vimeo', 'webdav'];

/** What each example parses to: the example plus the spec's defaults, nothing else. */
const SPEC_EXAMPLES_PARSED: Record<keyof typeof SPEC_EXAMPLES, Record<string, unknown>> = {
  // No acl: the spec's default public-read is the adapter's to apply, so it can tell an acl
  // left out from one given (s3/object-parameters.ts: buckets with ACLs disabled).
  's3 with access keys': {
    ...SPEC_EXAMPLES['s3 with access keys'].upload.destination,
    aws_use_policy: false,
    contenttype: 'application/octet-stream',
    secure: false,
    reduced_redundancy: false,
  },
  's3 with a bucket policy': {
    ...SPEC_EXAMPLES['s3 with a bucket policy'].upload.destination,
    contenttype: 'application/octet-stream',
    secure: false,
    reduced_redundancy: false,
  },
  azureblob: { ...SPEC_EXAMPLES.azureblob.upload.destination },
  youtube: { ...SPEC_EXAMPLES.youtube.upload.destination, notifySubscribers: true, mimetype: 'video/mp4' },
  facebook: { ...SPEC_EXAMPLES.facebook.upload.destination, endpoint: 'https://graph.facebook.com' },
  dropbox: { ...SPEC_EXAMPLES.dropbox.upload.destination },
  http: { ...SPEC_EXAMPLES.http.upload.destination, fileid: 'file', fields: {} },
  ftp: { ...SPEC_EXAMPLES.ftp.upload.destination, passive: false, epsv: false, secure: false },
};

describe('the spec\'s JSON examples', () => {
  it.each(Object.entries(SPEC_EXAMPLES))('%s validates as a request, verbatim', (_name, example) => {
    const value = ok(validateDeliveryRequest({ source: { path: 'renders/welcome.mp4' }, ...example }));
    expect(value.upload?.extension).toBe('mp4');
    expect(value.upload?.destination.type).toBe(example.upload.destination.type);
  });

  it.each(Object.entries(SPEC_EXAMPLES))('%s parses to the example plus the spec defaults', (name, example) => {
    const value = ok(validateDeliveryRequest({ source: { url: 'https://renders.example.com/welcome.mp4' }, ...example }));
    expect(value.upload?.destination).toStrictEqual(SPEC_EXAMPLES_PARSED[name as keyof typeof SPEC_EXAMPLES]);
  });

  it('all eight examples validate together as one delivery with `uploads`', () => {
    const uploads = Object.values(SPEC_EXAMPLES).map((example) => example.upload);
    const value = ok(validateDeliveryRequest({ source: { path: 'renders/welcome.mp4' }, uploads }));
    expect(value.uploads?.map((u) => u.destination.type)).toEqual(['s3', 's3', 'azureblob', 'youtube', 'facebook', 'dropbox', 'http', 'ftp']);
  });

  it('covers every destination type of the spec', () => {
    const types = new Set(Object.values(SPEC_EXAMPLES).map((example) => example.upload.destination.type));
    expect([...types].sort()).toEqual(DESTINATION_TYPES.filter((type) => !BEYOND_THE_SPEC.includes(type)).sort());
  });
});

// ---------------------------------------------------------------------------------------
// The spec's parameter tables as data: name, type, required, default.
// ---------------------------------------------------------------------------------------

type Kind = 'string' | 'boolean' | 'array' | 'object' | 'number';
interface Param {
  name: string;
  kind: Kind;
  required: boolean;
  /** The spec's default; absent means the spec gives none ("—"). */
  default?: unknown;
}

const p = (name: string, kind: Kind, required: boolean, ...defaultValue: [unknown?]): Param =>
  defaultValue.length ? { name, kind, required, default: defaultValue[0] } : { name, kind, required };

/**
 * The spec's seven types. This file checks the spec's parameter tables, so it covers those;
 * destinations beyond the spec (issue 10) have their own tests, and the registry's shared
 * tests (registry.test.ts) cover every type.
 */
const SPEC_TYPES = ['azureblob', 'dropbox', 'facebook', 'ftp', 'http', 's3', 'youtube'] as const satisfies readonly DestinationType[];
type SpecType = (typeof SPEC_TYPES)[number];
/** A table with a row for every spec type, and rows for types beyond the spec where they have one. */
type TableOf<Row> = Record<SpecType, Row> & Partial<Record<DestinationType, Row>>;
/** The types this file has parameter rows for: the spec's, and those beyond it that added theirs. */
const TABLED_TYPES = (): SpecType[] => Object.keys(SPEC_PARAMETERS) as SpecType[];

const SPEC_PARAMETERS: TableOf<Param[]> = {
  s3: [
    p('type', 'string', true),
    p('bucket', 'string', true),
    p('filename', 'string', true),
    p('aws_access_key_id', 'string', false),
    p('aws_secret_access_key', 'string', false),
    p('aws_use_policy', 'boolean', false, false),
    p('s3host', 'string', false),
    // Default public-read, applied by the adapter (not the parse), shown in the documents; see s3.acl below.
    p('acl', 'string', false),
    p('contenttype', 'string', false, 'application/octet-stream'),
    p('contentdisposition', 'string', false),
    p('cachecontrol', 'string', false),
    p('secure', 'boolean', false, false),
    p('reduced_redundancy', 'boolean', false, false),
    p('metadata', 'object', false),
    // Beyond the spec: an S3-compatible service by name (absent: Amazon S3), its region and R2's account id (s3/providers.ts).
    p('provider', 'string', false),
    p('region', 'string', false),
    p('account_id', 'string', false),
    // Beyond the spec: more object settings and result URLs (s3/object-parameters.ts).
    p('storage_class', 'string', false),
    p('sse', 'string', false),
    p('sse_kms_key_id', 'string', false),
    p('tags', 'object', false),
    p('session_token', 'string', false),
    p('sign_urls_for', 'number', false),
    p('url_prefix', 'string', false),
  ],
  azureblob: [
    p('type', 'string', true),
    p('account', 'string', true),
    p('key', 'string', true),
    p('filename', 'string', true),
    p('container', 'string', false),
    p('contenttype', 'string', false, 'application/octet-stream'),
    // Beyond the spec: more blob properties and a SAS result URL (azureblob/blob-properties.ts).
    p('cachecontrol', 'string', false),
    p('contentdisposition', 'string', false),
    p('metadata', 'object', false),
    p('access_tier', 'string', false),
    p('sas_url_for', 'number', false),
  ],
  youtube: [
    p('type', 'string', true),
    p('title', 'string', true),
    p('description', 'string', true),
    p('category', 'string', true),
    p('status', 'string', false, 'public'),
    p('oauth_access_token', 'string', false),
    p('auth_secret', 'string', false),
    p('tags', 'array', false),
    p('playlistid', 'string', false),
    p('notifySubscribers', 'boolean', false, true),
    p('mimetype', 'string', false, 'video/mp4'),
    // Beyond the spec: publishing options (docs/destinations/youtube.md; youtube-publishing.test.ts).
    p('thumbnail', 'object', false),
    p('publish_at', 'string', false),
    p('made_for_kids', 'boolean', false),
    p('default_language', 'string', false),
    p('default_audio_language', 'string', false),
    p('captions', 'array', false),
    p('playlist_title', 'string', false),
  ],
  facebook: [
    p('type', 'string', true),
    p('title', 'string', true),
    p('description', 'string', true),
    p('oauth_access_token', 'string', false),
    p('caption', 'string', false),
    p('name', 'string', false),
    p('message', 'string', false),
    p('endpoint', 'string', false, 'https://graph.facebook.com'),
  ],
  dropbox: [
    p('type', 'string', true),
    p('filename', 'string', true),
    p('oauth_token', 'string', false),
    p('auth_secret', 'string', false),
  ],
  http: [
    p('type', 'string', true),
    p('url', 'string', true),
    p('filename', 'string', true),
    p('method', 'string', false, 'POST'),
    p('user', 'string', false),
    p('password', 'string', false),
    p('fileid', 'string', false, 'file'),
    p('fields', 'object', false, {}),
    p('headers', 'object', false, {}),
  ],
  ftp: [
    p('type', 'string', true),
    p('host', 'string', true),
    p('filename', 'string', true),
    p('user', 'string', false),
    p('password', 'string', false),
    p('passive', 'boolean', false, false),
    p('epsv', 'boolean', false, false),
    // Beyond the spec: FTPS (true = explicit TLS, "implicit" = TLS from the first byte).
    p('secure', 'boolean', false, false),
  ],
  // Beyond the spec (issue 11): Mux Video through a direct upload.
  mux: [
    p('type', 'string', true),
    p('token_id', 'string', true),
    p('token_secret', 'string', true),
    p('playback_policy', 'string', false, 'public'),
    p('passthrough', 'string', false),
    p('mp4_support', 'string', false),
    p('test', 'boolean', false, false),
    p('cors_origin', 'string', false),
  ],
  // Beyond the spec (issue 11): docs/destinations/vimeo.md.
  vimeo: [
    p('type', 'string', true),
    p('name', 'string', false),
    p('description', 'string', false),
    p('privacy', 'object', false),
    p('password', 'string', false),
    p('folder_uri', 'string', false),
    p('folder_id', 'string', false),
    p('oauth_access_token', 'string', false),
    p('auth_secret', 'string', false),
  ],
  // Beyond the spec (issue 10): docs/destinations/sftp.md.
  sftp: [
    p('type', 'string', true),
    p('host', 'string', true),
    p('filename', 'string', true),
    p('user', 'string', true),
    p('password', 'string', false),
    p('private_key', 'string', false),
    p('passphrase', 'string', false),
    p('host_key', 'string', false),
    p('file_mode', 'string', false),
  ],
  // Beyond the spec: docs/destinations/googledrive.md.
  googledrive: [
    p('type', 'string', true),
    p('filename', 'string', true),
    p('folder_id', 'string', false),
    p('mimetype', 'string', false),
    p('description', 'string', false),
    p('shared_drive', 'boolean', false, false),
    p('oauth_access_token', 'string', false),
    p('auth_secret', 'string', false),
  ],
  // Beyond the spec (video platforms): docs/destinations/tiktok.md.
  tiktok: [
    p('type', 'string', true),
    p('title', 'string', false),
    p('privacy_level', 'string', true),
    p('disable_duet', 'boolean', false),
    p('disable_stitch', 'boolean', false),
    p('disable_comment', 'boolean', false),
    p('video_cover_timestamp_ms', 'number', false),
    p('auth_secret', 'string', true),
  ],
  // Beyond the spec (issue 10): WebDAV.
  webdav: [
    p('type', 'string', true),
    p('url', 'string', true),
    p('filename', 'string', true),
    p('user', 'string', false),
    p('password', 'string', false),
    p('headers', 'object', false, {}),
    p('overwrite', 'boolean', false, true),
  ],
};

/**
 * The smallest valid destination of each type: the spec's required fields, plus the one
 * credential the fleet needs at submit time where the spec marks all credentials optional.
 */
const MINIMAL: TableOf<Record<string, unknown>> = {
  s3: { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4', aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  azureblob: { type: 'azureblob', account: 'mystorageaccount', key: 'your-storage-key', filename: 'renders/welcome.mp4' },
  youtube: { type: 'youtube', title: 'Welcome', description: 'A welcome video.', category: '22', oauth_access_token: 'ya29.token' },
  facebook: { type: 'facebook', title: 'Welcome Video', description: 'A personalized welcome.', oauth_access_token: 'EAAB.token' },
  dropbox: { type: 'dropbox', filename: 'Videos/welcome.mp4', oauth_token: 'sl.token' },
  http: { type: 'http', url: 'https://your-server.com/api/videos', filename: 'welcome.mp4' },
  ftp: { type: 'ftp', host: 'ftp.example.com', filename: '/videos/welcome.mp4' },
  mux: { type: 'mux', token_id: 'mux-token-id', token_secret: 'mux-token-secret' },
  vimeo: { type: 'vimeo', oauth_access_token: 'vimeo-token' },
  sftp: { type: 'sftp', host: 'sftp.example.com', filename: '/videos/welcome.mp4', user: 'deliveries', password: 'example-password' },
  webdav: { type: 'webdav', url: 'https://dav.example.com/files/', filename: 'videos/welcome.mp4' },
  googledrive: { type: 'googledrive', filename: 'welcome.mp4', oauth_access_token: 'ya29.token' },
  tiktok: { type: 'tiktok', privacy_level: 'SELF_ONLY', auth_secret: 'ufc_example.secret' },
};

/** Each minimal destination, parsed: exactly the spec's defaults are filled in. */
const MINIMAL_PARSED: TableOf<Record<string, unknown>> = {
  s3: { ...MINIMAL.s3, aws_use_policy: false, contenttype: 'application/octet-stream', secure: false, reduced_redundancy: false },
  azureblob: { ...MINIMAL.azureblob, contenttype: 'application/octet-stream' },
  youtube: { ...MINIMAL.youtube, status: 'public', notifySubscribers: true, mimetype: 'video/mp4' },
  facebook: { ...MINIMAL.facebook, endpoint: 'https://graph.facebook.com' },
  dropbox: { ...MINIMAL.dropbox },
  http: { ...MINIMAL.http, method: 'POST', fileid: 'file', fields: {}, headers: {} },
  ftp: { ...MINIMAL.ftp, passive: false, epsv: false, secure: false },
  mux: { ...MINIMAL.mux, playback_policy: 'public', test: false },
  vimeo: { ...MINIMAL.vimeo },
  sftp: { ...MINIMAL.sftp },
  webdav: { ...MINIMAL.webdav, headers: {}, overwrite: true },
  googledrive: { ...MINIMAL.googledrive, shared_drive: false },
  tiktok: { ...MINIMAL.tiktok },
};

const WRONG_KIND: Record<Kind, unknown> = { string: 123, boolean: 'true', array: 'personalized,welcome', object: 'x=1', number: '3600' };

const ALL_PARAMS = TABLED_TYPES().flatMap((type) => SPEC_PARAMETERS[type].map((param) => ({ type, ...param })));
const DEFAULTED_PARAMS = ALL_PARAMS.filter((param) => 'default' in param);
const REQUIRED_PARAMS = ALL_PARAMS.filter((param) => param.required);

describe('the registry', () => {
  it('holds the seven types of the spec and those added beyond it', () => {
    expect([...DESTINATION_TYPES].sort()).toEqual([...SPEC_TYPES, ...BEYOND_THE_SPEC].sort());
  });

  it('uses the same schemas in the registry and in the discriminated union', () => {
    expect((destinationSchema as unknown as z.ZodDiscriminatedUnion).options).toHaveLength(DESTINATION_TYPES.length);
    for (const type of DESTINATION_TYPES) expect((destinationSchema as unknown as z.ZodDiscriminatedUnion).options).toContain(destinationSchemas[type]);
  });
});

describe.each(TABLED_TYPES())('%s parameters', (type) => {
  const schema = destinationSchemas[type];

  it('declares exactly the parameters of the spec table', () => {
    expect(Object.keys(schema.shape).sort()).toEqual(SPEC_PARAMETERS[type].map((param) => param.name).sort());
  });

  it('marks as required exactly the parameters the spec requires', () => {
    const shape = schema.shape as Record<string, { safeParse(input: unknown): { success: boolean } }>;
    const required = Object.keys(shape).filter((name) => !shape[name]!.safeParse(undefined).success);
    expect(required.sort()).toEqual(SPEC_PARAMETERS[type].filter((param) => param.required).map((param) => param.name).sort());
  });

  it('accepts its minimal destination and fills in exactly the spec defaults', () => {
    expect(ok(parse(MINIMAL[type]))).toStrictEqual(MINIMAL_PARSED[type]);
  });
});

describe('s3.acl: the spec default public-read, applied by the adapter', () => {
  it('leaves an acl left out absent, so the adapter can tell it from an explicit one', () => {
    expect(ok(parse(MINIMAL.s3))).not.toHaveProperty('acl');
    expect((ok(parse({ ...MINIMAL.s3, acl: 'public-read' })) as Record<string, unknown>).acl).toBe('public-read');
  });

  it('documents public-read as the default in the JSON Schema', () => {
    const json = z.toJSONSchema(destinationSchemas.s3, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { default?: unknown }> };
    expect(json.properties.acl?.default).toBe('public-read');
  });
});

describe('defaults', () => {
  it.each(DEFAULTED_PARAMS.map((param) => [`${param.type}.${param.name}`, param] as const))('%s defaults to the spec value', (_label, param) => {
    const parsed = ok(parse(MINIMAL[param.type])) as Record<string, unknown>;
    expect(MINIMAL[param.type]).not.toHaveProperty(param.name);
    expect(parsed[param.name]).toStrictEqual(param.default);
  });

  it.each(DEFAULTED_PARAMS.filter((param) => param.kind === 'boolean').map((param) => [`${param.type}.${param.name}`, param] as const))(
    '%s keeps an explicit value that differs from the default',
    (_label, param) => {
      const parsed = ok(parse({ ...MINIMAL[param.type], [param.name]: !param.default })) as Record<string, unknown>;
      expect(parsed[param.name]).toBe(!param.default);
    },
  );

  it('gives each parse its own default objects (an adapter mutating headers cannot leak into the next job)', () => {
    const first = ok(parse(MINIMAL.http)) as { headers: Record<string, string>; fields: Record<string, string> };
    first.headers.Authorization = 'Bearer leaked';
    first.fields.leaked = 'yes';
    const second = ok(parse(MINIMAL.http)) as { headers: Record<string, string>; fields: Record<string, string> };
    expect(second.headers).toStrictEqual({});
    expect(second.fields).toStrictEqual({});
  });

  it('leaves parameters without a spec default absent (azure container, s3host, youtube tags ...)', () => {
    const withoutDefault = ALL_PARAMS.filter((param) => !param.required && !('default' in param) && !(param.name in MINIMAL[param.type]));
    expect(withoutDefault.length).toBeGreaterThan(10);
    for (const param of withoutDefault) {
      expect(ok(parse(MINIMAL[param.type])), `${param.type}.${param.name}`).not.toHaveProperty(param.name);
    }
  });
});

describe('required parameters', () => {
  it.each(REQUIRED_PARAMS.map((param) => [`${param.type}.${param.name}`, param] as const))(
    'missing %s is a problem at upload.destination.<field> that names the field',
    (_label, param) => {
      const { [param.name]: _removed, ...destination } = MINIMAL[param.type];
      const found = problems(validateDeliveryRequest(request({ extension: 'mp4', destination })));
      expect(found).toContainEqual({ path: `upload.destination.${param.name}`, message: expect.stringContaining(param.name) });
    },
  );

  // Descriptions are required but may be empty: both platforms accept an empty description.
  it.each(
    REQUIRED_PARAMS.filter((param) => param.kind === 'string' && !['type', 'description'].includes(param.name)).map(
      (param) => [`${param.type}.${param.name}`, param] as const,
    ),
  )(
    'blank %s is not accepted as present',
    (_label, param) => {
      const found = problems(parse({ ...MINIMAL[param.type], [param.name]: '   ' }));
      expect(found.map((problem) => problem.path)).toContain(param.name);
    },
  );

  it('reports every missing required field of a destination at once', () => {
    const found = problems(parse({ type: 'youtube', oauth_access_token: 'ya29.token' }));
    expect(found.map((problem) => problem.path).sort()).toEqual(['category', 'description', 'title']);
  });
});

describe('parameter types', () => {
  it.each(ALL_PARAMS.filter((param) => param.name !== 'type').map((param) => [`${param.type}.${param.name}`, param] as const))(
    '%s rejects a value of the wrong type at its path',
    (_label, param) => {
      const found = problems(parse({ ...MINIMAL[param.type], [param.name]: WRONG_KIND[param.kind] }));
      expect(found.map((problem) => problem.path)).toContain(param.name);
    },
  );

  it('rejects non-string tags, metadata values, form fields and header values', () => {
    expect(problems(parse({ ...MINIMAL.youtube, tags: ['ok', 5] })).map((x) => x.path)).toContain('tags.1');
    expect(problems(parse({ ...MINIMAL.s3, metadata: { n: 1 } })).map((x) => x.path)).toContain('metadata.n');
    expect(problems(parse({ ...MINIMAL.http, fields: { n: 1 } })).map((x) => x.path)).toContain('fields.n');
    expect(problems(parse({ ...MINIMAL.http, headers: { 'X-N': 1 } })).map((x) => x.path)).toContain('headers.X-N');
  });

  it('accepts the object parameters with string values', () => {
    expect(ok(parse({ ...MINIMAL.s3, metadata: { customer: 'alex', campaign: 'spring' } }))).toMatchObject({ metadata: { customer: 'alex', campaign: 'spring' } });
    expect(ok(parse({ ...MINIMAL.http, fields: { video_id: '42' }, headers: { 'X-Api-Key': 'k' } }))).toMatchObject({
      fields: { video_id: '42' },
      headers: { 'X-Api-Key': 'k' },
    });
  });
});

// ---------------------------------------------------------------------------------------
// Enums.
// ---------------------------------------------------------------------------------------

interface EnumCase {
  type: SpecType;
  field: string;
  accepted: readonly string[];
  rejected: readonly unknown[];
  /** Words the rejection message must contain so the reader knows what to send. */
  messageNames: readonly string[];
}

const SPEC_CATEGORY_IDS = ['1', '2', '10', '15', '17', '18', '19', '20', '22', '23', '24', '25', '26', '27', '28', '44'];

const ENUMS: EnumCase[] = [
  {
    type: 's3',
    field: 'acl',
    accepted: ['private', 'public-read', 'public-read-write', 'authenticated-read'],
    rejected: ['public', 'bucket-owner-full-control', 'PRIVATE', ''],
    messageNames: ['acl', 'private', 'public-read', 'public-read-write', 'authenticated-read'],
  },
  {
    type: 'youtube',
    field: 'status',
    accepted: ['public', 'private', 'unlisted'],
    rejected: ['hidden', 'Public', ''],
    messageNames: ['status', 'public', 'private', 'unlisted'],
  },
  {
    type: 'youtube',
    field: 'category',
    accepted: SPEC_CATEGORY_IDS,
    rejected: ['0', '3', '21', '29', '43', '45', 'People & Blogs', '22 ', 22],
    messageNames: ['category', '22'],
  },
  {
    type: 'http',
    field: 'method',
    accepted: ['POST', 'PUT'],
    rejected: ['GET', 'get', 'PATCH', 'DELETE', 'HEAD', ''],
    messageNames: ['method', 'POST', 'PUT'],
  },
];

describe.each(ENUMS)('enum $type.$field', ({ type, field, accepted, rejected, messageNames }) => {
  it.each(accepted)(`accepts %s`, (value) => {
    expect((ok(parse({ ...MINIMAL[type], [field]: value })) as Record<string, unknown>)[field]).toBe(value);
  });

  it.each(rejected.map((value) => [JSON.stringify(value), value]))('rejects %s with a message naming the field and the allowed values', (_label, value) => {
    const found = problems(parse({ ...MINIMAL[type], [field]: value }));
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe(field);
    for (const word of messageNames) expect(found[0]!.message).toContain(word);
  });

  it('is reported at the full path inside a request', () => {
    const found = problems(validateDeliveryRequest(request({ destination: { ...MINIMAL[type], [field]: 'nope' } })));
    expect(found.map((problem) => problem.path)).toEqual([`upload.destination.${field}`]);
  });
});

describe('enum constants', () => {
  it('S3_ACLS and YOUTUBE_STATUSES are the spec lists', () => {
    expect([...S3_ACLS]).toEqual(['private', 'public-read', 'public-read-write', 'authenticated-read']);
    expect([...YOUTUBE_STATUSES]).toEqual(['public', 'private', 'unlisted']);
  });

  it('YOUTUBE_CATEGORIES is the spec table, id for id and name for name', () => {
    expect(YOUTUBE_CATEGORIES).toStrictEqual({
      '1': 'Film & Animation',
      '2': 'Autos & Vehicles',
      '10': 'Music',
      '15': 'Pets & Animals',
      '17': 'Sports',
      '18': 'Short Movies',
      '19': 'Travel & Events',
      '20': 'Gaming',
      '22': 'People & Blogs',
      '23': 'Comedy',
      '24': 'Entertainment',
      '25': 'News & Politics',
      '26': 'Howto & Style',
      '27': 'Education',
      '28': 'Science & Technology',
      '44': 'Trailers',
    });
    expect(Object.keys(YOUTUBE_CATEGORIES).sort()).toEqual([...SPEC_CATEGORY_IDS].sort());
  });

  it('HTTP_METHODS are the methods that can carry a file', () => {
    expect([...HTTP_METHODS]).toEqual(['POST', 'PUT']);
  });
});

// ---------------------------------------------------------------------------------------
// HTTP method: the spec says "POST" or "GET"; GET cannot carry a file.
// ---------------------------------------------------------------------------------------

describe('http method', () => {
  it('rejects GET with a message that names POST and PUT and says why', () => {
    const [problem, ...rest] = problems(parse({ ...MINIMAL.http, method: 'GET' }));
    expect(rest).toEqual([]);
    expect(problem).toEqual({ path: 'method', message: expect.stringMatching(/POST.*PUT|PUT.*POST/) });
    expect(problem!.message).toMatch(/GET/);
  });

  it.each([
    ['put', 'PUT'],
    ['Put', 'PUT'],
    ['post', 'POST'],
    ['PUT', 'PUT'],
  ])('accepts %s in any case and normalizes it to %s', (input, normalized) => {
    expect(ok(parse({ ...MINIMAL.http, method: input }))).toMatchObject({ method: normalized });
  });

  it('rejects a non-string method at its path', () => {
    expect(problems(parse({ ...MINIMAL.http, method: 1 })).map((x) => x.path)).toEqual(['method']);
  });
});

// ---------------------------------------------------------------------------------------
// Unknown fields and unknown types.
// ---------------------------------------------------------------------------------------

describe('unknown fields', () => {
  it.each(TABLED_TYPES())('%s rejects a field the spec does not list, naming it', (type) => {
    const found = problems(validateDeliveryRequest(request({ destination: { ...MINIMAL[type], colour: 'blue' } })));
    expect(found).toContainEqual({ path: 'upload.destination.colour', message: expect.stringContaining('"colour"') });
  });

  it('rejects the aws_secret_acess_key typo instead of falling back to the bucket policy', () => {
    const destination = {
      type: 's3',
      bucket: 'my-videos',
      filename: 'renders/welcome.mp4',
      aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE',
      aws_secret_acess_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      aws_use_policy: true,
    };
    const found = problems(validateDeliveryRequest(request({ extension: 'mp4', destination })));
    expect(found).toContainEqual({
      path: 'upload.destination.aws_secret_acess_key',
      message: expect.stringMatching(/unknown field "aws_secret_acess_key".*check the spelling/),
    });
  });

  it('rejects the typo without keys too, and says which keys belong together', () => {
    const found = problems(parse({ type: 's3', bucket: 'b', filename: 'f', aws_access_key_id: 'AKIA', aws_secret_acess_key: 'secret' }));
    expect(found.map((problem) => problem.path).sort()).toEqual(['aws_secret_access_key', 'aws_secret_acess_key']);
  });

  it('names every unknown field when there are several', () => {
    const found = problems(parse({ ...MINIMAL.ftp, passiv: true, usr: 'x' }));
    expect(found.map((problem) => problem.path).sort()).toEqual(['passiv', 'usr']);
  });

  it('rejects unknown fields in the upload object as well', () => {
    const found = problems(validateDeliveryRequest(request({ extension: 'mp4', extention: 'mp4', destination: MINIMAL.ftp })));
    expect(found).toContainEqual({ path: 'upload.extention', message: expect.stringContaining('"extention"') });
  });
});

describe('unknown types', () => {
  it.each([['azure'], ['S3'], ['YouTube'], [''], [3], [null]])('rejects type %j, listing the known types', (type) => {
    const [problem, ...rest] = problems(parse({ type, bucket: 'b', filename: 'f' }));
    expect(rest).toEqual([]);
    expect(problem!.path).toBe('type');
    for (const known of DESTINATION_TYPES) expect(problem!.message).toContain(`"${known}"`);
  });

  it('rejects a destination without a type at upload.destination.type', () => {
    const found = problems(validateDeliveryRequest(request({ destination: { bucket: 'b', filename: 'f' } })));
    expect(found).toEqual([{ path: 'upload.destination.type', message: expect.stringContaining('type must be one of') }]);
  });

  it.each([['a string', 's3'], ['null', null], ['an array', []]])('rejects a destination that is %s', (_label, destination) => {
    const found = problems(validateDeliveryRequest(request({ destination })));
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((problem) => problem.path.startsWith('upload.destination'))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// Credentials at submit time.
// ---------------------------------------------------------------------------------------

describe('s3 credentials', () => {
  const base = { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4' };

  it('rejects neither keys nor aws_use_policy, saying what to give', () => {
    const found = problems(parse(base));
    expect(found).toEqual([{ path: 'aws_access_key_id', message: expect.stringContaining('aws_use_policy') }]);
    expect(found[0]!.message).toContain('aws_secret_access_key');
  });

  it('rejects aws_use_policy: false without keys', () => {
    expect(problems(parse({ ...base, aws_use_policy: false })).map((x) => x.path)).toEqual(['aws_access_key_id']);
  });

  it.each([
    ['only the key id', { aws_access_key_id: 'AKIA' }, 'aws_secret_access_key'],
    ['only the secret', { aws_secret_access_key: 'secret' }, 'aws_access_key_id'],
  ])('rejects %s, pointing at the missing half', (_label, keys, missing) => {
    const found = problems(parse({ ...base, ...keys }));
    expect(found).toEqual([{ path: missing, message: expect.stringContaining('together') }]);
  });

  it('rejects half a key pair even with aws_use_policy', () => {
    expect(problems(parse({ ...base, aws_access_key_id: 'AKIA', aws_use_policy: true })).map((x) => x.path)).toEqual(['aws_secret_access_key']);
  });

  it('accepts keys, or the policy', () => {
    expect(ok(parse({ ...base, aws_access_key_id: 'AKIA', aws_secret_access_key: 'secret' }))).toMatchObject({ aws_use_policy: false });
    expect(ok(parse({ ...base, aws_use_policy: true }))).toMatchObject({ aws_use_policy: true });
  });

  it('reports missing credentials together with other problems of the same destination', () => {
    const found = problems(parse({ type: 's3', bucket: 5, filename: 'renders/welcome.mp4', acl: 'public' }));
    expect(found.map((problem) => problem.path).sort()).toEqual(['acl', 'aws_access_key_id', 'bucket']);
  });
});

describe.each([
  ['youtube', 'oauth_access_token', 'auth_secret', 'title'],
  ['dropbox', 'oauth_token', 'auth_secret', 'filename'],
  ['googledrive', 'oauth_access_token', 'auth_secret', 'filename'],
] as const)('%s credentials', (type, token, authSecret, otherField) => {
  const { [token]: _token, ...withoutCredentials } = MINIMAL[type]!;

  it(`rejects neither ${token} nor ${authSecret}, naming both`, () => {
    const found = problems(parse(withoutCredentials));
    expect(found).toEqual([{ path: token, message: expect.stringContaining(authSecret) }]);
    expect(found[0]!.message).toContain(token);
  });

  it(`accepts ${token} alone and ${authSecret} alone`, () => {
    expect(ok(parse({ ...withoutCredentials, [token]: 'token' }))).toMatchObject({ [token]: 'token' });
    expect(ok(parse({ ...withoutCredentials, [authSecret]: 'secret' }))).toMatchObject({ [authSecret]: 'secret' });
  });

  it('reports missing credentials together with other problems', () => {
    const found = problems(parse({ ...withoutCredentials, [otherField]: 5 }));
    expect(found.map((problem) => problem.path).sort()).toEqual([otherField, token].sort());
  });
});

describe('facebook credentials', () => {
  it('refuses a destination without oauth_access_token at submit time, with the other problems', () => {
    const { oauth_access_token: _token, ...withoutToken } = MINIMAL.facebook;
    expect(problems(parse(withoutToken))).toEqual([{ path: 'oauth_access_token', message: expect.stringContaining('give oauth_access_token') }]);
    expect(problems(parse({ ...withoutToken, title: 5 })).map((p) => p.path).sort()).toEqual(['oauth_access_token', 'title']);
  });
});

// ---------------------------------------------------------------------------------------
// YouTube limits (https://developers.google.com/youtube/v3/docs/videos#properties).
// ---------------------------------------------------------------------------------------

describe('youtube limits', () => {
  const yt = (fields: Record<string, unknown>) => parse({ ...MINIMAL.youtube, ...fields });
  const pathsOf = (fields: Record<string, unknown>) => problems(yt(fields)).map((problem) => problem.path);

  it.each([
    ['100 characters', 'a'.repeat(100)],
    ['100 emoji (characters, not UTF-16 units)', '😀'.repeat(100)],
    ['accents', 'é'.repeat(100)],
  ])('accepts a title of %s', (_label, title) => {
    expect(ok(yt({ title }))).toMatchObject({ title });
  });

  it.each([
    ['101 characters', 'a'.repeat(101)],
    ['101 emoji', '😀'.repeat(101)],
  ])('rejects a title of %s, naming the limit', (_label, title) => {
    expect(problems(yt({ title }))).toEqual([{ path: 'title', message: expect.stringContaining('100') }]);
  });

  it.each([['<'], ['>'], ['<b>bold</b>']])('rejects %s in the title and in the description', (text) => {
    expect(problems(yt({ title: `Hello ${text}` }))).toEqual([{ path: 'title', message: expect.stringMatching(/title must not contain "<" or ">"/) }]);
    expect(problems(yt({ description: `Hello ${text}` }))).toEqual([
      { path: 'description', message: expect.stringMatching(/description must not contain "<" or ">"/) },
    ]);
  });

  it('measures the description in UTF-8 bytes: 5000 bytes pass, 5001 do not', () => {
    expect(ok(yt({ description: 'a'.repeat(5000) }))).toBeTruthy();
    expect(ok(yt({ description: 'é'.repeat(2500) }))).toBeTruthy();
    expect(problems(yt({ description: 'a'.repeat(5001) }))).toEqual([{ path: 'description', message: expect.stringContaining('5000 bytes') }]);
    // 2501 two-byte characters are 5002 bytes though only 2501 characters.
    expect(pathsOf({ description: 'é'.repeat(2501) })).toEqual(['description']);
  });

  it('accepts an empty description (required means present, not non-empty)', () => {
    expect(ok(yt({ description: '' }))).toMatchObject({ description: '' });
  });

  it('counts tags as YouTube does: commas between tags, quotes around tags with spaces', () => {
    expect(youtubeTagsLength([])).toBe(0);
    expect(youtubeTagsLength(['personalized', 'welcome'])).toBe(12 + 1 + 7);
    expect(youtubeTagsLength(['a b'])).toBe(3 + 2);
    expect(youtubeTagsLength(['a b', 'c'])).toBe(5 + 1 + 1);
  });

  it('accepts tags of 500 characters in total and rejects 501', () => {
    // 50 tags of 9 characters plus 49 commas = 499; one more character makes 500.
    const tags = Array.from({ length: 50 }, (_, i) => `tag${String(i).padStart(6, '0')}`);
    expect(youtubeTagsLength(tags)).toBe(499);
    const at500 = [...tags.slice(0, -1), `${tags.at(-1)}x`];
    expect(youtubeTagsLength(at500)).toBe(500);
    expect(ok(yt({ tags: at500 }))).toMatchObject({ tags: at500 });
    const at501 = [...tags.slice(0, -1), `${tags.at(-1)}xy`];
    expect(problems(yt({ tags: at501 }))).toEqual([{ path: 'tags', message: expect.stringContaining('500') }]);
  });

  it('counts the quotes of a tag with a space toward the 500', () => {
    const tag = `${'a'.repeat(248)} ${'b'.repeat(249)}`; // 498 characters, 500 with quotes
    expect(ok(yt({ tags: [tag] }))).toBeTruthy();
    expect(pathsOf({ tags: [`${tag}c`] })).toEqual(['tags']);
  });

  it('rejects empty tags and tags with <, > or a comma at the tag\'s index', () => {
    expect(pathsOf({ tags: ['ok', ''] })).toEqual(['tags.1']);
    expect(pathsOf({ tags: ['a<b'] })).toEqual(['tags.0']);
    expect(pathsOf({ tags: ['ok', 'ok', 'a,b'] })).toEqual(['tags.2']);
  });

  it('reports every broken limit at once', () => {
    expect(pathsOf({ title: 'x'.repeat(101), description: '<'.repeat(10), category: '21', status: 'hidden' }).sort()).toEqual([
      'category',
      'description',
      'status',
      'title',
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// Shapes of other fields.
// ---------------------------------------------------------------------------------------

describe('urls and hosts', () => {
  it.each([['ftp://your-server.com/upload'], ['your-server.com/upload'], ['file:///etc/passwd'], ['']])('http url %j must be an absolute http(s) URL', (url) => {
    expect(problems(parse({ ...MINIMAL.http, url }))).toEqual([{ path: 'url', message: expect.stringContaining('http://') }]);
  });

  it('facebook endpoint must be an absolute http(s) URL', () => {
    expect(problems(parse({ ...MINIMAL.facebook, endpoint: 'graph.facebook.com' })).map((x) => x.path)).toEqual(['endpoint']);
    expect(ok(parse({ ...MINIMAL.facebook, endpoint: 'http://127.0.0.1:9000' }))).toMatchObject({ endpoint: 'http://127.0.0.1:9000' });
  });

  it.each([['ftp.example.com'], ['ftp.example.com:2121'], ['10.0.0.5'], ['[::1]:21']])('ftp host %s is accepted', (host) => {
    expect(ok(parse({ ...MINIMAL.ftp, host }))).toMatchObject({ host });
  });

  it.each([['ftp://ftp.example.com'], ['ftp.example.com/videos'], ['ftp example.com']])('ftp host %s is rejected with an example of a valid one', (host) => {
    expect(problems(parse({ ...MINIMAL.ftp, host }))).toEqual([{ path: 'host', message: expect.stringContaining('ftp.example.com') }]);
  });

  it('rejects header names and values that would break the request', () => {
    expect(problems(parse({ ...MINIMAL.http, headers: { 'Bad Name': 'x' } })).map((x) => x.path)).toEqual(['headers.Bad Name']);
    expect(problems(parse({ ...MINIMAL.http, headers: { 'X-Ok': 'a\r\nX-Injected: 1' } })).map((x) => x.path)).toEqual(['headers.X-Ok']);
  });
});

// ---------------------------------------------------------------------------------------
// Secret fields are declared in the schema.
// ---------------------------------------------------------------------------------------

describe('secret fields', () => {
  const EXPECTED_SECRETS: TableOf<string[]> = {
    s3: ['aws_access_key_id', 'aws_secret_access_key', 'session_token'],
    azureblob: ['key'],
    youtube: ['oauth_access_token', 'auth_secret'],
    facebook: ['oauth_access_token'],
    dropbox: ['oauth_token', 'auth_secret'],
    http: ['password', 'headers'],
    ftp: ['password'],
    mux: ['token_id', 'token_secret'],
    vimeo: ['password', 'oauth_access_token', 'auth_secret'],
    sftp: ['password', 'private_key', 'passphrase'],
    webdav: ['password', 'headers'],
    googledrive: ['oauth_access_token', 'auth_secret'],
    tiktok: ['auth_secret'],
  };

  it.each(TABLED_TYPES())('%s declares exactly its credentials as secret', (type) => {
    expect(secretFieldsOf(destinationSchemas[type]).sort()).toEqual([...EXPECTED_SECRETS[type]].sort());
  });

  it('declares secrets on the schemas the discriminated union uses', () => {
    for (const option of (destinationSchema as unknown as z.ZodDiscriminatedUnion<z.ZodObject[]>).options) {
      const type = option.shape.type.value as SpecType;
      if (!SPEC_TYPES.includes(type)) continue;
      expect(secretFieldsOf(option).sort()).toEqual([...EXPECTED_SECRETS[type]].sort());
    }
  });
});
