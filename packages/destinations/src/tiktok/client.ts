import { FleetError, type NetworkGuard } from '@upload-fleet/core';
import type { CredentialProvider } from '../adapter.js';
import { sendPlatformRequest, sendWithBearer, type BearerTokens } from '../platform-request.js';
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
 * Why no SDK: TikTok publishes no Node SDK for the Content Posting API; its four requests
 * are small JSON POSTs and PUTs of chunks, sent like every platform's (platform-request.ts).
 */

export class TikTokClient {
  private token: string | undefined;
  private readonly apiBase: string;
  private readonly tokens: BearerTokens;

  constructor(
    authSecret: string,
    credentials: CredentialProvider,
    apiBaseUrl: string,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
  ) {
    this.apiBase = apiBaseUrl.replace(/\/+$/, '');
    this.tokens = {
      current: async () => (this.token ??= await credentials.accessToken('tiktok', authSecret)),
      renew: async (rejected) => (this.token = await credentials.accessToken('tiktok', authSecret, rejected)),
      rejectedAfterRenewal: () =>
        new FleetError(
          'UF_RECONNECT_REQUIRED',
          'TikTok rejected the access token of this auth_secret even right after the fleet refreshed it: the account withdrew the app\'s access. Connect the TikTok account again (POST /v1/connect/tiktok) and submit with the new auth_secret',
          { destination: 'tiktok', status: 401 },
        ),
    };
  }

  /** A JSON POST to the Content Posting API (`path` like /v2/post/publish/video/init/), its token renewed once after a 401. */
  async api(step: TikTokStep, path: string, body: unknown): Promise<TikTokAnswer> {
    const url = new URL(`${this.apiBase}${path}`);
    await this.network.assertAllowed(url);
    return sendWithBearer(
      this.tokens,
      (token) => this.send(step, 'POST', url.toString(), { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=UTF-8' }, JSON.stringify(body)),
      isTokenRejection,
    );
  }

  /** A PUT of one chunk to the upload URL (it carries its own upload token; no bearer token). */
  async put(uploadUrl: string, headers: Record<string, string>, body: Buffer): Promise<TikTokAnswer> {
    await this.network.assertAllowed(new URL(uploadUrl));
    return this.send('chunk', 'PUT', uploadUrl, headers, body);
  }

  private send(step: TikTokStep, method: 'POST' | 'PUT', url: string, headers: Record<string, string>, body: string | Buffer): Promise<TikTokAnswer> {
    return sendPlatformRequest({ method, url, headers, body }, { network: this.network, signal: this.signal, errorForFailure: (error) => errorForFailure(error, step, this.signal) });
  }
}
