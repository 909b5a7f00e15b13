import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_UPLOADS_PER_DELIVERY, createNetworkGuard, problemsOf, validate, type ValidationProblem, type ValidationResult } from '@upload-fleet/core';
import { deliveryRequestSchema, uploadsOf, validateDeliveryRequest } from '../src/definitions.js';

function ok<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw new Error(`expected valid input, got problems: ${JSON.stringify(result.problems, null, 2)}`);
  return result.value;
}

function problems<T>(result: ValidationResult<T>): ValidationProblem[] {
  if (result.ok) throw new Error(`expected problems, got a valid value: ${JSON.stringify(result.value)}`);
  return result.problems;
}

const pathsOf = (input: unknown) => problems(validateDeliveryRequest(input)).map((problem) => problem.path);

const SOURCE = { path: 'renders/welcome.mp4' };
const S3 = { extension: 'mp4', destination: { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4', aws_use_policy: true } };
const FTP = { extension: 'mp4', destination: { type: 'ftp', host: 'ftp.example.com', filename: '/videos/welcome.mp4', user: 'ftpuser', password: 'ftppass' } };
const DROPBOX = { destination: { type: 'dropbox', filename: 'Videos/welcome.mp4', auth_secret: 'your-auth-secret' } };

describe('a delivery request', () => {
  it('accepts one `upload`, as in the spec', () => {
    const value = ok(validateDeliveryRequest({ source: SOURCE, upload: S3 }));
    // The spec's defaults are filled in; acl's (public-read) is the adapter's to apply (s3/object-parameters.ts).
    expect(value.upload?.destination).toMatchObject({ type: 's3', contenttype: 'application/octet-stream', reduced_redundancy: false });
    expect(value.upload?.destination).not.toHaveProperty('acl');
    expect(value.uploads).toBeUndefined();
  });

  it('accepts a list of `uploads`', () => {
    const value = ok(validateDeliveryRequest({ source: SOURCE, uploads: [S3, FTP, DROPBOX] }));
    expect(value.uploads?.map((upload) => upload.destination.type)).toEqual(['s3', 'ftp', 'dropbox']);
  });

  it('accepts every optional top-level field', () => {
    const input = {
      source: { url: 'https://renders.example.com/welcome.mp4' },
      upload: S3,
      callback_url: 'https://pipeline.example.com/hooks/delivery',
      idempotency_key: 'render-4711',
      metadata: { render_id: 'r-4711', attempt: 2, preview: false },
    };
    expect(ok(validateDeliveryRequest(input))).toMatchObject({
      source: input.source,
      callback_url: input.callback_url,
      idempotency_key: 'render-4711',
      metadata: input.metadata,
    });
  });

  it('validateDeliveryRequest is validate(deliveryRequestSchema)', () => {
    const inputs = [{ source: SOURCE, upload: S3 }, { source: SOURCE }, {}, null, 'x'];
    for (const input of inputs) expect(validateDeliveryRequest(input)).toEqual(validate(deliveryRequestSchema, input));
  });
});

describe('upload vs uploads', () => {
  it('rejects both, saying to give one', () => {
    const found = problems(validateDeliveryRequest({ source: SOURCE, upload: S3, uploads: [FTP] }));
    expect(found).toEqual([{ path: 'uploads', message: expect.stringMatching(/either upload .* or uploads .*not both/) }]);
  });

  it('rejects neither, naming both and the limit', () => {
    const found = problems(validateDeliveryRequest({ source: SOURCE }));
    expect(found).toEqual([{ path: 'upload', message: expect.stringContaining('uploads') }]);
    expect(found[0]!.message).toContain(String(MAX_UPLOADS_PER_DELIVERY));
  });

  it('rejects an empty list', () => {
    expect(problems(validateDeliveryRequest({ source: SOURCE, uploads: [] }))).toEqual([{ path: 'uploads', message: expect.stringContaining('at least one') }]);
  });

  it(`accepts ${MAX_UPLOADS_PER_DELIVERY} uploads and rejects ${MAX_UPLOADS_PER_DELIVERY + 1}, saying to split`, () => {
    expect(MAX_UPLOADS_PER_DELIVERY).toBe(10);
    expect(ok(validateDeliveryRequest({ source: SOURCE, uploads: Array.from({ length: 10 }, () => S3) })).uploads).toHaveLength(10);
    const found = problems(validateDeliveryRequest({ source: SOURCE, uploads: Array.from({ length: 11 }, () => S3) }));
    expect(found).toEqual([{ path: 'uploads', message: expect.stringMatching(/at most 10.*split/) }]);
  });

  it('rejects `uploads` that is not a list, and `upload` that is a list', () => {
    expect(pathsOf({ source: SOURCE, uploads: S3 })).toEqual(['uploads']);
    expect(pathsOf({ source: SOURCE, upload: [S3] })).toEqual(['upload']);
  });

  it('reports both-given together with problems inside the uploads', () => {
    const found = pathsOf({ source: SOURCE, upload: S3, uploads: [{ destination: { type: 'ftp', filename: '/x.mp4' } }] });
    expect(found.sort()).toEqual(['uploads', 'uploads.0.destination.host']);
  });
});

describe('uploadsOf', () => {
  it('lists the single upload', () => {
    const request = ok(validateDeliveryRequest({ source: SOURCE, upload: S3 }));
    expect(uploadsOf(request)).toEqual([request.upload]);
  });

  it('returns the list as given, in order', () => {
    const request = ok(validateDeliveryRequest({ source: SOURCE, uploads: [FTP, S3] }));
    expect(uploadsOf(request).map((upload) => upload.destination.type)).toEqual(['ftp', 's3']);
    expect(uploadsOf(request)).toBe(request.uploads);
  });
});

describe('problems by path', () => {
  it('names the upload index and the field: uploads.1.destination.bucket', () => {
    const found = problems(
      validateDeliveryRequest({
        source: SOURCE,
        uploads: [S3, { extension: 'mp4', destination: { type: 's3', filename: 'renders/welcome.mp4', aws_use_policy: true } }],
      }),
    );
    expect(found).toEqual([{ path: 'uploads.1.destination.bucket', message: 'bucket is required' }]);
  });

  it('names the single upload as upload.destination.<field>', () => {
    expect(pathsOf({ source: SOURCE, upload: { destination: { ...FTP.destination, passive: 'yes' } } })).toEqual(['upload.destination.passive']);
  });

  it('names an unknown top-level field at its own path', () => {
    expect(problems(validateDeliveryRequest({ source: SOURCE, upload: S3, callback: 'https://x.example.com' }))).toEqual([
      { path: 'callback', message: 'unknown field "callback": remove it or check the spelling' },
    ]);
  });

  it('uses (body) for a body that is not an object', () => {
    for (const body of [null, 'x', 42, []]) {
      const found = problems(validateDeliveryRequest(body));
      expect(found.map((problem) => problem.path)).toEqual(['(body)']);
    }
  });

  it('lists every problem at once, across source, uploads and top-level fields', () => {
    const found = problems(
      validateDeliveryRequest({
        source: { url: 'ftp://renders.example.com/welcome.mp4' },
        uploads: [
          S3,
          { extension: 'mp4', destination: { type: 's3', filename: 'renders/welcome.mp4' } },
          { extension: '.mp4', destination: { type: 'youtube', title: 'Hi <there>', description: 'x', category: '21', auth_secret: 's' } },
          { destination: { type: 'http', url: 'https://your-server.com/api/videos', filename: 'welcome.mp4', method: 'GET' } },
          { destination: { type: 'azure', bucket: 'b' } },
        ],
        callback_url: 'not a url',
        idempotency_key: '',
        colour: 'blue',
      }),
    );
    expect(found.map((problem) => problem.path).sort()).toEqual(
      [
        'source.url',
        'uploads.1.destination.bucket',
        'uploads.1.destination.aws_access_key_id',
        'uploads.2.extension',
        'uploads.2.destination.title',
        'uploads.2.destination.category',
        'uploads.3.destination.method',
        'uploads.4.destination.type',
        'callback_url',
        'idempotency_key',
        'colour',
      ].sort(),
    );
    for (const problem of found) expect(problem.message.length).toBeGreaterThan(10);
  });
});

describe('source', () => {
  it.each([
    ['a path', { path: 'renders/welcome.mp4' }],
    ['an https url', { url: 'https://renders.example.com/welcome.mp4' }],
    ['an http url', { url: 'http://renders.internal:8080/welcome.mp4' }],
  ])('accepts %s', (_label, source) => {
    expect(ok(validateDeliveryRequest({ source, upload: S3 })).source).toEqual(source);
  });

  it.each([
    ['both path and url', { path: 'a.mp4', url: 'https://x.example.com/a.mp4' }],
    ['neither', {}],
    ['a string', 'renders/welcome.mp4'],
    ['an unknown field', { file: 'a.mp4' }],
  ])('rejects %s with a message showing both forms', (_label, source) => {
    const found = problems(validateDeliveryRequest({ source, upload: S3 }));
    expect(found).toEqual([{ path: 'source', message: expect.stringMatching(/"path".*"url"/) }]);
  });

  it('is required', () => {
    expect(problems(validateDeliveryRequest({ upload: S3 })).map((problem) => problem.path)).toEqual(['source']);
  });

  it('rejects an empty path', () => {
    expect(pathsOf({ source: { path: '' }, upload: S3 })).toEqual(['source.path']);
  });

  it.each([['ftp://renders.example.com/a.mp4'], ['file:///etc/passwd'], ['renders.example.com/a.mp4']])('rejects the url %s', (url) => {
    expect(problems(validateDeliveryRequest({ source: { url }, upload: S3 }))).toEqual([
      { path: 'source.url', message: expect.stringContaining('http:// or https://') },
    ]);
  });
});

describe('extension', () => {
  it.each([['mp4'], ['MOV'], ['webm'], ['m4v']])('accepts %s', (extension) => {
    expect(ok(validateDeliveryRequest({ source: SOURCE, upload: { ...S3, extension } })).upload?.extension).toBe(extension);
  });

  it('is optional', () => {
    expect(ok(validateDeliveryRequest({ source: SOURCE, upload: { destination: S3.destination } })).upload?.extension).toBeUndefined();
  });

  it.each([['.mp4'], ['tar.gz'], [''], ['mp 4'], ['x'.repeat(17)]])('rejects %j, showing the expected form', (extension) => {
    expect(problems(validateDeliveryRequest({ source: SOURCE, upload: { ...S3, extension } }))).toEqual([
      { path: 'upload.extension', message: expect.stringContaining('"mp4"') },
    ]);
  });
});

describe('callback_url, idempotency_key, metadata', () => {
  it('requires callback_url to be an http(s) URL', () => {
    expect(pathsOf({ source: SOURCE, upload: S3, callback_url: 'mailto:ops@example.com' })).toEqual(['callback_url']);
  });

  it('limits idempotency_key to 1..200 characters', () => {
    expect(ok(validateDeliveryRequest({ source: SOURCE, upload: S3, idempotency_key: 'k'.repeat(200) })).idempotency_key).toHaveLength(200);
    expect(problems(validateDeliveryRequest({ source: SOURCE, upload: S3, idempotency_key: 'k'.repeat(201) }))).toEqual([
      { path: 'idempotency_key', message: expect.stringContaining('200') },
    ]);
    expect(pathsOf({ source: SOURCE, upload: S3, idempotency_key: '' })).toEqual(['idempotency_key']);
  });

  it('accepts metadata of strings, numbers and booleans, up to 50 keys', () => {
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i % 3 === 0 ? `v${i}` : i % 3 === 1 ? i : true]));
    expect(ok(validateDeliveryRequest({ source: SOURCE, upload: S3, metadata })).metadata).toEqual(metadata);
  });

  it('rejects more than 50 metadata keys', () => {
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(problems(validateDeliveryRequest({ source: SOURCE, upload: S3, metadata }))).toEqual([{ path: 'metadata', message: expect.stringContaining('50') }]);
  });

  it('rejects nested metadata values and overlong ones at the key', () => {
    expect(pathsOf({ source: SOURCE, upload: S3, metadata: { nested: { a: 1 } } })).toEqual(['metadata.nested']);
    expect(pathsOf({ source: SOURCE, upload: S3, metadata: { long: 'x'.repeat(1001) } })).toEqual(['metadata.long']);
  });
});

