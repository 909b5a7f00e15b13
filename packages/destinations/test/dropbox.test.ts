/**
 * The Dropbox adapter against the testkit's Dropbox fake: which requests it makes for
 * which sizes, how it continues sessions (checkpoint, incorrect_offset, expired or
 * finished sessions), that a retried commit never makes a second file, the token refresh
 * of auth_secret, and the results it returns. Chunks are lowered to 4 MiB (Dropbox's
 * smallest session-friendly size) so the session tests stay fast; one test uses the
 * production 8 MiB on a file over Dropbox's 150 MiB single-request limit.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import { dropboxDestinationSchema, type DropboxDestination } from '../src/dropbox/definition.js';
import { dropboxContentHash, startDropboxFake, type DropboxFake, type DropboxFakeRequest } from '@upload-fleet/testkit';
import type { CheckpointStore, CredentialProvider, OAuthProvider, UploadSource } from '../src/index.js';
import { createDropboxAdapter } from '../src/dropbox/index.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

let fake: DropboxFake;
let dir: string;
let first: number;

beforeAll(async () => {
  fake = await startDropboxFake();
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-dropbox-'));
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.throttle(0);
  fake.setQuota(undefined);
  first = fake.requests.length;
});

// ---- helpers -------------------------------------------------------------------------

interface RunOptions {
  /** Default: 4 MiB; 'production': the adapter's own default. */
  chunkBytes?: number | 'production';
  checkpoint?: CheckpointStore;
  signal?: AbortSignal;
  credentials?: CredentialProvider;
  source?: UploadSource;
  onProgress?: (bytes: number) => void;
}

function destination(filename: string, credential: { oauth_token?: string; auth_secret?: string } = { oauth_token: fake.token }): DropboxDestination {
  return dropboxDestinationSchema.parse({ type: 'dropbox', filename, ...credential });
}

/** One upload attempt, with the context the runtime gives an adapter. */
function run(dest: DropboxDestination, file: SourceFile, options: RunOptions = {}): Promise<UploadResult> {
  const chunks = options.chunkBytes === 'production' ? {} : { chunkBytes: options.chunkBytes ?? CHUNK };
  const adapter = createDropboxAdapter({ apiBaseUrl: fake.apiBaseUrl, contentBaseUrl: fake.contentBaseUrl }, chunks);
  const { chunkBytes: _chunkBytes, source = fileSource(file), credentials = unusedCredentials, ...rest } = options;
  return adapter.upload(testUploadContext(dest, { source, contentType: 'video/mp4', credentials, ...rest }));
}

const unusedCredentials: CredentialProvider = {
  async accessToken() {
    throw new Error('this upload has an inline oauth_token; the credential provider must not be asked');
  },
};

/** A stand-in for the fleet's credential provider: answers from a script, records every call. */
function credentialDouble(answer: (rejectedToken: string | undefined) => string) {
  const calls: [OAuthProvider, string, string | undefined][] = [];
  const provider: CredentialProvider = {
    async accessToken(provider, authSecret, rejectedToken) {
      calls.push([provider, authSecret, rejectedToken]);
      return answer(rejectedToken);
    },
  };
  return { provider, calls };
}

/** Requests of this test so far. */
const requests = (): DropboxFakeRequest[] => fake.requests.slice(first);
const endpoints = () => requests().map((r) => r.endpoint);
const cursorOf = (r: DropboxFakeRequest | undefined) => (r?.arg?.cursor ?? {}) as { session_id?: string; offset?: number };
const failureOf = (promise: Promise<unknown>) => promise.then(() => new Error('the upload succeeded'), (e: unknown) => e as FleetError);
const expectStored = (path: string, file: SourceFile) => expect(fake.file(path) && { size: fake.file(path)?.size, sha256: fake.file(path)?.sha256 }).toEqual({ size: file.size, sha256: file.sha256 });

// ---- request shapes by size ------------------------------------------------------------

