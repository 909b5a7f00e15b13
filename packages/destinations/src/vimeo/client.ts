import type { Readable } from 'node:stream';
import { FleetError, type NetworkGuard } from '@upload-fleet/core';
import type { CredentialProvider } from '../adapter.js';
import { sendPlatformRequest, sendWithBearer, type BearerTokens } from '../platform-request.js';
import type { VimeoDestination } from './definition.js';
import { errorForAnswer, errorForFailure, isTokenRejection, type VimeoAnswer, type VimeoStep } from './errors.js';

/**
 * Every request of the Vimeo adapter goes through a VimeoClient: the network guard's
 * lookup, the abort signal, timeouts, and the classification of failures without an answer.
 *
 * - `api` sends to the Vimeo API with `Authorization: bearer <token>` and the versioned
 *   `Accept: application/vnd.vimeo.*+json;version=3.4` Vimeo asks every client to send
 *   (https://developer.vimeo.com/api/guides/start#versioning). After a 401 it asks once for
 *   a renewed token (auth_secret) and sends again; a second 401 asks to reconnect.
 * - `tus` sends to the upload link: no token (the upload link is the credential for the
 *   upload, as Vimeo's tus guide shows), the tus headers set by the caller.
 *
 * Why our own loop on got and not tus-js-client: tus-js-client (which does take Node
 * streams with a chunkSize, and resumes from an `uploadUrl`) retries on its own schedule
 * inside one call and reports errors as its own DetailedError; the fleet decides retries
 * from the taxonomy, saves the offset as a checkpoint after every PATCH, and must resolve
 * every host through the network guard. A tus upload to an existing upload link is three
 * requests (HEAD, PATCH, and the answer's Upload-Offset), which platform-request.ts sends
 * with all of that.
 */

/** The Accept header of API version 3.4, the version this adapter is written against. */
export const VIMEO_ACCEPT = 'application/vnd.vimeo.*+json;version=3.4';

export interface VimeoRequest {
  step: VimeoStep;
  method: 'GET' | 'POST' | 'PATCH' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  /** Bytes of a streamed body sent so far. */
  onUploadProgress?: (transferred: number) => void;
}

export interface VimeoTokens extends BearerTokens {
  /** False for an inline oauth_access_token: nothing can renew it. */
  readonly renewable: boolean;
  rejectedAfterRenewal(): FleetError;
}

/**
 * The bearer token: `oauth_access_token` as is (a 401 cannot be helped: reconnect), or
 * `auth_secret` through the fleet's CredentialProvider (asked once per attempt, and once
 * more naming the token Vimeo rejected). auth_secret wins when both are given, as in the
 * limit key.
 */
export function vimeoTokensFor(destination: VimeoDestination, credentials: CredentialProvider): VimeoTokens {
  const authSecret = destination.auth_secret;
  if (authSecret) {
    let token: string | undefined;
    return {
      renewable: true,
      current: async () => (token ??= await credentials.accessToken('vimeo', authSecret)),
      renew: async (rejected) => (token = await credentials.accessToken('vimeo', authSecret, rejected)),
      rejectedAfterRenewal: () =>
        new FleetError('UF_RECONNECT_REQUIRED', 'Vimeo rejected the access token of this auth_secret even after the fleet renewed it: the account withdrew the app\'s access. Connect the Vimeo account again', {
          destination: 'vimeo',
          status: 401,
        }),
    };
  }
  const expired = () =>
    new FleetError(
      'UF_RECONNECT_REQUIRED',
      'Vimeo rejected oauth_access_token (401): the token is invalid or was revoked. Generate a new one with the upload scope, or connect the account to the fleet and use auth_secret',
      { destination: 'vimeo', status: 401 },
    );
  return {
    renewable: false,
    current: async () => {
      if (!destination.oauth_access_token) throw new FleetError('UF_INVALID_REQUEST', 'A Vimeo destination needs oauth_access_token or auth_secret', { destination: 'vimeo' });
      return destination.oauth_access_token;
    },
    renew: async () => {
      throw expired();
    },
    rejectedAfterRenewal: expired,
  };
}

export class VimeoClient {
  constructor(
    private readonly tokens: VimeoTokens,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
  ) {}

  /** A Vimeo API request with the token (renewed once after a 401) and the version header. */
  api(request: VimeoRequest): Promise<VimeoAnswer> {
    return sendWithBearer(
      this.tokens,
      (token) => this.once(request, { authorization: `bearer ${token}`, accept: VIMEO_ACCEPT }),
      (answer) => {
        // An inline oauth_access_token cannot be renewed: Vimeo's own words say what is wrong.
        if (isTokenRejection(answer) && !this.tokens.renewable) throw errorForAnswer(answer, request.step);
        return isTokenRejection(answer);
      },
    );
  }

  /** A tus request to the upload link: no token. */
  tus(request: VimeoRequest): Promise<VimeoAnswer> {
    return this.once(request, { 'tus-resumable': '1.0.0' });
  }

  private once(request: VimeoRequest, baseHeaders: Record<string, string>): Promise<VimeoAnswer> {
    return sendPlatformRequest(
      { method: request.method, url: request.url, headers: { ...baseHeaders, ...request.headers }, body: request.body, onUploadProgress: request.onUploadProgress },
      { network: this.network, signal: this.signal, errorForFailure: (error) => errorForFailure(error, request.step, this.signal) },
    );
  }
}
