import got from 'got';
import { FleetError, type NetworkGuard } from '@upload-fleet/core';
import type { CredentialProvider } from '../adapter.js';
import { errorForFailure, isTokenRejection, type TikTokAnswer, type TikTokStep } from './errors.js';

/**
 * Every request of the TikTok adapter: the Content Posting API with the user's bearer
 * token, and the upload URL. Each goes through the network guard's lookup, the abort
 * signal and timeouts; answers come back whatever their status and the caller decides what
 * they mean (errors.ts).
 *
 * The token comes from the fleet's CredentialProvider (auth_secret: a refresh token from
 * the connect flow), once per attempt. TikTok's access tokens last 24 hours; when TikTok
 * answers 401 access_token_invalid, the provider is asked once for a new one, naming the
 * rejected token, so the fleet refreshes once however many workers saw it expire. A second
 * rejection means the user withdrew the app's access: reconnect.
 *
 * Why got and no SDK: TikTok publishes no Node SDK for the Content Posting API; its four
 * requests are small JSON POSTs and PUTs of chunks, and got takes the guard's lookup.
 */

const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte of a request to the answer's headers. */
const RESPONSE_TIMEOUT_MS = 2 * 60_000;
/** No byte moving either way for this long: the connection is stuck. */
const IDLE_SOCKET_MS = 2 * 60_000;

export class TikTokClient {
  private token: string | undefined;
  private readonly apiBase: string;

  constructor(
    private readonly authSecret: string,
    private readonly credentials: CredentialProvider,
    apiBaseUrl: string,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
  ) {
    this.apiBase = apiBaseUrl.replace(/\/+$/, '');
  }

  /** A JSON POST to the Content Posting API (`path` like /v2/post/publish/video/init/). */
  async api(step: TikTokStep, path: string, body: unknown): Promise<TikTokAnswer> {
    const url = new URL(`${this.apiBase}${path}`);
    await this.network.assertAllowed(url);
    const send = (token: string) =>
      this.send(step, 'POST', url.toString(), { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=UTF-8' }, JSON.stringify(body));
    const token = (this.token ??= await this.credentials.accessToken('tiktok', this.authSecret));
    const answer = await send(token);
    if (!isTokenRejection(answer)) return answer;
    this.token = await this.credentials.accessToken('tiktok', this.authSecret, token);
    const again = await send(this.token);
    if (isTokenRejection(again)) {
      throw new FleetError(
        'UF_RECONNECT_REQUIRED',
        'TikTok rejected the access token of this auth_secret even right after the fleet refreshed it: the account withdrew the app\'s access. Connect the TikTok account again (POST /v1/connect/tiktok) and submit with the new auth_secret',
        { destination: 'tiktok', status: 401 },
      );
    }
    return again;
  }

  /** A PUT of one chunk to the upload URL (it carries its own upload token; no bearer token). */
  async put(uploadUrl: string, headers: Record<string, string>, body: Buffer): Promise<TikTokAnswer> {
    await this.network.assertAllowed(new URL(uploadUrl));
    return this.send('chunk', 'PUT', uploadUrl, headers, body);
  }

  private async send(step: TikTokStep, method: 'POST' | 'PUT', url: string, headers: Record<string, string>, body: string | Buffer): Promise<TikTokAnswer> {
    try {
      const response = await got(url, {
        method,
        headers,
        body,
        responseType: 'text',
        dnsLookup: this.network.lookup,
        signal: this.signal,
        followRedirect: false,
        throwHttpErrors: false,
        // The chunk loop and BullMQ retry knowing the checkpoint; got retrying inside would hide that.
        retry: { limit: 0 },
        timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS, response: RESPONSE_TIMEOUT_MS, socket: IDLE_SOCKET_MS },
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw errorForFailure(error, step, this.signal);
    }
  }
}