describe('requests by size', () => {
  it('a file up to one chunk goes in one files/upload request (overwrite, no autorename) and the result names the file', async () => {
    const file = await writeRandomFile(dir, 'small.mp4', 100 * 1024 + 3);
    const result = await run(destination('Videos/small.mp4'), file);

    expect(endpoints()).toEqual(['upload']);
    const arg = requests()[0]?.arg ?? {};
    expect(arg.path).toBe('/Videos/small.mp4'); // leading slash added
    expect(arg.mode).toEqual({ '.tag': 'overwrite' });
    expect(arg.autorename).toBe(false);
    expect(arg.content_hash).toMatch(/^[0-9a-f]{64}$/);

    const stored = fake.file('/Videos/small.mp4');
    expect(result).toEqual({
      url: null,
      bytes: file.size,
      path: '/Videos/small.mp4',
      id: stored?.id,
      rev: stored?.rev,
      content_hash: dropboxContentHash(readFileSync(file.path)),
    });
    expect(stored?.content_hash).toBe(result.content_hash);
    expectStored('/Videos/small.mp4', file);
  });

  it('exactly one chunk is one request; one byte more is an upload session', async () => {
    const exact = await writeRandomFile(dir, 'exact.mp4', CHUNK);
    await run(destination('renders/exact.mp4'), exact);
    expect(endpoints()).toEqual(['upload']);

    first = fake.requests.length;
    const over = await writeRandomFile(dir, 'over.mp4', CHUNK + 1);
    await run(destination('renders/over.mp4'), over);
    expect(endpoints()).toEqual(['upload_session/start', 'upload_session/finish']);
    expect(requests().map((r) => r.bodyBytes)).toEqual([CHUNK, 1]);
    expectStored('/renders/over.mp4', over);
  });

  it('a larger file goes through a session in whole chunks, checkpointed after each, and its content hash matches', async () => {
    const file = await writeRandomFile(dir, 'nine.mp4', 9 * MiB + 7);
    const checkpoint = memoryCheckpoints();
    const progress: number[] = [];
    const result = await run(destination('renders/nine.mp4'), file, { checkpoint, onProgress: (b) => progress.push(b) });

    expect(endpoints()).toEqual(['upload_session/start', 'upload_session/append_v2', 'upload_session/finish']);
    expect(requests().map((r) => r.bodyBytes)).toEqual([CHUNK, CHUNK, MiB + 7]);
    const sessionId = cursorOf(requests()[1]).session_id;
    expect(requests().slice(1).map((r) => cursorOf(r))).toEqual([
      { session_id: sessionId, offset: CHUNK },
      { session_id: sessionId, offset: 2 * CHUNK },
    ]);
    const commit = requests()[2]?.arg?.commit as Record<string, unknown>;
    expect(commit).toMatchObject({ path: '/renders/nine.mp4', mode: { '.tag': 'overwrite' }, autorename: false });
    expect(checkpoint.saves).toBe(2);
    expect(checkpoint.state).toMatchObject({ sessionId, offset: 2 * CHUNK, size: file.size, path: '/renders/nine.mp4' });

    expect(result.content_hash).toBe(dropboxContentHash(readFileSync(file.path)));
    expectStored('/renders/nine.mp4', file);
    expect(progress.at(-1)).toBe(file.size);
    expect(progress.every((b) => b <= file.size)).toBe(true);
    expect(new Set(progress).size).toBeGreaterThan(3); // within chunks too, not only after each
  });

  it('a file over Dropbox\'s 150 MiB single-request limit goes through a session with the production 8 MiB chunks', async () => {
    const file = await writeRandomFile(dir, 'over-150.mp4', 150 * MiB + 4097);
    const result = await run(destination('renders/over-150.mp4'), file, { chunkBytes: 'production' });
    expect(endpoints()[0]).toBe('upload_session/start');
    expect(endpoints().at(-1)).toBe('upload_session/finish');
    expect(endpoints()).toHaveLength(Math.ceil(file.size / (8 * MiB)));
    expect(Math.max(...requests().map((r) => r.bodyBytes))).toBe(8 * MiB);
    expect(result.bytes).toBe(file.size);
    expectStored('/renders/over-150.mp4', file);
  }, 120_000);
});

// ---- continuing sessions -----------------------------------------------------------------

