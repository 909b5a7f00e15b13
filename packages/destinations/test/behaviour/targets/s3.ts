import { s3DestinationSchema } from '../../../src/s3/definition.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3Server, startTcpProxy, freePort } from '@upload-fleet/testkit';
import { createS3Adapter } from '../../../src/s3/index.js';
import { defaultDestinationsConfig } from '../../../src/definitions.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

export { S3RVER_KEY, S3RVER_SECRET, startS3Server, type LocalS3Server, type S3Fault, type S3Request } from '@upload-fleet/testkit';
/**
 * The S3 destination against s3rver (the testkit's `startS3Server`), behind the testkit's
 * TCP proxy (which counts the bytes sent and can slow them down).
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const server = await startS3Server({ buckets: [BUCKET] });
  const proxy = await startTcpProxy(server.port);
  const adapter = createS3Adapter(defaultDestinationsConfig().s3);
  const destination = (name: string, overrides: Record<string, unknown> = {}) =>
    s3DestinationSchema.parse({
      type: 's3',
      bucket: BUCKET,
      filename: name,
      aws_access_key_id: S3RVER_KEY,
      aws_secret_access_key: S3RVER_SECRET,
      s3host: `127.0.0.1:${proxy.port}`,
      ...overrides,
    });
  return {
    type: 's3',
    resumable: true,
    // Parts in flight are capped at a tenth of the file (part-size.ts), and S3 keeps every whole part.
    maxResendRatio: 1.1,
    adapter: adapter as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => server.stored(BUCKET, name),
    bytesReceived: () => proxy.bytesUp,
    throttle: (bytesPerSecond) => proxy.setThrottle(bytesPerSecond),
    // Path-style follows from s3host carrying a port; nothing else to configure.
    workerEnv: () => ({}),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await freePort();
      return [
        { name: 'NoSuchBucket (a bucket that does not exist)', destination: destination('e404.mp4', { bucket: 'no-such-bucket' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
        {
          name: 'InvalidAccessKeyId (a key s3rver does not know)',
          destination: destination('e403.mp4', { aws_access_key_id: 'AKIAUNKNOWNKEY000000' }),
          code: 'UF_CREDENTIALS_INVALID',
          category: 'permanent',
        },
        { name: 'connection refused (nothing listens)', destination: destination('closed.mp4', { s3host: `127.0.0.1:${closedPort}` }), code: 'UF_NETWORK', category: 'transient' },
      ];
    },
    async close() {
      await proxy.close();
      await server.close();
    },
  };
}

export const BUCKET = 'behaviour';
/** s3rver's one account; it checks the key id, not the signature. */