describe('problemsOf', () => {
  it('joins the path with dots and keeps the message', () => {
    const schema = z.object({ a: z.array(z.object({ b: z.string('b must be text') })) });
    const parsed = schema.safeParse({ a: [{ b: 'x' }, { b: 1 }] });
    expect(parsed.success).toBe(false);
    expect(problemsOf(parsed.error!)).toEqual([{ path: 'a.1.b', message: 'b must be text' }]);
  });

  it('gives one problem per unknown field, at the field\'s own path', () => {
    const parsed = z.strictObject({ inner: z.strictObject({ a: z.string() }) }).safeParse({ inner: { a: 'x', b: 1, c: 2 }, d: 3 });
    expect(problemsOf(parsed.error!)).toEqual([
      { path: 'inner.b', message: 'unknown field "b": remove it or check the spelling' },
      { path: 'inner.c', message: 'unknown field "c": remove it or check the spelling' },
      { path: 'd', message: 'unknown field "d": remove it or check the spelling' },
    ]);
  });

  it('validate returns the parsed value with defaults applied', () => {
    expect(validate(z.object({ n: z.number().default(3) }), {})).toEqual({ ok: true, value: { n: 3 } });
  });
});

describe('unsafe input', () => {
  it('refuses a lone surrogate anywhere in a request, naming the field, before the schema runs', () => {
    const request = { source: { path: 'a\udc00.mp4' }, upload: { destination: { ...FTP.destination, password: 'pw\ud800' } } };
    expect(problems(validateDeliveryRequest(request))).toEqual([
      { path: 'source.path', message: expect.stringMatching(/not well-formed Unicode/) },
      { path: 'upload.destination.password', message: expect.stringMatching(/not well-formed Unicode/) },
    ]);
  });

  it('accepts paired surrogates (emoji) as ordinary text', () => {
    ok(validateDeliveryRequest({ source: SOURCE, upload: S3, metadata: { title: 'launch 🚀' } }));
  });
});

