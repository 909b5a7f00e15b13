import type { NetworkGuard } from '@upload-fleet/core';
import { sendPlatformRequest } from '../platform-request.js';
import type { MuxDestination, MuxSettings } from './definition.js';
import { errorForFailure, type MuxAnswer, type MuxStep } from './errors.js';

/**
 * Every request of the Mux adapter: the API with HTTP Basic auth (token id and secret), and
 * the upload URL without it (it is signed). Each goes through the network guard's lookup,
 * the abort signal and timeouts; answers come back whatever their status, and the caller
 * decides what they mean (errors.ts for the failures).
 *
 * Why got and not `@mux/mux-node`: the SDK creates uploads but leaves the PUT to the caller
 * (UpChunk in browsers), and its HTTP layer takes no lookup function for the network
 * guard. The API calls are three small JSON requests, so one HTTP stack (platform-request.ts)
 * serves them all.
 */

export class MuxClient {
  private readonly authorization: string;
  private readonly apiBase: string;

  constructor(
    destination: Pick<MuxDestination, 'token_id' | 'token_secret'>,
    settings: Pick<MuxSettings, 'apiBaseUrl'>,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
  ) {
    this.authorization = `Basic ${Buffer.from(`${destination.token_id}:${destination.token_secret}`).toString('base64')}`;
    this.apiBase = settings.apiBaseUrl.replace(/\/+$/, '');
  }

  /** A JSON request to the Mux API (`path` like /video/v1/uploads). */
  async api(step: MuxStep, method: 'GET' | 'POST', path: string, body?: unknown): Promise<MuxAnswer> {
    const url = new URL(`${this.apiBase}${path}`);
    await this.network.assertAllowed(url);
    return this.send(step, method, url.toString(), {
      authorization: this.authorization,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    }, body === undefined ? undefined : JSON.stringify(body));
  }

  /** A PUT on the upload URL: a chunk, or a status query. */
  async put(step: MuxStep, uploadUrl: string, headers: Record<string, string>, body: Buffer): Promise<MuxAnswer> {
    return this.send(step, 'PUT', uploadUrl, headers, body);
  }

  private send(step: MuxStep, method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, body: Buffer | string | undefined): Promise<MuxAnswer> {
    return sendPlatformRequest({ method, url, headers, body }, { network: this.network, signal: this.signal, errorForFailure: (error) => errorForFailure(error, step, this.signal) });
  }
}
