import { s3DestinationSchema } from '../../../src/s3/definition.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3Server, startTcpProxy } from '@upload-fleet/testkit';
import { createS3Adapter } from '../../../src/s3/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';
import { destinationsConfig } from '../../../src/definitions.js';

/** The s3 settings an operator's environment gives. */
const s3SettingsFrom = (env: Record<string, string>) => destinationsConfig.load(env).s3;

/**
 * The S3 destination with `provider: "r2"` (Cloudflare R2, s3/providers.ts) against
 * s3rver behind the testkit's TCP proxy: the R2 endpoint comes from the operator's
 * S3_R2_ENDPOINT, set to the proxy for the adapter here and for the worker processes of the
 * suite (an IP address, so requests are path-style, as R2's are anyway). It proves that a
 * named provider runs the whole suite through the fleet, the kill -9 of a worker included;
 * the provider's host names, signing region and headers are tested in s3-providers.test.ts.
 */
const BUCKET = 'behaviour-r2';
const ACCOUNT = 'fedcba9876543210fedcba9876543210';

export async function createTarget(): Promise<BehaviourTarget> {
  const server = await startS3Server({ buckets: [BUCKET] });
  const proxy = await startTcpProxy(server.port);
  const env = { S3_R2_ENDPOINT: `http://127.0.0.1:${proxy.port}` };
  const adapter = createS3Adapter(s3SettingsFrom(env));
  const destination = (name: string, overrides: Record<string, unknown> = {}) =>
    s3DestinationSchema.parse({
      type: 's3',
      provider: 'r2',
      account_id: ACCOUNT,
      bucket: BUCKET,
      filename: name,
      aws_access_key_id: S3RVER_KEY,
      aws_secret_access_key: S3RVER_SECRET,
      ...overrides,
    });
  return {
    type: 's3',
    resumable: true,
    adapter: adapter as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => server.stored(BUCKET, name),
    bytesReceived: () => proxy.bytesUp,
    throttle: (bytesPerSecond) => proxy.setThrottle(bytesPerSecond),
    workerEnv: () => env,
    async errorCases(): Promise<ErrorCase[]> {
      return [
        { name: 'NoSuchBucket (a bucket the account does not have)', destination: destination('e404.mp4', { bucket: 'no-such-bucket' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
        {
          name: 'InvalidAccessKeyId (an R2 key the server does not know)',
          destination: destination('e403.mp4', { aws_access_key_id: 'R2UNKNOWNKEY0000000' }),
          code: 'UF_CREDENTIALS_INVALID',
          category: 'permanent',
        },
      ];
    },
    async close() {
      await proxy.close();
      await server.close();
    },
  };
}
