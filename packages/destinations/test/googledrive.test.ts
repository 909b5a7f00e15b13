/**
 * The Google Drive adapter against the testkit's Drive fake: what reaches Drive (every
 * parameter, shared drives, the fields of the answer), one session and one file across
 * interruptions and attempts, the backoff on rate limits, the storage quota, tokens, and
 * the Drive user behind a token. The shared behaviour suite (behaviour/targets/googledrive.ts)
 * covers sizes, names, abort and a worker killed mid-upload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNetworkGuard, FleetError } from '@upload-fleet/core';
import { DRIVE_FAKE_TOKEN, DRIVE_FAKE_USER, startGoogleDriveFake, type GoogleDriveFake } from '@upload-fleet/testkit';
import { googleDriveDestinationSchema, type GoogleDriveDestination } from '../src/googledrive/definition.js';
import { createGoogleDriveAdapter } from '../src/googledrive/index.js';
import { RATE_LIMIT_MAX_WAIT_MS, type DriveCheckpoint } from '../src/googledrive/checkpoint.js';
import { RESUMABLE_CHUNK_BYTES as CHUNK_BYTES } from '../src/google/resumable-session.js';
import type { CheckpointStore, CredentialProvider } from '../src/index.js';
import { fileSource, memoryCheckpoints, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;
const FOLDER = '1RendersFolder0000000000000000000';
const SHARED_FOLDER = '1SharedRenders000000000000000000';

let fake: GoogleDriveFake;
let dir: string;
let adapter: ReturnType<typeof createGoogleDriveAdapter>;
let small: SourceFile;
let medium: SourceFile; // three chunks: 8 MiB, 8 MiB and a little

beforeAll(async () => {
  fake = await startGoogleDriveFake();
  fake.addFolder(FOLDER, { name: 'Renders' });
  fake.addFolder(SHARED_FOLDER, { name: 'Team renders', driveId: '0ATeamDrive0000000000' });
  adapter = createGoogleDriveAdapter({ apiBaseUrl: fake.apiBaseUrl, uploadBaseUrl: fake.uploadBaseUrl });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-drive-'));
  small = await writeRandomFile(dir, 'small.mp4', 300 * 1024 + 7);
  medium = await writeRandomFile(dir, 'medium.mp4', 2 * CHUNK_BYTES + 123_457);
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.throttle(0);
  fake.setStorageQuota(undefined);
});

function destination(fields: Record<string, unknown> = {}): GoogleDriveDestination {
  return googleDriveDestinationSchema.parse({ type: 'googledrive', filename: 'welcome.mp4', folder_id: FOLDER, oauth_access_token: DRIVE_FAKE_TOKEN, ...fields });
}

function upload(dest: GoogleDriveDestination, file: SourceFile, options: { checkpoint?: CheckpointStore; credentials?: CredentialProvider; signal?: AbortSignal; onProgress?: (bytes: number) => void } = {}) {
  return adapter.upload(testUploadContext(dest, { source: fileSource(file), ...options }));
}

async function errorOf(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

const requestsSince = (index: number) => fake.requests.slice(index);

let renewals = 0;

/** The fleet's CredentialProvider for one auth_secret: `first` at first, then a new token per renewal (accepted by Drive unless told). */
function fleetCredentials(first: string, renewedAccepted = true) {
  const asked: (string | undefined)[] = [];
  const provider: CredentialProvider = {
    async accessToken(providerId, _authSecret, rejectedToken) {
      expect(providerId).toBe('google');
      asked.push(rejectedToken);
      if (rejectedToken === undefined) return first;
      renewals += 1;
      const renewed = `ya29.renewed-${renewals}`;
      if (renewedAccepted) fake.acceptToken(renewed);
      return renewed;
    },
  };
  return { provider, asked };
}

