import { z } from 'zod';
import { evenWithOtherProblems, httpUrl } from './schema-helpers.js';
import { isWellFormedText } from './secrets.js';
import type { LiteralAddressCheck } from './network-guard.js';

export const MAX_UPLOADS_PER_DELIVERY = 10;

/** A delivery's `priority`: urgent renders pass the backlog of a pool (BullMQ job priority, see job.ts). */
export const DELIVERY_PRIORITIES = ['high', 'normal', 'low'] as const;
export type DeliveryPriority = (typeof DELIVERY_PRIORITIES)[number];

/** Where the rendered file is read from: a path under SOURCE_ROOT, or an http(s) URL. */
export const sourceSchema = z.union(
  [
    z.strictObject({
      path: z
        .string()
        .min(1, 'source.path must not be empty')
        .refine(staysUnderRoot, 'source.path must be relative to SOURCE_ROOT and stay inside it: no leading "/", drive letter or ".." that climbs out'),
    }),
    z.strictObject({ url: httpUrl('source.url') }),
  ],
  { error: 'source must be { "path": "relative/to/SOURCE_ROOT.mp4" } or { "url": "https://..." }' },
);
export type Source = z.output<typeof sourceSchema>;

/**
 * The request of `POST /v1/deliveries` over a destination schema (the union of every
 * registered type, which `@upload-fleet/destinations/definitions` passes in).
 */
export function deliveryRequestSchemaFor<Destination extends z.ZodType>(destinationSchema: Destination) {
  /** One upload of the spec: `{ "extension": "mp4", "destination": { "type": ... } }`. */
  const uploadSpecSchema = z.strictObject({
    extension: z
      .string()
      .regex(/^[A-Za-z0-9]{1,16}$/, 'extension must be letters and digits without a dot, like "mp4"')
      .optional(),
    destination: destinationSchema,
  });
  return z
    .strictObject({
      source: sourceSchema,
      upload: uploadSpecSchema.optional(),
      uploads: z
        .array(uploadSpecSchema)
        .min(1, 'uploads must hold at least one upload')
        .max(MAX_UPLOADS_PER_DELIVERY, `uploads may hold at most ${MAX_UPLOADS_PER_DELIVERY} uploads; split the delivery`)
        .optional(),
      callback_url: httpUrl('callback_url').optional(),
      idempotency_key: z.string().min(1).max(200, 'idempotency_key must be at most 200 characters').optional(),
      metadata: z
        .record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean()]))
        .refine((m) => Object.keys(m).length <= 50, 'metadata may hold at most 50 keys')
        .optional(),
      /** An upload that has not started by then fails with UF_EXPIRED instead of going out late. */
      expires_at: z.iso
        .datetime({ offset: true, error: 'expires_at must be an ISO 8601 date-time with a time zone, like "2026-12-03T18:00:00Z"' })
        .refine((t) => Number.isNaN(Date.parse(t)) || Date.parse(t) > Date.now(), 'expires_at is in the past: give a time still to come, or leave expires_at out')
        .optional(),
      priority: z.enum(DELIVERY_PRIORITIES, { error: 'priority must be "high", "normal" or "low"' }).optional(),
    })
    .superRefine((request, ctx) => {
      if (request.upload && request.uploads) {
        ctx.addIssue({ code: 'custom', path: ['uploads'], message: 'give either upload (one destination) or uploads (a list), not both' });
      }
      if (!request.upload && !request.uploads) {
        ctx.addIssue({ code: 'custom', path: ['upload'], message: 'upload (one destination) or uploads (a list of up to 10) is required' });
      }
    }, evenWithOtherProblems);
}

export interface ValidationProblem {
  /** Field path like `uploads.1.destination.bucket`. */
  path: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: ValidationProblem[] };

/** Validates any input against a schema and lists every problem by field path. */
export function validate<T extends z.ZodType>(schema: T, input: unknown): ValidationResult<z.output<T>> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problems: problemsOf(parsed.error) };
}

export function problemsOf(error: z.ZodError): ValidationProblem[] {
  const pathOf = (segments: readonly PropertyKey[]) => segments.map(String).join('.') || '(body)';
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // One problem per unknown field, at the field's own path, so a client can point at it.
      return issue.keys.map((key) => ({ path: pathOf([...issue.path, key]), message: `unknown field "${key}": remove it or check the spelling` }));
    }
    return [{ path: pathOf(issue.path), message: issue.message }];
  });
}