describe('prototype keys', () => {
  it('are refused at their own path, wherever they are', () => {
    const request = JSON.parse('{"source":{"path":"a.mp4"},"upload":{"destination":{"type":"s3","__proto__":{"x":1}}},"metadata":{"constructor":"y"}}');
    expect(problems(validateDeliveryRequest(request))).toEqual([
      { path: 'upload.destination.__proto__', message: expect.stringMatching(/"__proto__" is not allowed/) },
      { path: 'metadata.constructor', message: expect.stringMatching(/"constructor" is not allowed/) },
    ]);
  });
});

describe('submit-time refusals', () => {
  it.each(['../x.mp4', 'renders/../../x.mp4', '..', '/etc/passwd', '\\\\server\\share\\x.mp4', 'C:\\renders\\x.mp4', 'c:x.mp4'])(
    'refuses source.path %s, which escapes SOURCE_ROOT',
    (path) => {
      expect(problems(validateDeliveryRequest({ source: { path }, upload: S3 }))).toEqual([{ path: 'source.path', message: expect.stringMatching(/relative to SOURCE_ROOT/) }]);
    },
  );

  it.each(['renders/welcome.mp4', './renders/x.mp4', 'a/../b.mp4', 'renders//x..mp4'])('accepts source.path %s', (path) => {
    ok(validateDeliveryRequest({ source: { path }, upload: S3 }));
  });

  const network = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1:9000'] });
  const http = (url: string) => ({ destination: { type: 'http', url, filename: 'v.mp4' } });
  const refusedPaths = (input: unknown) => {
    const result = validateDeliveryRequest(input, { network });
    return result.ok ? [] : result.problems.map((p) => p.path);
  };

  it('refuses every address field whose host is a blocked literal, in any spelling, at its path', () => {
    const request = {
      source: { url: 'http://169.254.169.254/latest/meta-data/' },
      uploads: [
        http('http://2852039166/'), // 169.254.169.254 as one decimal number
        http('http://0x7f.1:8080/'), // 127.0.0.1, hex and short form
        http('http://[::1]/'),
        http('http://[::ffff:10.0.0.1]/'),
        { destination: { type: 's3', bucket: 'b', filename: 'v.mp4', s3host: '10.0.0.1:9000', aws_use_policy: true } },
        { destination: { type: 'ftp', host: '0177.0.0.1:21', filename: '/v.mp4', user: 'u', password: 'p' } },
        { destination: { type: 'facebook', oauth_access_token: 'token', endpoint: 'http://192.168.1.1/', title: 'T', description: 'D' } },
      ],
      callback_url: 'https://10.0.0.1/hook?sig=secret-in-query',
    };
    const refused = problems(validateDeliveryRequest(request, { network }));
    expect(refused.map((p) => p.path)).toEqual([
      'source.url',
      'uploads.0.destination.url',
      'uploads.1.destination.url',
      'uploads.2.destination.url',
      'uploads.3.destination.url',
      'uploads.4.destination.s3host',
      'uploads.5.destination.host',
      'uploads.6.destination.endpoint',
      'callback_url',
    ]);
    expect(refused[0]!.message).toMatch(/cloud metadata.*ALLOWED_PRIVATE_HOSTS/);
    expect(JSON.stringify(refused)).not.toContain('secret-in-query');
  });

  it('accepts public hosts, names (the worker resolves them), listed host:port, and private-looking data that is not an address', () => {
    expect(
      refusedPaths({
        source: { url: 'https://media.example.com/v.mp4' },
        uploads: [
          http('http://127.0.0.1:9000/up'),
          http('http://internal.example/'),
          { destination: { type: 'http', url: 'https://93.184.216.34/', filename: 'v.mp4', headers: { Host: '10.0.0.1', Referer: 'http://10.0.0.1/' }, fields: { callback_url: 'http://10.0.0.1/' } } },
        ],
        metadata: { source_url: 'http://10.0.0.1/' },
      }).length,
    ).toBe(0);
    // Without a network check (a producer not given ALLOWED_PRIVATE_HOSTS) the worker decides.
    ok(validateDeliveryRequest({ source: { url: 'http://10.0.0.1/v.mp4' }, upload: S3 }));
  });

  it('refuses another port of a host listed with a port', () => {
    expect(refusedPaths({ source: { url: 'http://127.0.0.1:6379/' }, upload: S3 })).toEqual(['source.url']);
  });
});