describe('what reaches Drive', () => {
  it('sends every parameter: name, folder, MIME type, description, and asks for the fields of the result', async () => {
    const firstRequest = fake.requests.length;
    const result = await upload(destination({ filename: 'Welcome, Alex!.mp4', mimetype: 'video/quicktime', description: 'A personal welcome.' }), small);
    const file = fake.files.find((f) => f.id === result.file_id)!;
    expect(file).toMatchObject({
      name: 'Welcome, Alex!.mp4',
      parents: [FOLDER],
      mimeType: 'video/quicktime',
      uploadContentType: 'video/quicktime',
      description: 'A personal welcome.',
      size: small.size,
      sha256: small.sha256,
      supportsAllDrives: false,
    });
    expect(result).toEqual({ url: file.webViewLink, bytes: small.size, file_id: file.id, name: 'Welcome, Alex!.mp4', mime_type: 'video/quicktime' });
    const start = requestsSince(firstRequest).find((r) => r.step === 'start')!;
    expect(new URL(start.path, fake.url).searchParams.get('fields')).toBe('id,name,mimeType,size,webViewLink');
  });

  it('without mimetype, the extension\'s type; without folder_id, the root of My Drive', async () => {
    const result = await upload(googleDriveDestinationSchema.parse({ type: 'googledrive', filename: 'root.mp4', oauth_access_token: DRIVE_FAKE_TOKEN }), small);
    expect(fake.files.find((f) => f.id === result.file_id)).toMatchObject({ parents: ['root'], mimeType: 'video/mp4', description: undefined });
  });

  it('shared_drive: true sends supportsAllDrives=true, and the file lands in the shared drive\'s folder', async () => {
    const result = await upload(destination({ folder_id: SHARED_FOLDER, shared_drive: true, filename: 'team.mp4' }), small);
    expect(fake.files.find((f) => f.id === result.file_id)).toMatchObject({ parents: [SHARED_FOLDER], driveId: '0ATeamDrive0000000000', supportsAllDrives: true, sha256: small.sha256 });
  });

  it('a shared drive folder without shared_drive is notFound, naming folder_id and what to set', async () => {
    const error = await errorOf(upload(destination({ folder_id: SHARED_FOLDER }), small));
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', status: 404 });
    expect(error.message).toContain(`folder_id "${SHARED_FOLDER}"`);
    expect(error.message).toContain('shared_drive: true');
    expect(error.message).toContain(`File not found: ${SHARED_FOLDER}`);
  });
});

describe('one session, one file', () => {
  it('after a connection reset mid-chunk, asks the session where it stands and continues it', async () => {
    const firstRequest = fake.requests.length;
    const [sessionsBefore, filesBefore, bytesBefore] = [fake.sessions.length, fake.files.length, fake.bytesReceived];
    fake.setFaults([{ step: 'chunk', keepBytes: CHUNK_BYTES }, { step: 'chunk', dropAfterBytes: 3 * MiB + 1000 }]);
    const result = await upload(destination({ filename: 'reset.mp4' }), medium);
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.files.length - filesBefore).toBe(1);
    expect(fake.fileNamed('reset.mp4')).toMatchObject({ id: result.file_id, size: medium.size, sha256: medium.sha256 });
    const size = medium.size;
    expect(requestsSince(firstRequest).filter((r) => r.step === 'chunk' || r.step === 'status').map((r) => r.contentRange)).toEqual([
      `bytes 0-${CHUNK_BYTES - 1}/${size}`,
      `bytes ${CHUNK_BYTES}-${2 * CHUNK_BYTES - 1}/${size}`, // reset after 3 MiB and a bit
      `bytes */${size}`,
      `bytes ${CHUNK_BYTES + 3 * MiB}-${size - 1}/${size}`,
    ]);
    expect(fake.bytesReceived - bytesBefore).toBeLessThan(size + 4 * MiB);
  });

  it('a worker that died after Drive created the file, before it knew, does not create a second one', async () => {
    const checkpoint = memoryCheckpoints();
    const saves: DriveCheckpoint[] = [];
    const save = checkpoint.save.bind(checkpoint);
    checkpoint.save = async <T,>(state: T) => {
      saves.push(structuredClone(state) as DriveCheckpoint);
      await save(state);
    };
    const finished = await upload(destination({ filename: 'died-after-200.mp4' }), medium, { checkpoint });
    const beforeLastChunk = saves.filter((c) => c.file === undefined).at(-1)!;
    expect(beforeLastChunk.offset).toBeLessThan(medium.size);

    const [filesBefore, firstRequest] = [fake.files.length, fake.requests.length];
    const again = memoryCheckpoints();
    again.state = beforeLastChunk;
    const second = await upload(destination({ filename: 'died-after-200.mp4' }), medium, { checkpoint: again });
    expect(second.file_id).toBe(finished.file_id);
    expect(fake.files.length).toBe(filesBefore);
    expect(requestsSince(firstRequest).map((r) => [r.step, r.status])).toEqual([['status', 200]]);
  });
});

