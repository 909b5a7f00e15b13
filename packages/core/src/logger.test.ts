import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, redactingChild, createScrubbingLogger, redactedFieldNames, registerSecretFieldNames } from './logger.js';

// What destination definitions register when they are defined (packages/destinations checks
// that every secret field of every schema is in the list).
registerSecretFieldNames(['aws_secret_access_key', 'key', 'oauth_access_token', 'oauth_token', 'auth_secret', 'password']);
const REDACTED_FIELD_NAMES = redactedFieldNames();

/** A pino destination that keeps every line, so tests read exactly what would be printed. */
function capture() {
  const lines: string[] = [];
  return {
    stream: { write: (line: string) => void lines.push(line) },
    get text() {
      return lines.join('');
    },
    get records(): Record<string, unknown>[] {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

function logger(level = 'debug') {
  const out = capture();
  return { out, log: createLogger({ level }, out.stream) };
}

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A secret value per field name, each distinct so a leak names its field. */
const VALUES = Object.fromEntries(REDACTED_FIELD_NAMES.map((name, i) => [name, `s3cr3t-${i}-${name}-value`]));

describe('createLogger', () => {
  it('hides the registered secret fields and the fleet\'s token fields', () => {
    expect(REDACTED_FIELD_NAMES).toEqual(
      expect.arrayContaining(['aws_secret_access_key', 'key', 'oauth_access_token', 'oauth_token', 'auth_secret', 'password', 'headers', 'authorization']),
    );
  });

  it.each([
    ['at the top level', (v: Record<string, string>) => v],
    ['one level down', (v: Record<string, string>) => ({ destination: v })],
    ['two levels down', (v: Record<string, string>) => ({ job: { destination: v } })],
    ['three levels down (a logged request body)', (v: Record<string, string>) => ({ body: { upload: { destination: v } } })],
    ['five levels down', (v: Record<string, string>) => ({ a: { b: { c: { d: { destination: v } } } } })],
    ['inside an array', (v: Record<string, string>) => ({ body: { uploads: [{ destination: { type: 'ftp' } }, { destination: v }] } })],
  ])('never prints a secret field %s', (_label, wrap) => {
    const { out, log } = logger();
    log.info(wrap({ ...VALUES, bucket: 'my-videos' }), 'delivery received');
    for (const [name, value] of Object.entries(VALUES)) expect(out.text, name).not.toContain(value);
    expect(out.text).toContain('[REDACTED]');
    expect(out.text).toContain('my-videos');
    expect(out.text).toContain('delivery received');
  });

  it('matches field names in any case', () => {
    const { out, log } = logger();
    log.info({ request: { headers: undefined, HEADERS: { x: SECRET }, Password: SECRET, AUTHORIZATION: `Bearer ${SECRET}`, Auth_Secret: SECRET } });
    expect(out.text).not.toContain(SECRET);
  });

  it('hides a whole headers object, whatever header carries the token', () => {
    const { out, log } = logger();
    log.info({ destination: { type: 'http', url: 'https://your-server.com/api/videos', headers: { 'X-Api-Key': SECRET, Cookie: `session=${SECRET}` } } });
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ destination: { type: 'http', headers: '[REDACTED]' } });
  });

  it('never prints secret fields bound to a child logger', () => {
    const { out, log } = logger();
    const child = log.child({ job: { id: '42', destination: { type: 'ftp', host: 'ftp.example.com', password: SECRET } } });
    child.info('uploading');
    child.child({ attempt: 2, oauth_token: SECRET }).warn('retrying');
    log.child({ job: { data: { uploads: [{ destination: { type: 's3', aws_secret_access_key: SECRET } }] } } }, { level: 'debug' }).debug('deep');
    expect(out.text).not.toContain(SECRET);
    expect(out.records.map((record) => record.msg)).toEqual(['uploading', 'retrying', 'deep']);
    expect(out.records[1]).toMatchObject({ attempt: 2, job: { id: '42', destination: { host: 'ftp.example.com' } } });
  });

  it('never prints secret fields bound in place with setBindings, on the root or a child', () => {
    const { out, log } = logger();
    const child = log.child({ reqId: 'req-1' });
    child.setBindings({ api_key: 'alice', destination: { type: 'ftp', password: SECRET } });
    child.info('request completed');
    log.setBindings({ oauth_token: SECRET });
    log.info('root');
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ reqId: 'req-1', api_key: 'alice', destination: { type: 'ftp', password: '[REDACTED]' }, msg: 'request completed' });
  });

  it('never prints secret fields held by a logged error (an SDK error with its request config)', () => {
    const { out, log } = logger();
    const err = Object.assign(new Error('Request failed with status code 401'), {
      code: 'ERR_BAD_REQUEST',
      config: { url: 'https://graph.facebook.com/v19.0/me/videos', headers: { Authorization: `Bearer ${SECRET}` }, data: { access_token: SECRET } },
    });
    log.error({ err }, 'upload failed');
    log.error({ job: { lastError: err } }, 'upload failed again');
    log.error(err);
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ err: { type: 'Error', message: 'Request failed with status code 401', code: 'ERR_BAD_REQUEST' } });
    expect(String((out.records[0]!.err as { stack: string }).stack)).toContain('Request failed with status code 401');
  });

  it('does not change the objects it logs', () => {
    const { log } = logger();
    const destination = { type: 's3', bucket: 'my-videos', aws_secret_access_key: SECRET, metadata: { headers: { a: 'b' } } };
    const err = Object.assign(new Error('x'), { password: SECRET });
    log.info({ destination, err });
    expect(destination).toEqual({ type: 's3', bucket: 'my-videos', aws_secret_access_key: SECRET, metadata: { headers: { a: 'b' } } });
    expect(err.password).toBe(SECRET);
  });

  it('logs an object that refers to itself', () => {
    const { out, log } = logger();
    const job: Record<string, unknown> = { id: '7', password: SECRET };
    job.self = job;
    expect(() => log.info({ job }, 'cyclic')).not.toThrow();
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ msg: 'cyclic', job: { id: '7' } });
  });

  it('still hides secret fields after a formatters.log the caller gives', () => {
    const out = capture();
    const log = createLogger({ level: 'info', formatters: { log: (object) => ({ ...object, wrapped: { password: SECRET } }) } }, out.stream);
    log.info({ key: SECRET }, 'formatted');
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ msg: 'formatted', wrapped: { password: '[REDACTED]' } });
  });

  it('prints nested dates, URLs and buffers as pino does', () => {
    const { out, log } = logger();
    log.info({ at: new Date(0), url: new URL('https://h.example.com/a?b=1'), bytes: Buffer.from('hi') });
    expect(out.records[0]).toMatchObject({ at: '1970-01-01T00:00:00.000Z', url: 'https://h.example.com/a?b=1', bytes: { type: 'Buffer', data: [104, 105] } });
  });

  it('honours the level it is given', () => {
    const { out, log } = logger('warn');
    log.info('hidden');
    log.warn('shown');
    expect(out.records.map((record) => record.msg)).toEqual(['shown']);
  });
});

