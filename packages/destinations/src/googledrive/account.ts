import { FleetError } from '@upload-fleet/core';
import type { AccountContext } from '../adapter.js';
import type { GoogleDriveDestination, GoogleDriveSettings } from './definition.js';
import { driveClient } from './drive-client.js';
import { errorForAnswer } from './errors.js';

/**
 * The Drive user behind a destination's token, for the fleet-wide per-user limits
 * (`accountOf` of the adapter contract): Drive counts its quotas and the 750 GB a day per
 * user, so two tokens of one user share one budget. about.get with
 * `fields=user(permissionId)` (https://developers.google.com/workspace/drive/api/reference/rest/v3/about/get)
 * works with the drive.file scope; the runtime caches the answer per credential.
 *
 * Answers `drive-user:<permissionId>` (the user's id in Drive, stable, not the address).
 */
export async function driveUserOf(settings: GoogleDriveSettings, context: AccountContext<GoogleDriveDestination>): Promise<string> {
  const { destination, network } = context;
  const client = driveClient(destination, context.credentials, network, context.signal);
  const url = new URL(`${settings.apiBaseUrl}/about`);
  url.searchParams.set('fields', 'user(permissionId)');
  await network.assertAllowed(url);
  const answer = await client.send({ step: 'about', method: 'GET', url: url.toString() });
  if (answer.status !== 200) throw errorForAnswer(answer, 'about', destination);
  let id: unknown;
  try {
    id = (JSON.parse(answer.body) as { user?: { permissionId?: unknown } }).user?.permissionId;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'string' || !id) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', 'Google Drive answered about.get without the user\'s permissionId', { destination: 'googledrive', status: answer.status });
  }
  return `drive-user:${id}`;
}