describe('rate limits', () => {
  it('userRateLimitExceeded: deferred with a backoff that doubles while Drive keeps refusing, up to 64 s', async () => {
    const checkpoint = memoryCheckpoints();
    const waits: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      fake.setFaults([{ step: 'start', error: 'userRateLimitExceeded' }]);
      const error = await errorOf(upload(destination({ filename: 'rate.mp4' }), small, { checkpoint }));
      expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code: 'UF_RATE_LIMITED', category: 'rate_limited', status: 403 });
      waits.push(error.retryAfterMs!);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, RATE_LIMIT_MAX_WAIT_MS, RATE_LIMIT_MAX_WAIT_MS]);
    // Once Drive lets it through, the file is uploaded once.
    const result = await upload(destination({ filename: 'rate.mp4' }), small, { checkpoint });
    expect(fake.files.filter((f) => f.name === 'rate.mp4')).toEqual([expect.objectContaining({ id: result.file_id, sha256: small.sha256 })]);
  });

  it('a 429 with Retry-After waits at least that long; progress in between starts the backoff over', async () => {
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ step: 'start', error: 'tooManyRequests', headers: { 'retry-after': '5' } }]);
    expect((await errorOf(upload(destination({ filename: 'retry-after.mp4' }), medium, { checkpoint }))).retryAfterMs).toBe(5000);
    // The next attempt gets a chunk through, then is refused again: the backoff is back at its start.
    fake.setFaults([{ step: 'chunk', keepBytes: CHUNK_BYTES }, { step: 'chunk', error: 'rateLimitExceeded' }]);
    const error = await errorOf(upload(destination({ filename: 'retry-after.mp4' }), medium, { checkpoint }));
    expect({ code: error.code, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', retryAfterMs: 1000 });
    expect(checkpoint.state).toMatchObject({ offset: CHUNK_BYTES, rate_limited: 1 });
  });

  it('dailyLimitExceeded pauses every Drive upload: the Cloud project\'s quota', async () => {
    fake.setFaults([{ step: 'start', error: 'dailyLimitExceeded' }]);
    const error = await errorOf(upload(destination(), small));
    expect({ code: error.code, pauseScope: error.pauseScope }).toEqual({ code: 'UF_RATE_LIMITED', pauseScope: 'destination' });
  });
});

describe('storage quota', () => {
  it('a file larger than the space left fails at once with storageQuotaExceeded, saying what to do; a shared drive does not count', async () => {
    fake.setStorageQuota(small.size - 1);
    const firstRequest = fake.requests.length;
    const error = await errorOf(upload(destination({ filename: 'too-big.mp4' }), small));
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent', status: 403 });
    expect(error.message).toMatch(/storage is full/);
    expect(error.message).toMatch(/Free up space|buy more storage/);
    expect(error.message).toContain('storageQuotaExceeded');
    expect(requestsSince(firstRequest).map((r) => r.step)).toEqual(['start']);
    await expect(upload(destination({ folder_id: SHARED_FOLDER, shared_drive: true, filename: 'shared-big.mp4' }), small)).resolves.toMatchObject({ bytes: small.size });
  });
});

