import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import { urlToHttpOptions } from 'node:url';
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
 * - connect: from the request's socket to a connection (name lookup, TCP and, for https,
 *   TLS), for a new connection; a kept-alive one is connected already;
 * - response: from the last byte sent to the answer's headers (endpoints may process the
 *   file before answering).
 * Settable for tests (`httpTimeouts`), not by jobs.
 */
export const httpTimeouts = { connectMs: 30_000, responseMs: 5 * 60_000 };
/** The answer's body is kept in the result for the caller (ids, URLs it returns), up to this much. */
const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

/**
 * Keep-alive agents, one pair per network guard (so one per worker process, whose pools share
 * one guard): an upload to a host that was just uploaded to reuses the idle connection
 * instead of opening a new one (the TCP handshake and, for https, the TLS one: most of the
 * cost of a small file). The guard's rules still hold for every connection:
 * - `assertAllowed` runs before every request, reused socket or not, on the URL's name and
 *   port, resolving the name again;
 * - a new socket is only ever opened through the guard's `lookup` (the request's `lookup`
 *   reaches the agent's createConnection), so an idle socket is one whose address the guard passed;
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
  let transferred = 0;
  let reported = -1;
  const onWritten = (bytes: number) => {
    transferred += bytes;
    const fileBytes = body.fileBytesWithin(transferred);
    if (fileBytes > reported) {
      reported = fileBytes;
      context.reportProgress(fileBytes);
    }
  };
  // The body is written while the answer is awaited: a failure to read the source fails the
  // request (and so the answer), and a failed request ends the writing.
  const sending = writeBody(request, body, context, onWritten);
  sending.catch((error: unknown) => request.destroy(error as Error));
  let delivered = false;
  try {
    const response = await responseOf(request, target, signal);
    const text = await bodyTextOf(request, response, log);
    // A client request's answer always has its status (Node's parser sets it before 'response').
    const status = response.statusCode!;
    if (status < 200 || status >= 300) {
      log.warn({ host: target.host, status, body: text.text.slice(0, 500) }, 'the HTTP destination refused the upload');
      throw errorForAnswer(target, status, response.headers, text);
    }
    context.reportProgress(source.size);
    log.debug({ host: target.host, status }, 'uploaded to the HTTP destination');
    delivered = true;
    // The answer is stored and shown by the status API: an endpoint that echoes the
    // request's credentials (many debug endpoints do) must not get them stored.
    return scrubDeep(resultOf(target, source.size, status, response.headers, text), credentialsSent(destination, target, headers));
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
async function handBack(request: ClientRequest, sending: Promise<void>): Promise<void> {
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
async function writeBody(request: ClientRequest, body: RequestBody, context: UploadContext<HttpDestination>, onWritten: (bytes: number) => void): Promise<void> {
  const write = (piece: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      request.write(piece, (error) => {
        if (error) return reject(error);
        onWritten(piece.byteLength);
        resolve();
      }),
    );
  for (const piece of body.before) await write(piece);
  await writeSource(context.source, 0, request, { destination: 'http', signal: context.signal, onWritten });
  for (const piece of body.after) await write(piece);
  request.end();
}

/**
 * Starts the request on Node's own HTTP client: the body is written into it (writeBody),
 * and the answer is read with a size limit (bodyTextOf). Not got: for a 1 KiB upload got's
 * options, hooks and stream wrapper cost about 350 µs of CPU per request over Node's
 * client (a loopback PUT at concurrency 50: 540–600 µs against 160–230), a fifth of what a
 * tiny delivery costs the worker, and every chunk of a large file passed one more stream.
 * What got gave this adapter is here in a few lines: the timeouts (armTimeouts), progress
 * (counted at each write's callback) and the guard's lookup. Redirects are not followed and
 * nothing is retried inside (BullMQ retries the job with backoff), as before.
 */
function send(context: UploadContext<HttpDestination>, target: URL, headers: Record<string, string>): ClientRequest {
  const { destination, network } = context;
  const agents = agentsFor(network);
  const https = target.protocol === 'https:';
  let request: ClientRequest;
  try {
    // urlToHttpOptions: the host without IPv6 brackets, the path with its query, and the
    // URL's userinfo (decoded) as `auth`, which Node sends as Basic auth unless an
    // Authorization header is set (the caller's, or the one from user/password).
    request = (https ? httpsRequest : httpRequest)({
      ...urlToHttpOptions(target),
      method: destination.method,
      headers,
      agent: https ? agents.https : agents.http,
      // A new connection resolves its name through the guard (DNS rebinding).
      lookup: network.lookup as never,
      signal: context.signal,
    });
  } catch (error) {
    // A header Node refuses (a character not allowed in a header value): nothing was sent.
    throw errorForFailure(error, target, context.signal);
  }
  armTimeouts(request, https);
  return request;
}

/** A timeout of the HTTP client, named by the phase that ran out (transport-errors.ts reads `event`). */
function timeoutError(event: 'connect' | 'response', ms: number): Error {
  return Object.assign(new Error(`${event} timeout after ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT', event });
}

/** httpTimeouts on one request: a new connection must connect in time, and the answer must start in time after the last byte. */
function armTimeouts(request: ClientRequest, https: boolean): void {
  let connectTimer: NodeJS.Timeout | undefined;
  let responseTimer: NodeJS.Timeout | undefined;
  request.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    const { connectMs } = httpTimeouts;
    connectTimer = setTimeout(() => request.destroy(timeoutError('connect', connectMs)), connectMs);
    socket.once(https ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
  });
  request.once('finish', () => {
    const { responseMs } = httpTimeouts;
    responseTimer = setTimeout(() => request.destroy(timeoutError('response', responseMs)), responseMs);
  });
  const clear = () => {
    clearTimeout(connectTimer);
    clearTimeout(responseTimer);
  };
  request.once('response', clear);
  request.once('close', clear);
}

/**
 * The destination's `headers` as given, then the ones the body needs, then the
 * Idempotency-Key of this upload and a User-Agent (each unless given). Content-Length is
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
  // Some endpoints (and the firewalls in front of them) refuse a request without one.
  if (!given.has('user-agent')) headers['user-agent'] = 'upload-fleet';
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
 * user:password, with and without its scheme) and the URL's own userinfo, which Node sends
 * as Basic auth too (decoded). scrubText adds the encoded forms of each.
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
async function responseOf(request: ClientRequest, target: URL, signal: AbortSignal): Promise<IncomingMessage> {
  // Errors after the answer (a reset while the body is read or the request's end is still
  // being written) reach the body read and the writing; this keeps them from being unhandled.
  request.on('error', () => undefined);
  try {
    return await new Promise<IncomingMessage>((resolve, reject) => {
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
async function bodyTextOf(request: ClientRequest, response: IncomingMessage, log: UploadContext<HttpDestination>['log']): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let truncated = false;
  let whole = false;
  try {
    // Not destroyed at the end: a whole answer leaves the connection to the keep-alive agent
    // (Node hands the socket back once the request's own end is written, which can come a
    // moment after the answer; destroying the request then would close the socket).
    for await (const chunk of response.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
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
  const bytes = chunks.length === 1 ? chunks[0]!.subarray(0, MAX_RESPONSE_BODY_BYTES) : Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BODY_BYTES);
  return { text: new TextDecoder().decode(bytes), truncated };
}