describe('continuing an upload session', () => {
  it('continues an interrupted upload in the same session, from its checkpoint', async () => {
    const file = await writeRandomFile(dir, 'resume.mp4', 16 * MiB + 11);
    const checkpoint = memoryCheckpoints();
    const before = fake.bytesReceived();
    fake.throttle(4 * MiB);
    const interruption = new AbortController();
    const attempt = run(destination('renders/resume.mp4'), file, { checkpoint, signal: interruption.signal });
    attempt.catch(() => undefined);
    await until('more than a chunk to arrive', () => fake.bytesReceived() - before > CHUNK + MiB);
    interruption.abort('shutdown');
    const error = await failureOf(attempt);
    expect((error as FleetError).code).toBe('UF_ABORTED');
    fake.throttle(0);

    const saved = checkpoint.state as { sessionId: string; offset: number };
    expect(saved.offset).toBeGreaterThanOrEqual(CHUNK);
    expect(fake.sessions.has(saved.sessionId)).toBe(true);

    first = fake.requests.length;
    await run(destination('renders/resume.mp4'), file, { checkpoint });
    expect(endpoints()).not.toContain('upload_session/start');
    expect(requests().every((r) => cursorOf(r).session_id === saved.sessionId)).toBe(true);
    expect(cursorOf(requests()[0]).offset).toBe(saved.offset);
    expectStored('/renders/resume.mp4', file);
    expect((fake.bytesReceived() - before) / file.size).toBeLessThan(1.3);
  });

  it('continues at the offset Dropbox reports (incorrect_offset) after an append whose answer was lost', async () => {
    const file = await writeRandomFile(dir, 'offset.mp4', 13 * MiB);
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ endpoint: 'upload_session/append_v2', loseAnswer: true }]);
    const error = await failureOf(run(destination('renders/offset.mp4'), file, { checkpoint }));
    expect((error as FleetError).code).toBe('UF_NETWORK');
    // Dropbox took the chunk; the checkpoint does not know.
    const saved = checkpoint.state as { sessionId: string; offset: number };
    expect(saved.offset).toBe(CHUNK);
    expect(fake.sessions.get(saved.sessionId)?.offset).toBe(2 * CHUNK);

    first = fake.requests.length;
    await run(destination('renders/offset.mp4'), file, { checkpoint });
    expect(requests().map((r) => [r.endpoint, cursorOf(r).offset, r.errorSummary])).toEqual([
      ['upload_session/append_v2', CHUNK, 'incorrect_offset'],
      ['upload_session/append_v2', 2 * CHUNK, undefined],
      ['upload_session/finish', 3 * CHUNK, undefined],
    ]);
    expectStored('/renders/offset.mp4', file);
    expect(fake.filesCreated('/renders/offset.mp4')).toBe(1);
  });

  it('a retried finish whose first answer was lost does not create a second copy', async () => {
    const file = await writeRandomFile(dir, 'finish.mp4', 9 * MiB);
    const path = '/renders/finish/finish.mp4';
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ endpoint: 'upload_session/finish', loseAnswer: true }]);
    const error = await failureOf(run(destination(path), file, { checkpoint }));
    expect((error as FleetError).code).toBe('UF_NETWORK');
    expect(fake.filesCreated(path)).toBe(1); // committed, but the adapter could not know

    first = fake.requests.length;
    const result = await run(destination(path), file, { checkpoint });
    // The finished session is gone: a new session, committed again over the same path.
    expect(requests()[0]?.errorSummary).toBe('lookup_failed/not_found');
    expect(endpoints().slice(1)).toEqual(['upload_session/start', 'upload_session/append_v2', 'upload_session/finish']);
    expect(fake.filesCreated(path)).toBe(1);
    expect(fake.files().filter((f) => f.path_lower.startsWith('/renders/finish/'))).toHaveLength(1);
    expect(fake.file(path)?.revisions).toBe(2);
    expect(result.path).toBe(path);
    expectStored(path, file);
  });

  it('a finish whose data Dropbox kept but whose commit it refused (lock contention) is finished with an empty body', async () => {
    const file = await writeRandomFile(dir, 'contention.mp4', 9 * MiB);
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ endpoint: 'upload_session/finish', commitError: 'too_many_write_operations' }]);
    const error = (await failureOf(run(destination('renders/contention.mp4'), file, { checkpoint }))) as FleetError;
    expect({ code: error.code, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', retryAfterMs: 1000 });
    expect(requests().at(-1)?.errorSummary).toBe('path/too_many_write_operations');

    first = fake.requests.length;
    await run(destination('renders/contention.mp4'), file, { checkpoint });
    expect(requests().map((r) => [r.endpoint, cursorOf(r).offset, r.bodyBytes, r.errorSummary])).toEqual([
      ['upload_session/finish', 2 * CHUNK, MiB, 'lookup_failed/incorrect_offset'],
      ['upload_session/finish', file.size, 0, undefined],
    ]);
    expectStored('/renders/contention.mp4', file);
  });

  it('replaces an expired session (7 days) with a new one', async () => {
    const file = await writeRandomFile(dir, 'expired.mp4', 9 * MiB);
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ endpoint: 'upload_session/append_v2', dropAfterBytes: 1000 }]);
    expect(((await failureOf(run(destination('renders/expired.mp4'), file, { checkpoint }))) as FleetError).code).toBe('UF_NETWORK');
    expect(checkpoint.state).toMatchObject({ offset: CHUNK });
    fake.expireSessions();

    first = fake.requests.length;
    await run(destination('renders/expired.mp4'), file, { checkpoint });
    expect(requests()[0]?.errorSummary).toBe('not_found');
    expect(endpoints().filter((e) => e === 'upload_session/start')).toHaveLength(1);
    expectStored('/renders/expired.mp4', file);
  });

  it('ignores a checkpoint saved for a file of another size', async () => {
    const file = await writeRandomFile(dir, 'other.mp4', 9 * MiB);
    const checkpoint = memoryCheckpoints();
    await checkpoint.save({ version: 1, sessionId: 'AAAAnot-this-one', offset: CHUNK, size: file.size + 1, path: '/renders/other.mp4', startedAt: Date.now() });
    await run(destination('renders/other.mp4'), file, { checkpoint });
    expect(endpoints()[0]).toBe('upload_session/start');
    expectStored('/renders/other.mp4', file);
  });

  it('429 on a chunk: UF_RATE_LIMITED with Retry-After, the checkpoint kept, and the retry continues the session', async () => {
    const file = await writeRandomFile(dir, 'busy.mp4', 9 * MiB);
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ endpoint: 'upload_session/append_v2', rateLimit: 'too_many_write_operations', retryAfterSeconds: 7 }]);
    const error = (await failureOf(run(destination('renders/busy.mp4'), file, { checkpoint }))) as FleetError;
    expect({ code: error.code, category: error.category, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 7000 });
    expect(checkpoint.state).toMatchObject({ offset: CHUNK });

    first = fake.requests.length;
    await run(destination('renders/busy.mp4'), file, { checkpoint });
    expect(endpoints()).toEqual(['upload_session/append_v2', 'upload_session/finish']);
    expectStored('/renders/busy.mp4', file);
  });
});

