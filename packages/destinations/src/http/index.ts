import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { finished } from 'node:stream/promises';
import got, { type PlainResponse, type Request } from 'got';
import { FleetError, scrubDeep, type NetworkGuard, type UploadResult } from '@upload-fleet/core';
import type { HttpDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import { errorForAnswer, errorForFailure, resultOf } from './outcome.js';
import { multipartBody, rawBody, type RequestBody } from './request-body.js';
import { writeSource } from '../source-writer.js';

/**
 * The HTTP destination: POST the file as multipart/form-data (field `fileid`, filename
 * `filename`, plus `fields`), or PUT it as the raw body, to any URL.
 *
 * Plain HTTP has no resumable protocol, so every attempt sends the whole file from byte 0
 * and no checkpoint is kept. The file is streamed from the source and never held in memory.
 */

/**
 * Limits for reaching the server. The upload itself has none: a 20 GiB file takes what
 * it takes, and the job's own timeout aborts it through `context.signal`.
 */
const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte sent to the answer's headers: endpoints may process the file before answering. */
const RESPONSE_TIMEOUT_MS = 5 * 60_000;
/** The answer's body is kept in the result for the caller (ids, URLs it returns), up to this much. */
const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

/**
 * Keep-alive agents, one pair per network guard (so one per worker process, whose pools share
 * one guard): an upload to a host that was just uploaded to reuses the idle connection
 * instead of opening a new one (the TCP handshake and, for https, the TLS one: most of the
 * cost of a small file). The guard's rules still hold for every connection:
 * - `assertAllowed` runs before every request, reused socket or not, on the URL's name and
 *   port, resolving the name again;
 * - a new socket is only ever opened through the guard's `lookup` (got passes `dnsLookup` to
 *   the agent's createConnection), so an idle socket is one whose address the guard passed;
 * - Node pools sockets by host name, port and TLS options (`Agent.getName`), so a socket is
 *   reused only for the same name and port, never for another host that resolves to the same
 *   address, and never across guards with different allowlists (this map).
 * Node closes an idle socket a second before the server's announced `Keep-Alive: timeout`,
 * which leaves little room for the race where a server drops a socket as it is reused; a
 * request that meets it fails as any reset does (transient, retried with backoff).
 */
const agentsByGuard = new WeakMap<NetworkGuard, { http: HttpAgent; https: HttpsAgent }>();

function agentsFor(network: NetworkGuard): { http: HttpAgent; https: HttpsAgent } {
  let agents = agentsByGuard.get(network);
  if (!agents) {
    // lifo: the most recently used socket first, the one least likely to have been closed.
    agents = { http: new HttpAgent({ keepAlive: true, scheduling: 'lifo' }), https: new HttpsAgent({ keepAlive: true, scheduling: 'lifo' }) };
    agentsByGuard.set(network, agents);
  }
  return agents;
}

export const httpAdapter: DestinationAdapter<'http'> = {
  type: 'http',
  upload,
};

async function upload(context: UploadContext<HttpDestination>): Promise<UploadResult> {
  const { destination, source, signal, network, log } = context;
  const target = new URL(destination.url);
  if (signal.aborted) throw new FleetError('UF_ABORTED', `The upload to the HTTP destination ${target.host} was aborted before it started`, { destination: 'http' });

  // Refuse private and metadata addresses with a clear error before opening anything;
  // `dnsLookup` below checks again at connect time against DNS rebinding.
  await network.assertAllowed(target);

  const body =
    destination.method === 'PUT'
      ? rawBody(source.size, context.contentType)
      : multipartBody(source.size, {
          fileField: destination.fileid,
          filename: destination.filename,
          contentType: context.contentType,
          fields: destination.fields,
        });
  // Debug: the processor logs every upload's start and end at info already (one line each).
  log.debug({ host: target.host, method: destination.method, bytes: source.size }, 'uploading to the HTTP destination');

  const headers = headersFor(context, target, body);
  const request = send(context, target, headers);
  let reported = -1;
  request.on('uploadProgress', (progress: { transferred: number }) => {
    const fileBytes = body.fileBytesWithin(progress.transferred);
    if (fileBytes > reported) {
      reported = fileBytes;
      context.reportProgress(fileBytes);
    }
  });
  // The body is written while the answer is awaited: a failure to read the source fails the
  // request (and so the answer), and a failed request ends the writing.
  const sending = writeBody(request, body, context);
  sending.catch((error: unknown) => request.destroy(error as Error));
  let delivered = false;
  try {
    const response = await responseOf(request, target, signal);
    const text = await bodyTextOf(request, log);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      log.warn({ host: target.host, status: response.statusCode, body: text.text.slice(0, 500) }, 'the HTTP destination refused the upload');
      throw errorForAnswer(target, response.statusCode, response.headers, text);
    }
    context.reportProgress(source.size);
    log.debug({ host: target.host, status: response.statusCode }, 'uploaded to the HTTP destination');
    delivered = true;
    // The answer is stored and shown by the status API: an endpoint that echoes the
    // request's credentials (many debug endpoints do) must not get them stored.
    return scrubDeep(resultOf(target, source.size, response.statusCode, response.headers, text), credentialsSent(destination, target, headers));
  } finally {
    // The source is closed before the attempt ends (on failure or abort the request's close
    // ends the writing at once).
    if (delivered) await handBack(request, sending);
    else if (!request.destroyed && !request.writableFinished) request.destroy();
    await sending.catch(() => undefined);
  }
}

