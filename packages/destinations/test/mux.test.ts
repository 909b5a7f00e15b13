/**
 * The Mux adapter against the testkit's protocol fake: what reaches Mux (every parameter,
 * Basic auth), the resumable PUT across interruptions and attempts (one asset, never two),
 * short Ranges, expired upload URLs, waiting for the asset, and Mux's error answers. The
 * shared behaviour suite (behaviour/targets/mux.ts) covers sizes, names, abort and a
 * worker killed mid-upload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { MUX_FAKE_TOKEN_ID, MUX_FAKE_TOKEN_SECRET, startMuxFake, type MuxFake } from '@upload-fleet/testkit';
import { muxDefinition, muxDestinationSchema, type MuxDestination, type MuxSettings } from '../src/mux/definition.js';
import { CHUNK_BYTES, type MuxCheckpoint } from '../src/mux/direct-upload.js';
import { RATE_LIMIT_RETRY_MS } from '../src/mux/errors.js';
import { createMuxAdapter, type MuxResult } from '../src/mux/index.js';
import type { CheckpointStore } from '../src/index.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const KiB = 1024;
const RESUMABLE_UNIT = 256 * KiB;

let fake: MuxFake;
let dir: string;
let settings: MuxSettings;
let small: SourceFile;
let medium: SourceFile; // three chunks: 8 MiB, 8 MiB and a little

beforeAll(async () => {
  fake = await startMuxFake({ assetCreatedAfterMs: 20, assetReadyAfterMs: 60_000 });
  settings = { apiBaseUrl: fake.apiBaseUrl, assetWaitMs: 5000, pollIntervalMs: 10 };
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-mux-'));
  small = await writeRandomFile(dir, 'small.mp4', 300 * KiB + 7);
  medium = await writeRandomFile(dir, 'medium.mp4', 2 * CHUNK_BYTES + 123_457);
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.throttle(0);
});

function destination(fields: Record<string, unknown> = {}): MuxDestination {
  return muxDestinationSchema.parse({ type: 'mux', token_id: MUX_FAKE_TOKEN_ID, token_secret: MUX_FAKE_TOKEN_SECRET, ...fields });
}

interface RunOptions {
  settings?: MuxSettings;
  checkpoint?: CheckpointStore;
  signal?: AbortSignal;
}

function run(dest: MuxDestination, file: SourceFile, options: RunOptions = {}): Promise<MuxResult> {
  const context = testUploadContext(dest, { source: fileSource(file), checkpoint: options.checkpoint, signal: options.signal, secrets: [dest.token_id, dest.token_secret] });
  return createMuxAdapter(options.settings ?? settings).upload(context) as Promise<MuxResult>;
}

async function failure(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(() => new Error('the upload succeeded'), (e: unknown) => e);
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

const uploadsBy = (passthrough: string) => fake.uploads.filter((u) => u.newAssetSettings.passthrough === passthrough);

describe('what reaches Mux', () => {
  it('sends every parameter in the create-upload body and reports the asset, its playback id and URL', async () => {
    const result = await run(
      destination({ playback_policy: 'signed', passthrough: 'order-1234', mp4_support: 'audio-only,capped-1080p', test: true, cors_origin: 'https://app.example.com' }),
      small,
    );
    expect(fake.createBodies.at(-1)).toEqual({
      cors_origin: 'https://app.example.com',
      new_asset_settings: { playback_policies: ['signed'], passthrough: 'order-1234', mp4_support: 'audio-only,capped-1080p' },
      test: true,
      timeout: 3600,
    });
    const asset = fake.assetByPassthrough('order-1234')!;
    expect(asset).toMatchObject({ size: small.size, sha256: small.sha256, test: true, mp4Support: 'audio-only,capped-1080p', corsOrigin: 'https://app.example.com' });
    expect(asset.playbackIds).toEqual([{ id: expect.any(String), policy: 'signed' }]);
    expect(result).toEqual({
      url: `https://stream.mux.com/${asset.playbackIds[0]!.id}.m3u8`,
      bytes: small.size,
      upload_id: asset.uploadId,
      asset_id: asset.id,
      playback_id: asset.playbackIds[0]!.id,
      asset_status: 'preparing',
    });
    expect(muxDefinition.result.safeParse(result).success).toBe(true);
  });

  it('leaves out what the destination does not set, and asks for a public playback id by default', async () => {
    await run(destination({ passthrough: 'defaults' }), small);
    expect(fake.createBodies.at(-1)).toEqual({ new_asset_settings: { playback_policies: ['public'], passthrough: 'defaults' }, timeout: 3600 });
  });

  it('reports the asset as ready when Mux has finished it by the time it is read', async () => {
    const quick = await startMuxFake({ assetCreatedAfterMs: 10, assetReadyAfterMs: 0 });
    try {
      const waitForReady = { apiBaseUrl: quick.apiBaseUrl, assetWaitMs: 5000, pollIntervalMs: 50 };
      const result = await run(destination({ passthrough: 'ready' }), small, { settings: waitForReady });
      expect(result.asset_status).toBe('ready');
    } finally {
      await quick.close();
    }
  });

  it('sends chunks of 8 MiB (multiples of 256 KiB) with Content-Range, the last one shorter', async () => {
    await run(destination({ passthrough: 'chunks' }), medium);
    const [upload] = uploadsBy('chunks');
    const ranges = upload!.session.chunks.map((c) => c.contentRange);
    expect(ranges).toEqual([
      `bytes 0-${CHUNK_BYTES - 1}/${medium.size}`,
      `bytes ${CHUNK_BYTES}-${2 * CHUNK_BYTES - 1}/${medium.size}`,
      `bytes ${2 * CHUNK_BYTES}-${medium.size - 1}/${medium.size}`,
    ]);
    expect(CHUNK_BYTES % RESUMABLE_UNIT).toBe(0);
    expect(fake.assetByPassthrough('chunks')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });
});

describe('resuming', () => {
  it('goes on from what the session stored when it kept fewer bytes than were sent', async () => {
    fake.setFaults([{ step: 'chunk', keepBytes: 3 * RESUMABLE_UNIT }]);
    await run(destination({ passthrough: 'short-range' }), medium);
    const [upload] = uploadsBy('short-range');
    expect(upload!.session.chunks[1]!.contentRange).toBe(`bytes ${3 * RESUMABLE_UNIT}-${3 * RESUMABLE_UNIT + CHUNK_BYTES - 1}/${medium.size}`);
    expect(fake.assetByPassthrough('short-range')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it('rides out a connection reset mid-chunk by asking the session where it stands, within the attempt', async () => {
    fake.setFaults([{ step: 'chunk', dropAfterBytes: CHUNK_BYTES / 2, times: 1 }]);
    const before = fake.bytesReceived;
    await run(destination({ passthrough: 'reset' }), medium);
    expect(uploadsBy('reset')).toHaveLength(1);
    expect(fake.assetByPassthrough('reset')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
    expect((fake.bytesReceived - before) / medium.size).toBeLessThan(1.5);
  });

  it('continues the same upload in the next attempt from its checkpoint: one upload, one asset', async () => {
    const checkpoints = memoryCheckpoints();
    fake.throttle(4 * 1024 * 1024);
    const interruption = new AbortController();
    const first = run(destination({ passthrough: 'next-attempt' }), medium, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('the first chunk to be stored', () => ((checkpoints.state as MuxCheckpoint | undefined)?.offset ?? 0) >= CHUNK_BYTES);
    interruption.abort('shutdown');
    expect((await failure(first)).code).toBe('UF_ABORTED');
    fake.throttle(0);
    const saved = checkpoints.state as MuxCheckpoint;
    expect(saved).toMatchObject({ version: 1, upload_id: uploadsBy('next-attempt')[0]!.id, size: medium.size });
    expect(saved.upload_url).toBe(uploadsBy('next-attempt')[0]!.url);

    const creates = fake.requests.filter((r) => r.step === 'create').length;
    const result = await run(destination({ passthrough: 'next-attempt' }), medium, { checkpoint: checkpoints });
    expect(fake.requests.filter((r) => r.step === 'create').length).toBe(creates);
    expect(uploadsBy('next-attempt')).toHaveLength(1);
    expect(fake.assets.filter((a) => a.passthrough === 'next-attempt')).toHaveLength(1);
    expect(result.upload_id).toBe(saved.upload_id);
    // The resumed attempt starts past the first chunk, never at byte 0.
    const resumedRanges = uploadsBy('next-attempt')[0]!.session.chunks.map((c) => c.contentRange);
    expect(resumedRanges.at(-1)).toBe(`bytes ${2 * CHUNK_BYTES}-${medium.size - 1}/${medium.size}`);
    expect(fake.assetByPassthrough('next-attempt')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it.each([404, 410] as const)('creates a new upload when the saved upload URL answers %i (expired)', async (status) => {
    const checkpoints = memoryCheckpoints();
    const name = `expired-${status}`;
    const interruption = new AbortController();
    fake.throttle(4 * 1024 * 1024);
    const first = run(destination({ passthrough: name }), medium, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('the first chunk to be stored', () => ((checkpoints.state as MuxCheckpoint | undefined)?.offset ?? 0) >= CHUNK_BYTES);
    interruption.abort('shutdown');
    await failure(first);
    fake.throttle(0);
    fake.expireUploads(status);

    await run(destination({ passthrough: name }), medium, { checkpoint: checkpoints });
    expect(uploadsBy(name)).toHaveLength(2);
    expect(fake.assets.filter((a) => a.passthrough === name)).toHaveLength(1);
    expect(fake.assetByPassthrough(name)).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it('does not send the file again when an attempt ended while waiting for the asset', async () => {
    const slow = await startMuxFake({ assetCreatedAfterMs: 1500 });
    try {
      const checkpoints = memoryCheckpoints();
      const impatient = { apiBaseUrl: slow.apiBaseUrl, assetWaitMs: 100, pollIntervalMs: 20 };
      const error = await failure(run(destination({ passthrough: 'slow' }), small, { settings: impatient, checkpoint: checkpoints }));
      expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' });
      expect(checkpoints.state).toMatchObject({ uploaded: true });
      const sent = slow.bytesReceived;

      const patient = { ...impatient, assetWaitMs: 10_000 };
      const result = await run(destination({ passthrough: 'slow' }), small, { settings: patient, checkpoint: checkpoints });
      expect(slow.bytesReceived).toBe(sent);
      expect(result.asset_id).toBe(slow.assetByPassthrough('slow')!.id);
    } finally {
      await slow.close();
    }
  });
});

describe('Mux\'s errors', () => {
  it('401: a token Mux does not accept is permanent, and the message says what to check without the secret', async () => {
    const error = await failure(run(destination({ token_secret: 'wrong-secret-value' }), small));
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent', status: 401 });
    expect(error.message).toContain('token_id and token_secret');
    expect(error.message).toContain('unauthorized');
    expect(error.message).not.toContain('wrong-secret-value');
  });

  it('400 invalid_parameters is permanent and quotes Mux\'s messages, which name the parameter', async () => {
    fake.setFaults([{ step: 'create', status: 400, type: 'invalid_parameters', messages: ['new_asset_settings.passthrough is too long'] }]);
    const error = await failure(run(destination(), small));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain('new_asset_settings.passthrough is too long');
    expect(error.message).toContain('invalid_parameters');
  });

  it('429 defers the upload: Retry-After when Mux sends one, a few seconds otherwise', async () => {
    fake.setFaults([{ step: 'create', status: 429, type: 'too_many_requests', messages: ['Too many requests'], headers: { 'retry-after': '7' } }]);
    const withHeader = await failure(run(destination(), small));
    expect({ code: withHeader.code, category: withHeader.category, retryAfterMs: withHeader.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 7000 });

    fake.setFaults([{ step: 'get-upload', status: 429, type: 'too_many_requests', messages: ['Too many requests'] }]);
    const without = await failure(run(destination(), small));
    expect({ code: without.code, retryAfterMs: without.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', retryAfterMs: RATE_LIMIT_RETRY_MS });
  });

  it('5xx on a chunk is transient: the loop asks the session and finishes within the attempt', async () => {
    fake.setFaults([{ step: 'chunk', status: 503, times: 2 }]);
    await run(destination({ passthrough: 'chunk-503' }), medium);
    expect(fake.assetByPassthrough('chunk-503')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it('an upload Mux could not make an asset of (errored) is permanent and says why', async () => {
    fake.failAssetCreation({ type: 'invalid_input', message: 'The file is not a video or audio file Mux can read' });
    try {
      const error = await failure(run(destination({ passthrough: 'not-a-video' }), small));
      expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
      expect(error.message).toContain('The file is not a video or audio file Mux can read');
      expect(error.message).toContain('invalid_input');
      expect(fake.assetByPassthrough('not-a-video')).toBeUndefined();
    } finally {
      fake.failAssetCreation(undefined);
    }
  });

  it('the fake answers like Mux: Basic auth, and invalid_parameters naming the field', async () => {
    const post = (body: unknown, authorization = `Basic ${Buffer.from(`${MUX_FAKE_TOKEN_ID}:${MUX_FAKE_TOKEN_SECRET}`).toString('base64')}`) =>
      fetch(`${fake.apiBaseUrl}/video/v1/uploads`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unauthorized = await post({}, 'Basic bm9ib2R5Om5vdGhpbmc=');
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toEqual({ error: { type: 'unauthorized', messages: [expect.any(String)] } });
    const invalid = await post({ new_asset_settings: { playback_policies: ['everyone'], mp4_support: 'all' } });
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { error: { type: string; messages: string[] } };
    expect(body.error.type).toBe('invalid_parameters');
    expect(body.error.messages.join(' ')).toMatch(/playback_policies/);
    expect(body.error.messages.join(' ')).toMatch(/mp4_support/);
  });
});

describe('the destination schema', () => {
  it.each([
    [{ passthrough: 'x'.repeat(256) }, 'passthrough', '255'],
    [{ mp4_support: 'standard' }, 'mp4_support', 'capped-1080p'],
    [{ playback_policy: 'private' }, 'playback_policy', 'signed'],
    [{ token_secret: '  ' }, 'token_secret', 'token_secret'],
  ])('refuses %j at its field, saying what to write', (fields, path, hint) => {
    const parsed = muxDestinationSchema.safeParse({ type: 'mux', token_id: MUX_FAKE_TOKEN_ID, token_secret: MUX_FAKE_TOKEN_SECRET, ...fields });
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues.find((i) => i.path.join('.') === path);
    expect(issue?.message).toContain(hint);
  });

  it('keys limits by a hash of the token id, never the id itself', () => {
    const key = muxDefinition.limits.key(destination());
    expect(key).toMatch(/^credential:[0-9a-f]{16}$/);
    expect(key).not.toContain(MUX_FAKE_TOKEN_ID);
    expect(muxDefinition.limits.key(destination({ token_id: 'another-token' }))).not.toBe(key);
  });
});
