import { FleetError } from '@upload-fleet/core';
import type { YouTubeDestination, YouTubeSettings } from './definition.js';
import type { YouTubeClient } from './client.js';
import { errorForAnswer } from './errors.js';
import type { StepError } from './follow-ups.js';

/**
 * The playlist step, after the upload:
 * - `playlistid` (the spec's): playlistItems.insert adds the video to that playlist
 *   (https://developers.google.com/youtube/v3/docs/playlistItems/insert, 50 quota units).
 * - `playlist_title` (beyond the spec): the channel's playlist of that exact title, found
 *   with playlists.list?mine=true (https://developers.google.com/youtube/v3/docs/playlists/list,
 *   1 unit a page of 50), or created with playlists.insert when there is none
 *   (https://developers.google.com/youtube/v3/docs/playlists/insert, 50 units) with the
 *   video's privacy; then playlistItems.insert.
 *
 * A created playlist's id goes into the checkpoint before the video is added (index.ts), so
 * a retry adds to it rather than creating a second one, even if playlists.list has not
 * caught up yet. Two uploads of one channel that create the same title at the same moment
 * can still make two playlists (YouTube has no "create if absent"): see the docs page.
 */

export interface PlaylistOutcome {
  id?: string;
  /** With playlist_title. */
  title?: string;
  /** With playlist_title: this upload created the playlist. */
  created?: boolean;
  added: boolean;
  error?: StepError;
}

/** Pages of playlists.list read at most (50 playlists each) before the title is taken as absent. */
const MAX_PLAYLIST_PAGES = 20;

const jsonHeaders = { 'content-type': 'application/json; charset=UTF-8' };

export async function addToPlaylist(client: YouTubeClient, config: YouTubeSettings, playlistId: string, videoId: string): Promise<void> {
  const url = `${apiBase(config)}/playlistItems?part=snippet`;
  const body = JSON.stringify({ snippet: { playlistId, resourceId: { kind: 'youtube#video', videoId } } });
  const answer = await client.send({ step: 'playlist', method: 'POST', url, headers: jsonHeaders, body });
  if (answer.status < 200 || answer.status >= 300) throw errorForAnswer(answer, 'playlist');
}

/** The id of the channel's playlist titled `title`, and whether it had to be created. */
export async function playlistByTitle(client: YouTubeClient, config: YouTubeSettings, title: string, privacy: YouTubeDestination['status']): Promise<{ id: string; created: boolean }> {
  const existing = await findPlaylist(client, config, title);
  if (existing) return { id: existing, created: false };
  const answer = await client.send({
    step: 'playlists',
    method: 'POST',
    url: `${apiBase(config)}/playlists?part=snippet,status`,
    headers: jsonHeaders,
    body: JSON.stringify({ snippet: { title }, status: { privacyStatus: privacy } }),
  });
  if (answer.status < 200 || answer.status >= 300) throw errorForAnswer(answer, 'playlists');
  const id = (JSON.parse(answer.body) as { id?: unknown }).id;
  if (typeof id !== 'string' || !id) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `YouTube answered ${answer.status} to playlists.insert without the playlist's id`, { destination: 'youtube', status: answer.status });
  }
  return { id, created: true };
}

async function findPlaylist(client: YouTubeClient, config: YouTubeSettings, title: string): Promise<string | undefined> {
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PLAYLIST_PAGES; page += 1) {
    const url = new URL(`${apiBase(config)}/playlists`);
    url.searchParams.set('part', 'snippet');
    url.searchParams.set('mine', 'true');
    url.searchParams.set('maxResults', '50');
    if (pageToken) url.searchParams.set('pageToken', pageToken);
    const answer = await client.send({ step: 'playlists', method: 'GET', url: url.toString() });
    if (answer.status !== 200) throw errorForAnswer(answer, 'playlists');
    const list = JSON.parse(answer.body) as { items?: { id?: string; snippet?: { title?: string } }[]; nextPageToken?: string };
    const match = list.items?.find((item) => item.snippet?.title === title && typeof item.id === 'string');
    if (match) return match.id;
    if (!list.nextPageToken) return undefined;
    pageToken = list.nextPageToken;
  }
  return undefined;
}

function apiBase(config: YouTubeSettings): string {
  return config.apiBaseUrl.replace(/\/+$/, '');
}