/** How long a delivered request may take to finish writing before its connection is closed. */
const FINISH_GRACE_MS = 5_000;

/**
 * After a whole 2xx answer: lets the request finish writing (its last bytes and its end can
 * still be on their way when the answer has been read), so that Node hands its socket back
 * to the keep-alive agent; destroying the request now would close a connection the next
 * upload could use. Bounded, for a server that answered early and stopped reading: then the
 * request is destroyed, and its connection with it.
 */
async function handBack(request: Request, sending: Promise<void>): Promise<void> {
  if (request.writableFinished || request.destroyed) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, FINISH_GRACE_MS)));
  // A failure here changes nothing about the delivered upload; the request is destroyed below.
  const finishedWriting = sending.then(() => finished(request, { readable: false })).catch(() => undefined);
  await Promise.race([finishedWriting, grace]);
  clearTimeout(timer);
  if (!request.writableFinished && !request.destroyed) request.destroy();
}

/** The body: the envelope's head, the file (exactly its size), the trailer. */
async function writeBody(request: Request, body: RequestBody, context: UploadContext<HttpDestination>): Promise<void> {
  const write = (piece: Uint8Array) => new Promise<void>((resolve, reject) => request.write(piece, (error) => (error ? reject(error) : resolve())));
  for (const piece of body.before) await write(piece);
  await writeSource(context.source, 0, request, { destination: 'http', signal: context.signal });
  for (const piece of body.after) await write(piece);
  request.end();
}

/**
 * Starts the request. got in stream mode: the body is written into it (writeBody), and
 * the readable side is the answer's body, read with a size limit.
 */
function send(context: UploadContext<HttpDestination>, target: URL, headers: Record<string, string>): Request {
  const { destination } = context;
  return got.stream(target, {
    method: destination.method,
    headers,
    dnsLookup: context.network.lookup,
    agent: agentsFor(context.network),
    // A redirect answer is reported, not followed: see errorForAnswer.
    followRedirect: false,
    // Every status comes back as an answer; outcome.ts decides what it means.
    throwHttpErrors: false,
    // BullMQ retries the job with backoff; got retrying inside would hide attempts.
    retry: { limit: 0 },
    signal: context.signal,
    timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS, response: RESPONSE_TIMEOUT_MS },
  });
}

/**
 * The destination's `headers` as given, then the ones the body needs, then the
 * Idempotency-Key of this upload. Content-Length is
 * always the body's (a wrong one corrupts the request), and so is Content-Type for
 * multipart (it carries the boundary); for PUT a Content-Type the caller set wins, since
 * signed upload URLs often require an exact one. `user`/`password` become Basic auth,
 * UTF-8 encoded (RFC 7617), unless the caller set an Authorization header: the explicit
 * header wins, as it does in Node's own `auth` option, and the conflict is logged.
 */