export interface SubmitChecks {
  /**
   * Refuses URLs whose host is a blocked IP literal (ALLOWED_PRIVATE_HOSTS applied), at
   * submit time: `createNetworkGuard(...)`. The worker checks every connection again; this
   * only turns what is certain to fail into a 400 instead of a failed upload.
   */
  network?: LiteralAddressCheck;
}

/**
 * A relative path that stays under the root however it is resolved: not absolute (POSIX,
 * Windows drive or UNC), and no ".." that climbs above where it started. The worker
 * checks again on the real file system (symlinks), which is the real defence.
 */
function staysUnderRoot(requested: string): boolean {
  if (/^([\\/]|[A-Za-z]:)/.test(requested)) return false;
  let depth = 0;
  for (const segment of requested.split(/[\\/]+/)) {
    if (segment === '..') depth -= 1;
    else if (segment !== '' && segment !== '.') depth += 1;
    if (depth < 0) return false;
  }
  return true;
}

/**
 * Fields the fleet connects to: URLs (`url`, `callback_url`, `endpoint`, any `*_url`) and
 * bare `host[:port]` fields (FTP `host`, S3 `s3host`).
 */
const ADDRESS_FIELD = /(^|_)(url|endpoint)$|host$/i;
/** Maps of the caller's own data: their values are sent, not connected to (a `Host` header included). */
const DATA_MAPS = new Set(['metadata', 'headers', 'fields']);
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Every address field of a validated request whose host is a literal the network guard
 * refuses, at its field path. Found by walking the request by field name, so a destination
 * type's new URL field is covered without listing it here. Messages name the host, never
 * the URL (its query string may be a credential).
 */
export function blockedAddressProblems(request: unknown, network: LiteralAddressCheck): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const visit = (value: unknown, path: (string | number)[]): void => {
    const key = String(path.at(-1) ?? '');
    if (typeof value === 'string') {
      if (!ADDRESS_FIELD.test(key)) return;
      const url = URL_SCHEME.test(value) ? value : `http://${value}/`;
      if (!URL.canParse(url)) return;
      let refusal;
      try {
        refusal = network.refusalWithoutDns(url);
      } catch {
        return; // a scheme the guard does not open: the field's schema decides about those
      }
      if (refusal) problems.push({ path: path.join('.'), message: `${refusal.message}. Use a public host, or ask the operator to list it in ALLOWED_PRIVATE_HOSTS` });
    } else if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...path, index]));
    else if (value && typeof value === 'object' && !DATA_MAPS.has(key)) for (const [name, child] of Object.entries(value)) visit(child, [...path, name]);
  };
  visit(request, []);
  return problems;
}

/**
 * Keys that reach an object's prototype when code copies or merges the input. JSON.parse
 * makes them own properties (harmless by themselves), but no field of any request has
 * these names, and a spread or merge further on would turn them into prototype pollution.
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor']);

/** Input nested deeper than this is refused rather than walked; no request needs a tenth of it. */
const MAX_INPUT_DEPTH = 64;

/**
 * Problems in parsed input that no schema sees, each at its field path: prototype keys,
 * and strings (keys or values) that are not well-formed Unicode. A lone UTF-16 surrogate
 * (JSON allows `"\ud800"`) cannot be encoded as UTF-8 or percent-encoded: it would break
 * a header, a signature or a URL far from where it was accepted. Run on any request body.
 */
export function unsafeInputProblems(input: unknown): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const pathOf = (segments: readonly (string | number)[]) => segments.map(String).join('.') || '(body)';
  const visit = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      if (!isWellFormedText(value)) problems.push({ path: pathOf(path), message: 'the text is not well-formed Unicode (it holds a lone UTF-16 surrogate); send valid UTF-8 text' });
      return;
    }
    if (!value || typeof value !== 'object') return;
    if (path.length >= MAX_INPUT_DEPTH) {
      problems.push({ path: pathOf(path), message: `the input is nested more than ${MAX_INPUT_DEPTH} levels deep` });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, [...path, index]));
      return;
    }
    for (const key of Object.keys(value)) {
      if (PROTOTYPE_KEYS.has(key)) {
        problems.push({ path: pathOf([...path, key]), message: `the key "${key}" is not allowed anywhere in a request: remove it` });
        continue;
      }
      if (!isWellFormedText(key)) {
        problems.push({ path: pathOf([...path, key.replace(/\p{Surrogate}/gu, '\uFFFD')]), message: 'the field name is not well-formed Unicode (it holds a lone UTF-16 surrogate)' });
        continue;
      }
      visit((value as Record<string, unknown>)[key], [...path, key]);
    }
  };
  visit(input, []);
  return problems;
}
