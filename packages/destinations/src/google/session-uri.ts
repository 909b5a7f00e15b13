import { FleetError, type NetworkGuard } from '@upload-fleet/core';
import { headerOf, type ResumablePlatform, type SessionAnswer } from './resumable-session.js';

/**
 * The session URI a session start answered in `Location` (resolved against the request),
 * refused by the network guard before anything is sent to it: the URI comes from the
 * platform's answer, and a proxy or a fake in between could point it anywhere.
 */
export async function sessionUriOf(answer: SessionAnswer, requestUrl: URL, network: NetworkGuard, platform: Pick<ResumablePlatform<unknown>, 'destination' | 'label'>): Promise<URL> {
  const location = headerOf(answer.headers.location);
  if (!location) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `${platform.label} answered ${answer.status} to the session start without a session URI (Location)`, { destination: platform.destination, status: answer.status });
  }
  const uri = new URL(location, requestUrl);
  await network.assertAllowed(uri);
  return uri;
}