describe('tokens', () => {
  it('auth_secret: a 401 gets one renewed token (naming the rejected one), and the upload succeeds', async () => {
    const firstRequest = fake.requests.length;
    const { provider, asked } = fleetCredentials('ya29.cached-but-expired');
    await upload(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-1', filename: 'auth-secret.mp4' }), small, { credentials: provider });
    expect(asked).toEqual([undefined, 'ya29.cached-but-expired']);
    expect(requestsSince(firstRequest).map((r) => [r.step, r.status])).toEqual([
      ['start', 401],
      ['start', 200],
      ['chunk', 200],
    ]);
    expect(fake.fileNamed('auth-secret.mp4')).toMatchObject({ sha256: small.sha256 });
  });

  it('auth_secret: a token that expires mid-upload is renewed and the same session goes on', async () => {
    const sessionsBefore = fake.sessions.length;
    const { provider, asked } = fleetCredentials(DRIVE_FAKE_TOKEN);
    fake.setFaults([{ step: 'chunk', keepBytes: CHUNK_BYTES }, { step: 'chunk', error: 'authError' }]);
    await upload(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-2', filename: 'expires-mid-upload.mp4' }), medium, { credentials: provider });
    expect(asked).toEqual([undefined, DRIVE_FAKE_TOKEN]);
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.fileNamed('expires-mid-upload.mp4')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it('auth_secret: when the renewed token is refused too, UF_RECONNECT_REQUIRED after exactly one renewal', async () => {
    const { provider, asked } = fleetCredentials('ya29.revoked', false);
    const error = await errorOf(upload(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-3' }), small, { credentials: provider }));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(error.message).toMatch(/Connect the Google Drive account again/);
    expect(asked).toHaveLength(2);
    expect(error.message).not.toContain('fleet-secret-3');
  });

  it('an inline oauth_access_token that Drive refuses: UF_RECONNECT_REQUIRED at once, saying what to do, without the token', async () => {
    const firstRequest = fake.requests.length;
    const error = await errorOf(upload(destination({ oauth_access_token: 'ya29.expired-inline' }), small));
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth', status: 401 });
    expect(error.message).toMatch(/auth_secret/);
    expect(error.message).not.toContain('ya29.expired-inline');
    expect(requestsSince(firstRequest)).toHaveLength(1);
  });
});

describe('the Drive user behind a token (accountOf, for per-user limits)', () => {
  const accountOf = (dest: GoogleDriveDestination, credentials?: CredentialProvider) =>
    adapter.accountOf!({
      destination: dest,
      signal: new AbortController().signal,
      network: createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] }),
      credentials: credentials ?? fleetCredentials('unused').provider,
    });

  it('names the user as drive-user:<permissionId>, through about.get with fields', async () => {
    const firstRequest = fake.requests.length;
    expect(await accountOf(destination())).toBe(`drive-user:${DRIVE_FAKE_USER}`);
    expect(requestsSince(firstRequest).map((r) => [r.step, r.status, new URL(r.path, fake.url).searchParams.get('fields')])).toEqual([['about', 200, 'user(permissionId)']]);
  });

  it('with auth_secret, through the credential provider', async () => {
    const { provider } = fleetCredentials(DRIVE_FAKE_TOKEN);
    expect(await accountOf(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-4' }), provider)).toBe(`drive-user:${DRIVE_FAKE_USER}`);
  });
});

describe('the fake checks what Drive checks', () => {
  it('refuses about.get without fields, and answers files.create with only the default fields when none are asked for', async () => {
    const about = await fetch(`${fake.apiBaseUrl}/about`, { headers: { authorization: `Bearer ${DRIVE_FAKE_TOKEN}` } });
    expect(about.status).toBe(400);
    expect(await about.json()).toMatchObject({ error: { code: 400, errors: [{ reason: 'required' }] } });

    const start = await fetch(`${fake.uploadBaseUrl}/files?uploadType=resumable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DRIVE_FAKE_TOKEN}`, 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-length': '3' },
      body: JSON.stringify({ name: 'plain.txt', mimeType: 'text/plain' }),
    });
    expect(start.status).toBe(200);
    const done = await fetch(start.headers.get('location')!, { method: 'PUT', headers: { authorization: `Bearer ${DRIVE_FAKE_TOKEN}`, 'content-range': 'bytes 0-2/3' }, body: 'abc' });
    expect(done.status).toBe(200);
    expect(Object.keys((await done.json()) as object).sort()).toEqual(['id', 'kind', 'mimeType', 'name']);
  });

  it('refuses a wrong token with 401 in Drive\'s format', async () => {
    const answer = await fetch(`${fake.apiBaseUrl}/about?fields=user`, { headers: { authorization: 'Bearer ya29.wrong' } });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: { code: 401, message: 'Invalid Credentials', errors: [{ reason: 'authError', domain: 'global', location: 'Authorization' }] } });
  });
});
