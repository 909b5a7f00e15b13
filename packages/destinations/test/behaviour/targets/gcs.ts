import { gcsDestinationSchema } from '../../../src/gcs/definition.js';
import type { Destination } from '@upload-fleet/destinations/definitions';
import { startGcsFake } from '@upload-fleet/testkit';
import { createGcsAdapter } from '../../../src/gcs/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The Cloud Storage adapter against the testkit's GCS fake (JSON API resumable uploads and
 * the service-account token endpoint), with the production chunk size (8 MiB). A name is
 * the object name in one bucket; overwriting makes a new generation, and `stored` reports
 * the newest.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const bucket = 'fleet-videos';
  const fake = await startGcsFake({ buckets: [bucket] });
  const settings = { apiBaseUrl: fake.url, chunkBytes: 8 * 1024 * 1024 };
  const key = fake.serviceAccountKey();
  const readOnly = fake.serviceAccountKey();
  fake.denyWrites(bucket, readOnly.client_email);
  const deleted = fake.serviceAccountKey();
  fake.deleteKey(deleted);
  const destination = (name: string, fields: Record<string, unknown> = {}): Destination =>
    gcsDestinationSchema.parse({ type: 'gcs', bucket, filename: name, credentials: key, ...fields });

  return {
    type: 'gcs',
    resumable: true,
    adapter: createGcsAdapter(settings),
    destination: (name) => destination(name),
    async stored(name) {
      const object = fake.object(bucket, name);
      return object && { size: object.size, sha256: object.sha256 };
    },
    // Only the last byte of a session creates a generation: a resumed upload makes one.
    copies: async (name) => fake.generations(bucket, name),
    bytesReceived: () => fake.bytesReceived,
    throttle: (bytesPerSecond) => fake.throttle(bytesPerSecond),
    workerEnv: () => ({ GCS_API_BASE_URL: fake.url }),
    async errorCases(): Promise<ErrorCase[]> {
      const faults = (...list: Parameters<typeof fake.setFaults>[0]) => () => fake.setFaults(list);
      return [
        { name: '404 notFound: the bucket does not exist', destination: destination('e-404', { bucket: 'no-such-bucket' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', before: faults() },
        { name: '403 forbidden: the account may not write to the bucket', destination: destination('e-403', { credentials: readOnly }), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
        { name: 'invalid_grant: the key was deleted', destination: destination('e-deleted-key', { credentials: deleted }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: '429 rateLimitExceeded', destination: destination('e-429'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: faults({ step: 'start', error: 'rateLimitExceeded', headers: { 'retry-after': '2' } }) },
        { name: '403 userRateLimitExceeded', destination: destination('e-403-rate'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: faults({ step: 'start', error: 'userRateLimitExceeded' }) },
        { name: '412 conditionNotMet', destination: destination('e-412'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', before: faults({ step: 'start', error: 'conditionNotMet' }) },
        {
          // More resets than the chunk loop rides out within one attempt.
          name: 'connection reset during every chunk',
          destination: destination('e-reset'),
          code: 'UF_NETWORK',
          category: 'transient',
          before: faults({ step: 'chunk', dropAfterBytes: 10, times: 10 }),
        },
        {
          name: '503 backendError',
          destination: destination('e-503'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          // The last case: it consumes its only fault, so the server is clean afterwards.
          before: faults({ step: 'start', error: 'backendError' }),
        },
      ];
    },
    close: () => fake.close(),
  };
}
