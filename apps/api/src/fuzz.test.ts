import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAlice, deliveryCount, startHarness, type Harness } from './test-harness.js';
import { isDestinationType } from '@upload-fleet/destinations/definitions';

/**
 * 10,000 property-based bad requests (issue 13, "a fault suite that stays"): a valid request
 * with one thing made wrong. Every one must get a 400 that names the field at fault, never
 * a 5xx, and nothing may be enqueued. The seed is fixed so a failure reproduces, and
 * fast-check shrinks it to the smallest request that still fails.
 */
const RUNS = 10_000;
const SEED = 13_011;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Request = Record<string, Json> & { upload: { destination: Record<string, Json>; [field: string]: Json } };

const VALID: Record<'s3' | 'http' | 'ftp', Record<string, Json>> = {
  s3: { type: 's3', bucket: 'my-videos', filename: 'renders/a.mp4', aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  http: { type: 'http', url: 'https://uploads.example.com/in', filename: 'a.mp4', method: 'PUT', user: 'bob', password: 'pw-fuzz' },
  ftp: { type: 'ftp', host: 'ftp.example.com', filename: 'a.mp4', user: 'bob', password: 'pw-fuzz' },
};
/** The string fields each type requires. */
const REQUIRED: Record<keyof typeof VALID, string[]> = { s3: ['bucket', 'filename'], http: ['url', 'filename'], ftp: ['host', 'filename'] };
const BLOCKED_HOSTS = ['127.0.0.1', '10.0.0.1', '169.254.169.254', '192.168.1.1', '172.16.0.1', '[::1]', '[fd00::1]', '0.0.0.0', '100.64.0.1', '[::ffff:169.254.169.254]'];

/** One thing wrong with a valid request, and the field path its 400 must name. */
interface Mutation {
  name: string;
  path: string;
  apply(request: Request): Json;
}

const notJson = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
const loneSurrogate = fc.tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 8 })).map(([a, unit, b]) => `${a}${String.fromCharCode(unit)}${b}`);
const unknownName = fc.stringMatching(/^[a-z][a-z_]{0,10}$/).map((name) => `x_${name}`);

const mutation = (type: keyof typeof VALID): fc.Arbitrary<Mutation> => {
  const field = fc.constantFrom(...REQUIRED[type]);
  const at = (request: Request, name: string, value: Json | undefined): Json => {
    const destination = { ...request.upload.destination };
    if (value === undefined) delete destination[name];
    else destination[name] = value;
    return { ...request, upload: { ...request.upload, destination } };
  };
  return fc.oneof(
    unknownName.map((name) => ({ name: `unknown top-level ${name}`, path: name, apply: (r: Request) => ({ ...r, [name]: 'x' }) })),
    unknownName.map((name) => ({ name: `unknown destination field ${name}`, path: `upload.destination.${name}`, apply: (r: Request) => at(r, name, 'x') })),
    fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.boolean()).map(([key, top]) => ({
      name: `a ${key} key`,
      path: top ? key : `upload.destination.${key}`,
      // Built with defineProperty: an object literal's __proto__ would set the prototype, not a key.
      apply: (r: Request) => {
        const target = top ? { ...r } : { ...r.upload.destination };
        Object.defineProperty(target, key, { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
        return top ? target : { ...r, upload: { ...r.upload, destination: target } };
      },
    })),
    fc.tuple(field, notJson).map(([name, value]) => ({ name: `${name} of the wrong type`, path: `upload.destination.${name}`, apply: (r: Request) => at(r, name, value) })),
    field.map((name) => ({ name: `${name} missing`, path: `upload.destination.${name}`, apply: (r: Request) => at(r, name, undefined) })),
    fc.tuple(fc.constantFrom(...Object.keys(VALID[type]).filter((k) => k !== 'type' && k !== 'method')), loneSurrogate).map(([name, value]) => ({
      name: `a lone surrogate in ${name}`,
      path: `upload.destination.${name}`,
      apply: (r: Request) => at(r, name, value),
    })),
    fc.stringMatching(/^[a-z0-9]{1,10}$/).filter((t) => !isDestinationType(t)).map((t) => ({
      name: `unknown type ${t}`,
      path: 'upload.destination.type',
      apply: (r: Request) => at(r, 'type', t),
    })),
    fc.tuple(fc.constantFrom('../', '/', '..\\', 'a/../../'), fc.stringMatching(/^[a-z]{1,8}$/)).map(([escape, rest]) => ({
      name: `source.path ${escape}${rest}`,
      path: 'source.path',
      apply: (r: Request) => ({ ...r, source: { path: `${escape}${rest}` } }),
    })),
    fc.tuple(fc.constantFrom(...BLOCKED_HOSTS), fc.constantFrom('http', 'https')).map(([host, scheme]) => ({
      name: `source.url on ${host}`,
      path: 'source.url',
      apply: (r: Request) => ({ ...r, source: { url: `${scheme}://${host}/v.mp4` } }),
    })),
  );
};

const badRequest = fc.constantFrom(...(Object.keys(VALID) as (keyof typeof VALID)[])).chain((type) =>
  mutation(type).map((m) => ({ type, mutation: m, body: m.apply({ source: { path: 'renders/a.mp4' }, upload: { extension: 'mp4', destination: VALID[type] } }) })),
);

describe(`${RUNS} property-based bad requests`, () => {
  let h: Harness;
  beforeAll(async () => {
    // As main.ts builds it: submit-time refusal of blocked address literals is on.
    h = await startHarness('fuzz', {}, { allowedPrivateHosts: [] });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('each gets a 400 naming the field at fault, none a 5xx, and nothing is enqueued', { timeout: 600_000 }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(badRequest, async ({ mutation: m, body }) => {
        const answer = await h.app.inject({ method: 'POST', url: '/v1/deliveries', headers: { ...asAlice, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
        expect(answer.statusCode, `${m.name}: ${answer.body}`).toBe(400);
        const { error } = answer.json<{ error: { code: string; problems: { path: string; message: string }[] } }>();
        expect(error.code).toBe('UF_INVALID_REQUEST');
        expect(error.problems.map((p) => p.path), m.name).toContain(m.path);
        for (const problem of error.problems) expect(problem.message.length, m.name).toBeGreaterThan(0);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    const fiveHundreds = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);
    console.info(`[fuzz] ${RUNS} bad requests: ${JSON.stringify(Object.fromEntries(statuses))} by status, ${fiveHundreds} 5xx`);
    expect(await deliveryCount(h)).toBe(0);
    for (const type of ['s3', 'http', 'ftp'] as const) expect(await h.producer.queue(type).count()).toBe(0);
  });
});
