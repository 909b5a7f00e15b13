import type { LookupFunction } from 'node:net';
import got, { type PlainResponse, type Request } from 'got';
import type { FleetError } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';
import type { GraphAnswer } from './errors.js';

/**
 * One POST to the Graph API, in got's stream mode so a chunk is pulled from the source as
 * the socket takes it. The token travels in the Authorization header (`OAuth <token>`,
 * the form Graph documents for header tokens), never in the URL: URLs end up in proxy and
 * access logs, and in got's own error messages.
 */

/** Reaching the server. Sending a chunk has no limit of its own: the job's timeout covers it. */
const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte sent to the answer's headers; Graph answers a chunk within seconds. */
const RESPONSE_TIMEOUT_MS = 2 * 60_000;
/** Graph answers are a few hundred bytes; the endpoint is user-supplied, so cap what is read. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface GraphRequestBody {
  headers: Record<string, string>;
  body: string | AsyncIterable<Uint8Array>;
}

export interface GraphCall {
  url: URL;
  token: string;
  body: GraphRequestBody;
  signal: AbortSignal;
  /** The network guard's lookup: the address actually connected to is checked. */
  lookup: LookupFunction;
  /** Bytes of the request body written so far. */
  onUploadProgress?: (transferred: number) => void;
}

/** Sends the request and reads the answer; throws a FleetError when there is no answer. */
export async function postToGraph(call: GraphCall): Promise<GraphAnswer> {
  const request = got.stream(call.url, {
    method: 'POST',
    headers: { ...call.body.headers, accept: 'application/json', authorization: `OAuth ${call.token}` },
    body: call.body.body,
    dnsLookup: call.lookup,
    // Graph does not redirect uploads; following one would send the token elsewhere.
    followRedirect: false,
    // Every status comes back as an answer; errors.ts decides what it means.
    throwHttpErrors: false,
    // BullMQ retries the job with backoff, resuming the session; got retrying inside would hide attempts.
    retry: { limit: 0 },
    signal: call.signal,
    timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS, response: RESPONSE_TIMEOUT_MS },
  });
  if (call.onUploadProgress) {
    const report = call.onUploadProgress;
    request.on('uploadProgress', (progress: { transferred: number }) => report(progress.transferred));
  }
  try {
    const response = await new Promise<PlainResponse>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
    const text = await answerText(request);
    return { status: response.statusCode, headers: response.headers, json: parseJson(text) };
  } catch (error) {
    throw errorForFailure(error, call.url, call.signal);
  } finally {
    if (!request.destroyed) request.destroy();
  }
}

async function answerText(request: Request): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length > MAX_ANSWER_BYTES) break; // not a Graph answer; the status decides
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Why a request got no answer. got's own messages are never reused: they contain the URL.
 */
export function errorForFailure(error: unknown, url: URL, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'facebook',
    where: `Facebook (${url.host})`,
    signal,
    abortNote: '; it resumes from its last chunk',
    tlsHint: 'check the endpoint',
  });
}