// ---- tokens ------------------------------------------------------------------------------

describe('tokens', () => {
  it('auth_secret: a rejected token is refreshed once (rejectedToken) and the request sent again', async () => {
    fake.addToken('sl.old');
    fake.expireToken('sl.old');
    fake.addToken('sl.new');
    const credentials = credentialDouble((rejected) => (rejected === 'sl.old' ? 'sl.new' : 'sl.old'));
    const file = await writeRandomFile(dir, 'secret.mp4', 9 * MiB);
    await run(destination('renders/secret.mp4', { auth_secret: 'secret-1' }), file, { credentials: credentials.provider });

    expect(credentials.calls).toEqual([
      ['dropbox', 'secret-1', undefined],
      ['dropbox', 'secret-1', 'sl.old'],
    ]);
    expect(requests().map((r) => [r.endpoint, r.token, r.status])).toEqual([
      ['upload_session/start', 'sl.old', 401],
      ['upload_session/start', 'sl.new', 200],
      ['upload_session/append_v2', 'sl.new', 200],
      ['upload_session/finish', 'sl.new', 200],
    ]);
    expectStored('/renders/secret.mp4', file);
  });

  it('auth_secret: a token rejected again after the refresh is UF_RECONNECT_REQUIRED, after exactly one refresh', async () => {
    fake.addToken('sl.revoked');
    fake.expireToken('sl.revoked');
    const credentials = credentialDouble(() => 'sl.revoked');
    const file = await writeRandomFile(dir, 'revoked.mp4', 1000);
    const error = (await failureOf(run(destination('renders/revoked.mp4', { auth_secret: 'secret-2' }), file, { credentials: credentials.provider }))) as FleetError;
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(credentials.calls).toHaveLength(2);
    expect(endpoints()).toEqual(['upload', 'upload']);
    expect(fake.file('/renders/revoked.mp4')).toBeUndefined();
  });

  it('inline oauth_token rejected: UF_RECONNECT_REQUIRED at once, nothing refreshed', async () => {
    fake.addToken('sl.inline-expired');
    fake.expireToken('sl.inline-expired');
    const file = await writeRandomFile(dir, 'inline.mp4', 1000);
    const error = (await failureOf(run(destination('renders/inline.mp4', { oauth_token: 'sl.inline-expired' }), file))) as FleetError;
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(error.message).toMatch(/oauth_token \(expired_access_token\)/);
    expect(error.message).not.toContain('sl.inline-expired');
    expect(endpoints()).toEqual(['upload']);
  });

  it('when both are given, auth_secret is used (as in the fleet\'s per-account key)', async () => {
    const credentials = credentialDouble(() => fake.token);
    const file = await writeRandomFile(dir, 'both.mp4', 1000);
    await run(destination('renders/both.mp4', { oauth_token: 'sl.unused', auth_secret: 'secret-3' }), file, { credentials: credentials.provider });
    expect(credentials.calls).toHaveLength(1);
    expect(requests()[0]?.token).toBe(fake.token);
  });
});

// ---- other failures ----------------------------------------------------------------------

