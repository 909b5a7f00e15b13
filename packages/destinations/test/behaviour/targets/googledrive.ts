import { googleDriveDestinationSchema } from '../../../src/googledrive/definition.js';
import type { Destination } from '@upload-fleet/destinations/definitions';
import { DRIVE_FAKE_TOKEN, startGoogleDriveFake } from '@upload-fleet/testkit';
import { createGoogleDriveAdapter } from '../../../src/googledrive/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The Google Drive adapter against the testkit's Drive fake. A "name" is the file's name in
 * one folder; Drive allows several files of one name, so overwriting makes a second file,
 * and `stored` reports the newest.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const fake = await startGoogleDriveFake();
  const folder = '1BehaviourSuiteFolder000000000000';
  fake.addFolder(folder, { name: 'Behaviour suite' });
  fake.addFolder('1SharedDriveFolder00000000000000', { driveId: '0ASharedDrive00000000000' });
  fake.addFolder('1ReadOnlyFolder0000000000000000', {});
  fake.denyWrites('1ReadOnlyFolder0000000000000000');
  const settings = { apiBaseUrl: fake.apiBaseUrl, uploadBaseUrl: fake.uploadBaseUrl };
  const destination = (name: string, fields: Record<string, unknown> = {}): Destination =>
    googleDriveDestinationSchema.parse({ type: 'googledrive', filename: name, folder_id: folder, oauth_access_token: DRIVE_FAKE_TOKEN, ...fields });

  return {
    type: 'googledrive',
    resumable: true,
    adapter: createGoogleDriveAdapter(settings),
    destination: (name) => destination(name),
    async stored(name) {
      const file = fake.fileNamed(name);
      return file && { size: file.size, sha256: file.sha256 };
    },
    // Only the last byte of a session creates a file: a resumed upload makes one.
    copies: async (name) => fake.files.filter((file) => file.name === name).length,
    bytesReceived: () => fake.bytesReceived,
    throttle: (bytesPerSecond) => fake.throttle(bytesPerSecond),
    workerEnv: () => ({ GOOGLEDRIVE_API_BASE_URL: fake.apiBaseUrl, GOOGLEDRIVE_UPLOAD_BASE_URL: fake.uploadBaseUrl }),
    async errorCases(): Promise<ErrorCase[]> {
      const faults = (...list: Parameters<typeof fake.setFaults>[0]) => () => fake.setFaults(list);
      return [
        { name: '404 notFound: folder_id does not exist', destination: destination('e-404', { folder_id: '1NoSuchFolder' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', before: faults() },
        {
          name: '404 notFound: a shared drive folder without shared_drive (supportsAllDrives)',
          destination: destination('e-404-shared', { folder_id: '1SharedDriveFolder00000000000000' }),
          code: 'UF_DESTINATION_NOT_FOUND',
          category: 'permanent',
        },
        { name: '403 insufficientFilePermissions: a folder the user may only view', destination: destination('e-403', { folder_id: '1ReadOnlyFolder0000000000000000' }), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
        { name: '403 storageQuotaExceeded', destination: destination('e-quota'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', before: faults({ step: 'start', error: 'storageQuotaExceeded' }) },
        { name: '403 userRateLimitExceeded', destination: destination('e-user-rate'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: faults({ step: 'start', error: 'userRateLimitExceeded' }) },
        { name: '403 rateLimitExceeded', destination: destination('e-rate'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: faults({ step: 'start', error: 'rateLimitExceeded' }) },
        { name: '429 Too Many Requests', destination: destination('e-429'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: faults({ step: 'start', error: 'tooManyRequests', headers: { 'retry-after': '2' } }) },
        { name: '401 for an inline oauth_access_token that expired', destination: destination('e-401', { oauth_access_token: 'ya29.expired-or-revoked' }), code: 'UF_RECONNECT_REQUIRED', category: 'auth', before: faults() },
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