describe('createScrubbingLogger', () => {
  const secrets = [SECRET, 'ya29.token-value', 'p@ss word'];

  function scrubbing() {
    const { out, log } = logger('debug');
    return { out, scoped: createScrubbingLogger(log, secrets) };
  }

  it.each(['debug', 'info', 'warn', 'error'] as const)('%s never prints a given secret in the message or in any field', (level) => {
    const { out, scoped } = scrubbing();
    scoped[level](
      {
        url: `https://h.example.com/upload?access_token=ya29.token-value&sig=${encodeURIComponent(SECRET)}`,
        nested: { list: ['ok', `Bearer ${SECRET}`], note: 'user p@ss word' },
        form: new URLSearchParams({ password: 'p@ss word' }).toString(),
        bytes: 1024,
      },
      `PUT with ${SECRET} and ${encodeURIComponent('p@ss word')}`,
    );
    expect(out.records).toHaveLength(1);
    expect(out.records[0]).toMatchObject({ level: { debug: 20, info: 30, warn: 40, error: 50 }[level], bytes: 1024 });
    for (const value of [SECRET, encodeURIComponent(SECRET), 'ya29.token-value', 'p@ss word', 'p%40ss', 'p@ss+word']) {
      expect(out.text).not.toContain(value);
    }
    expect(out.text).toContain('https://h.example.com/upload?access_token=[REDACTED]');
    expect(out.records[0]!.msg).toBe('PUT with [REDACTED] and [REDACTED]');
  });

  it('logs fields without a message', () => {
    const { out, scoped } = scrubbing();
    scoped.info({ token: 'ya29.token-value', bucket: 'my-videos' });
    expect(out.records[0]).toMatchObject({ token: '[REDACTED]', bucket: 'my-videos' });
    expect(out.records[0]).not.toHaveProperty('msg');
  });

  it('scrubs an error\'s message and keeps its type and code', () => {
    const { out, scoped } = scrubbing();
    const error = Object.assign(new TypeError(`fetch https://u:${SECRET}@example.com failed`), { code: 'ECONNRESET' });
    scoped.error({ error }, 'failed');
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ error: { type: 'TypeError', message: 'fetch https://u:[REDACTED]@example.com failed', code: 'ECONNRESET' } });
  });

  it('prints URLs and dates as text, scrubbed', () => {
    const { out, scoped } = scrubbing();
    scoped.info({ url: new URL(`https://h.example.com/cb?token=${encodeURIComponent(SECRET)}`), at: new Date('2026-05-01T00:00:00Z') });
    expect(out.text).not.toContain(encodeURIComponent(SECRET));
    expect(out.records[0]).toMatchObject({ url: 'https://h.example.com/cb?token=[REDACTED]', at: '2026-05-01T00:00:00.000Z' });
  });

  it('keeps the base logger\'s field redaction for secrets it was not told about', () => {
    const { out, scoped } = scrubbing();
    scoped.info({ destination: { type: 'ftp', password: 'another-secret' } });
    expect(out.text).not.toContain('another-secret');
  });

  it('without secrets: writes the fields as given (names like password still redacted, errors in their short form)', () => {
    const { out, log } = logger('debug');
    const scoped = createScrubbingLogger(log, []);
    scoped.info({ bytes: 7, destination: { type: 'ftp', password: 'another-secret' } }, 'sent');
    scoped.warn({ error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    expect(out.text).not.toContain('another-secret');
    expect(out.records[0]).toMatchObject({ msg: 'sent', bytes: 7, destination: { type: 'ftp' } });
    expect(out.records[1]).toMatchObject({ error: { type: 'Error', message: 'reset', code: 'ECONNRESET' } });
    expect(out.records[1]!.error).not.toHaveProperty('stack');
  });

  it('does not look at the fields of a line its level does not write', () => {
    const { out, log } = logger('info');
    let reads = 0;
    const fields = {
      get note() {
        reads += 1;
        return `has ${SECRET}`;
      },
    };
    createScrubbingLogger(log, secrets).debug(fields, 'hidden');
    createScrubbingLogger(log, []).debug(fields, 'hidden');
    expect(reads).toBe(0);
    expect(out.records).toHaveLength(0);
    createScrubbingLogger(log, secrets).info(fields, 'shown');
    expect(reads).toBe(1);
    expect(out.records[0]).toMatchObject({ msg: 'shown', note: 'has [REDACTED]' });
  });

  it('handles fields that refer to themselves', () => {
    const { out, scoped } = scrubbing();
    const fields: Record<string, unknown> = { note: `has ${SECRET}` };
    fields.self = fields;
    expect(() => scoped.warn(fields, 'cyclic')).not.toThrow();
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ msg: 'cyclic', note: 'has [REDACTED]' });
  });

  it('does not change the fields it is given', () => {
    const { scoped } = scrubbing();
    const fields = { nested: { token: SECRET } };
    scoped.info(fields);
    expect(fields.nested.token).toBe(SECRET);
  });
});

describe('redactingChild', () => {
  class Request {
    get method() {
      return 'POST';
    }
    get url() {
      return '/v1/deliveries?token=x';
    }
  }
  const serializers = { req: (req: Request) => ({ method: req.method, path: req.url.split('?')[0] }) };

  it.each([
    ['a plain pino logger', (out: ReturnType<typeof capture>) => pino({ level: 'info' }, out.stream)],
    ['a createLogger logger', (out: ReturnType<typeof capture>) => createLogger({ level: 'info' }, out.stream)],
  ])('hides secret fields at any depth in every record and binding of %s, and serializes getters before it copies', (_label, parentOf) => {
    const out = capture();
    const child = redactingChild(parentOf(out), { component: 'api', password: SECRET }, { serializers });
    child.child({ reqId: 'r1' }).info({ req: new Request(), err: { config: { data: { destination: { Password: SECRET, key: SECRET } } } } }, 'incoming');
    expect(out.text).not.toContain(SECRET);
    expect(out.records[0]).toMatchObject({ component: 'api', reqId: 'r1', req: { method: 'POST', path: '/v1/deliveries' }, msg: 'incoming' });
  });
});