describe('other failures', () => {
  it('a full account fails the finish of a session with a permanent error that says so', async () => {
    fake.setQuota(MiB);
    const file = await writeRandomFile(dir, 'full.mp4', 9 * MiB);
    const error = (await failureOf(run(destination('renders/full.mp4'), file))) as FleetError;
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toMatch(/free space/);
    expect(requests().at(-1)?.errorSummary).toBe('path/insufficient_space');
  });

  it('a source that ends before its announced size fails with UF_SOURCE_CHANGED', async () => {
    const file = await writeRandomFile(dir, 'short.mp4', 5 * MiB);
    const source: UploadSource = { ...fileSource(file), size: 9 * MiB };
    const error = (await failureOf(run(destination('renders/short.mp4'), file, { source }))) as FleetError;
    expect(error.code).toBe('UF_SOURCE_CHANGED');
    expect(fake.file('/renders/short.mp4')).toBeUndefined();
  });

  it('an abort before the start sends nothing', async () => {
    const file = await writeRandomFile(dir, 'early.mp4', 1000);
    const controller = new AbortController();
    controller.abort('shutdown');
    const error = (await failureOf(run(destination('renders/early.mp4'), file, { signal: controller.signal }))) as FleetError;
    expect(error.code).toBe('UF_ABORTED');
    expect(endpoints()).toEqual([]);
  });
});

// ---- the fake itself ---------------------------------------------------------------------

describe('the Dropbox fake checks what Dropbox checks', () => {
  const post = (endpoint: string, arg: unknown, body: Uint8Array | AsyncIterable<Uint8Array> = new Uint8Array(0), headers: Record<string, string> = {}) =>
    fetch(`${fake.contentBaseUrl}/files/${endpoint}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fake.token}`,
        'content-type': 'application/octet-stream',
        ...(arg === undefined ? {} : { 'dropbox-api-arg': typeof arg === 'string' ? arg : JSON.stringify(arg) }),
        ...headers,
      },
      body: body as RequestInit['body'],
      duplex: 'half',
    } as RequestInit);

  it('counts a second file when a commit in add mode with autorename meets different content', async () => {
    const path = '/renders/counted/a.mp4';
    expect((await post('upload', { path, mode: 'add', autorename: true }, Buffer.from('one'))).status).toBe(200);
    const second = await post('upload', { path, mode: 'add', autorename: true }, Buffer.from('two'));
    expect(((await second.json()) as { path_display: string }).path_display).toBe('/renders/counted/a (1).mp4');
    expect(fake.filesCreated(path)).toBe(2);
    // Without autorename: a conflict, in Dropbox's format.
    const third = await post('upload', { path, mode: 'add', autorename: false }, Buffer.from('three'));
    expect(third.status).toBe(409);
    expect(((await third.json()) as { error: unknown }).error).toMatchObject({ '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } } });
  });

  it('refuses what Dropbox refuses: no Bearer token, another Content-Type, raw non-ASCII in Dropbox-API-Arg, a wrong content_hash', async () => {
    const arg = { path: '/renders/refused.mp4' };
    expect((await post('upload', arg, undefined, { authorization: '' })).status).toBe(400);
    expect((await post('upload', arg, undefined, { authorization: 'Bearer sl.nobody' })).status).toBe(401);
    expect((await post('upload', arg, undefined, { 'content-type': 'video/mp4' })).status).toBe(400);
    const raw = await fetch(`${fake.contentBaseUrl}/files/upload`, {
      method: 'POST',
      headers: [
        ['authorization', `Bearer ${fake.token}`],
        ['content-type', 'application/octet-stream'],
        ['dropbox-api-arg', Buffer.from('{"path":"/Grüße.mp4"}', 'utf8').toString('latin1')],
      ],
      body: '',
    });
    expect(raw.status).toBe(400);
    const mismatch = await post('upload', { ...arg, content_hash: dropboxContentHash(Buffer.from('other')) }, Buffer.from('data'));
    expect(mismatch.status).toBe(409);
    expect(((await mismatch.json()) as { error_summary: string }).error_summary).toMatch(/^content_hash_mismatch\/\.+$/);
    expect(fake.file('/renders/refused.mp4')).toBeUndefined();
  });

  it('refuses more than 150 MiB in one request (payload_too_large)', async () => {
    const body = async function* () {
      const piece = Buffer.alloc(MiB);
      for (let i = 0; i < 151; i += 1) yield piece;
    };
    const answer = await post('upload', { path: '/renders/too-big.mp4' }, body());
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as { error: unknown }).error).toEqual({ '.tag': 'payload_too_large' });
  });
});
