import { createHash } from 'node:crypto';
import { JOB_PRIORITIES, secretFieldsOf, type SecretBox, type UploadJobData } from '@upload-fleet/core';
import { destinationSchemas, type Destination, type DeliveryRequest, type UploadSpec } from '@upload-fleet/destinations/definitions';

/**
 * Splits a destination into its public part and its secret fields. A secret field that is
 * an empty object its schema would give by default (the HTTP destination's `headers: {}`)
 * is left out: it holds no secret, and the worker's parse puts the default back. A job with
 * no secret then carries no envelope, which spares a decryption per upload.
 */
export function splitSecrets(destination: Destination): { visible: UploadJobData['destination']; secrets: Record<string, unknown> } {
  const schema = destinationSchemas[destination.type];
  const secretNames = new Set(secretFieldsOf(schema));
  const visible: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(destination)) {
    if (value === undefined) continue;
    if (!secretNames.has(name)) visible[name] = value;
    else if (!isEmptyDefault(schema, name, value)) secrets[name] = value;
  }
  return { visible: visible as UploadJobData['destination'], secrets };
}

function isEmptyDefault(schema: (typeof destinationSchemas)[keyof typeof destinationSchemas], name: string, value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length > 0) return false;
  const field = (schema.shape as Record<string, { safeParse(input: unknown): { success: boolean; data?: unknown } }>)[name];
  const absent = field?.safeParse(undefined);
  return absent?.success === true && typeof absent.data === 'object' && absent.data !== null && Object.keys(absent.data).length === 0;
}

/** The job as it is written to Redis: secret fields only inside the encrypted envelope. */
export function buildJobData(token: string, index: number, request: DeliveryRequest, upload: UploadSpec, box: SecretBox): UploadJobData {
  const { visible, secrets } = splitSecrets(upload.destination);
  return {
    token,
    index,
    source: request.source,
    ...(upload.extension ? { extension: upload.extension } : {}),
    destination: visible,
    ...(Object.keys(secrets).length > 0 ? { secrets: box.encrypt(secrets) } : {}),
    enqueued_at: new Date().toISOString(),
    ...(request.expires_at ? { expires_at: request.expires_at } : {}),
  };
}

/** The BullMQ priority of a request's jobs (`normal` when it names none). */
export function jobPriorityOf(request: DeliveryRequest): number {
  return JOB_PRIORITIES[request.priority ?? 'normal'];
}

/**
 * Fingerprint of a request for idempotency conflicts: its canonical JSON without the
 * idempotency key and without secret values (a hash of a short password could be
 * brute-forced, so secrets do not go into it).
 */
export function fingerprintOf(request: DeliveryRequest): string {
  const uploads = (request.uploads ?? (request.upload ? [request.upload] : [])).map((u) => ({
    extension: u.extension,
    destination: splitSecrets(u.destination).visible,
  }));
  const { idempotency_key: _ignored, upload: _one, uploads: _many, ...rest } = request;
  return createHash('sha256').update(canonicalJson({ ...rest, uploads })).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