function headersFor(context: UploadContext<HttpDestination>, target: URL, body: RequestBody): Record<string, string> {
  const { destination, log } = context;
  const headers: Record<string, string> = {};
  const given = new Set(Object.keys(destination.headers).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(destination.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') continue;
    if (lower === 'content-type' && destination.method !== 'PUT') continue;
    headers[name] = value;
  }
  for (const [name, value] of Object.entries(body.headers)) {
    if (!(name === 'content-type' && given.has('content-type') && destination.method === 'PUT')) headers[name] = value;
  }
  // The IETF draft's header (draft-ietf-httpapi-idempotency-key-header), an sf-string: a
  // receiver that deduplicates sees every attempt of this upload as one. A caller's own wins.
  if (context.uploadId !== undefined && !given.has('idempotency-key')) headers['idempotency-key'] = `"${context.uploadId}"`;
  if (destination.user !== undefined) {
    if (given.has('authorization')) {
      log.warn({ host: target.host }, 'both an Authorization header and user/password were given: the header is sent, user/password are not');
    } else {
      headers.authorization = `Basic ${Buffer.from(`${destination.user}:${destination.password ?? ''}`, 'utf8').toString('base64')}`;
    }
  }
  return headers;
}

/**
 * Every credential this attempt sent, in the forms it took on the wire: the custom header
 * values (secret as a whole), the password, the computed Basic value (base64 of
 * user:password, with and without its scheme) and the URL's own userinfo, which got sends
 * as Basic auth too. scrubText adds the encoded forms of each.
 */
function credentialsSent(destination: HttpDestination, target: URL, headers: Record<string, string>): string[] {
  const basicOf = (user: string, password: string) => Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  const sent = [...Object.values(destination.headers), ...Object.entries(headers).filter(([name]) => CREDENTIAL_HEADERS.test(name)).map(([, value]) => value)];
  if (destination.password) sent.push(destination.password);
  if (destination.user !== undefined) sent.push(basicOf(destination.user, destination.password ?? ''));
  if (target.username || target.password) {
    for (const [user, password] of [[target.username, target.password], [safeDecode(target.username), safeDecode(target.password)]] as const) {
      sent.push(basicOf(user, password), password);
    }
  }
  // The value after the scheme ("Bearer abc" -> "abc"): an echo may show the token alone.
  for (const value of [...sent]) {
    const token = /^\S+\s+(\S{4,})$/.exec(value)?.[1];
    if (token) sent.push(token);
  }
  return sent.filter((value) => value.length >= 4);
}

const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization|cookie)$/i;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Waits for the answer's status and headers; a failure before them is classified by errorForFailure. */
async function responseOf(request: Request, target: URL, signal: AbortSignal): Promise<PlainResponse> {
  try {
    return await new Promise<PlainResponse>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
  } catch (error) {
    request.destroy();
    throw errorForFailure(error, target, signal);
  }
}

/**
 * Reads at most MAX_RESPONSE_BODY_BYTES of the answer's body: the endpoint is not ours,
 * and an answer of gigabytes must not fill the worker's memory. Once the status is known
 * the upload's outcome is decided, so a body that breaks off (or an abort arriving now)
 * only shortens the text; it does not turn a delivered file into a failure.
 */
async function bodyTextOf(request: Request, log: UploadContext<HttpDestination>['log']): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let truncated = false;
  let whole = false;
  try {
    // Not destroyed at the end: a whole answer leaves the connection to the keep-alive agent
    // (Node hands the socket back once the request's own end is written, which can come a
    // moment after the answer; destroying the request then would close the socket).
    for await (const chunk of request.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length > MAX_RESPONSE_BODY_BYTES) {
        truncated = true;
        break;
      }
    }
    whole = !truncated;
  } catch (error) {
    truncated = true;
    log.warn({ code: (error as { code?: unknown }).code }, 'the HTTP destination answer broke off; keeping the part received');
  } finally {
    // An answer cut short (too long, or broken off) takes its connection with it.
    if (!whole && !request.destroyed) request.destroy();
  }
  const bytes = Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BODY_BYTES);
  return { text: new TextDecoder().decode(bytes), truncated };
}
