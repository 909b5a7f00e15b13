import { FleetError } from '@upload-fleet/core';
import type { YouTubeDestination } from './definition.js';
import type { AccountContext } from '../adapter.js';
import type { YouTubeSettings } from './definition.js';
import { accessTokensFor } from './auth.js';
import { YouTubeClient } from './client.js';
import { errorForAnswer } from './errors.js';

/**
 * The channel behind a destination's token, for the fleet-wide per-channel limits
 * (`accountOf` of the adapter contract): two tokens of one channel share one budget, as
 * YouTube counts uploads per channel. channels.list with `mine=true` costs one quota unit
 * (https://developers.google.com/youtube/v3/docs/channels/list); the runtime caches the
 * answer per credential, so it is asked once per credential, not per upload.
 *
 * Answers `channel:<id>`, the key format of the runtime's limit keys.
 */
export async function channelOf(config: YouTubeSettings, context: AccountContext<YouTubeDestination>): Promise<string> {
  const client = new YouTubeClient(accessTokensFor(context.destination, context.credentials), context.network, context.signal);
  const url = new URL(`${config.apiBaseUrl.replace(/\/+$/, '')}/channels`);
  url.searchParams.set('part', 'id');
  url.searchParams.set('mine', 'true');
  await context.network.assertAllowed(url);
  const answer = await client.send({ step: 'channel', method: 'GET', url: url.toString() });
  if (answer.status !== 200) throw errorForAnswer(answer, 'channel');
  let id: unknown;
  try {
    id = (JSON.parse(answer.body) as { items?: { id?: unknown }[] }).items?.[0]?.id;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'string' || !id) {
    throw new FleetError('UF_PERMISSION_DENIED', 'The Google account of this token has no YouTube channel. Create a channel for it, then submit again', { destination: 'youtube' });
  }
  return `channel:${id}`;
}
