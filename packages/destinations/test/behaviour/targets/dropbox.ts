import { dropboxDestinationSchema } from '../../../src/dropbox/definition.js';
import { startDropboxFake } from '@upload-fleet/testkit';
import { createDropboxAdapter } from '../../../src/dropbox/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The Dropbox destination against the testkit's Dropbox fake, with the adapter's
 * production settings (8 MiB chunks): files over one chunk, among them the suite's
 * 100 MiB file and its resume tests, go through upload sessions.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const fake = await startDropboxFake();
  const adapter = createDropboxAdapter({ apiBaseUrl: fake.apiBaseUrl, contentBaseUrl: fake.contentBaseUrl });
  const destination = (name: string, token = fake.token) => dropboxDestinationSchema.parse({ type: 'dropbox', filename: name, oauth_token: token });
  const expiredToken = 'sl.expired-dropbox-token';
  fake.addToken(expiredToken);
  fake.expireToken(expiredToken);

  return {
    type: 'dropbox',
    resumable: true,
    adapter,
    destination: (name) => destination(name),
    async stored(name) {
      const file = fake.file(name);
      return file && { size: file.size, sha256: file.sha256 };
    },
    copies: async (name) => fake.filesCreated(name),
    bytesReceived: () => fake.bytesReceived(),
    throttle: (bytesPerSecond) => fake.throttle(bytesPerSecond),
    workerEnv: () => ({
      DROPBOX_API_BASE_URL: fake.apiBaseUrl,
      DROPBOX_CONTENT_BASE_URL: fake.contentBaseUrl,
      // The fleet runs one Dropbox upload per account at a time (runtime/src/limits/rules.ts):
      // a killed worker's lease would hold its successor back for the default minute.
      KEY_LEASE_TTL_MS: '3000',
    }),
    async errorCases(): Promise<ErrorCase[]> {
      const noFaults = () => fake.setFaults([]);
      return [
        {
          name: 'expired inline oauth_token (401 expired_access_token)',
          destination: destination('renders/e-expired.mp4', expiredToken),
          code: 'UF_RECONNECT_REQUIRED',
          category: 'auth',
          before: noFaults,
        },
        {
          name: '409 path/insufficient_space',
          destination: destination('renders/e-space.mp4'),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
          before: () => fake.setFaults([{ insufficientSpace: true }]),
        },
        {
          name: '429 too_many_write_operations with Retry-After',
          destination: destination('renders/e-429.mp4'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: () => fake.setFaults([{ rateLimit: 'too_many_write_operations', retryAfterSeconds: 7 }]),
        },
        {
          name: '429 too_many_requests as plain text',
          destination: destination('renders/e-429-text.mp4'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: () => fake.setFaults([{ rateLimit: 'too_many_requests', retryAfterSeconds: 30, plainText: true }]),
        },
        { name: '409 path/malformed_path', destination: destination('renders/bad//name.mp4'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', before: noFaults },
        { name: '409 path/disallowed_name', destination: destination('renders/desktop.ini'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', before: noFaults },
        {
          name: '503 Service Unavailable',
          destination: destination('renders/e-503.mp4'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          before: () => fake.setFaults([{ status: 503 }]),
        },
        {
          name: 'connection dropped mid-body',
          destination: destination('renders/e-drop.mp4'),
          code: 'UF_NETWORK',
          category: 'transient',
          before: () => fake.setFaults([{ dropAfterBytes: 10 }]),
        },
      ];
    },
    close: () => fake.close(),
  };
}
