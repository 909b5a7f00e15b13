/**
 * A Mux delivery end to end: submitted through the HTTP API, run by a real worker process
 * (apps/worker, WORKER_POOLS=mux) against the testkit's Mux fake. Every parameter reaches
 * Mux, the file arrives byte for byte, the status shows the asset and playback id, and the
 * token never appears in what the API answers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUX_FAKE_TOKEN_ID, MUX_FAKE_TOKEN_SECRET, startMuxFake, type MuxFake, type WorkerProcess } from '@upload-fleet/testkit';
import type { DeliveryAccepted } from './server.js';
import { deliveryEnd, postDelivery, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

let h: Harness;
let fake: MuxFake;
let worker: WorkerProcess | undefined;
let dir: string;

beforeAll(async () => {
  h = await startHarness('api-mux');
  fake = await startMuxFake({ assetCreatedAfterMs: 20, assetReadyAfterMs: 60_000 });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-api-mux-'));
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await h?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a Mux delivery through the API', () => {
  it('delivers every parameter and the file byte for byte, and reports the asset and playback id', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(dir, 'welcome.mp4'), bytes);
    const res = await postDelivery(h, {
      source: { path: 'welcome.mp4' },
      upload: {
        extension: 'mp4',
        destination: {
          type: 'mux',
          token_id: MUX_FAKE_TOKEN_ID,
          token_secret: MUX_FAKE_TOKEN_SECRET,
          playback_policy: 'signed',
          passthrough: 'api-order-42',
          mp4_support: 'capped-1080p',
          test: true,
          cors_origin: 'https://app.example.com',
        },
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.body).not.toContain(MUX_FAKE_TOKEN_SECRET);
    const { token } = res.json<DeliveryAccepted>();

    worker = startHarnessWorker(h, 'mux', dir, {
      ALLOWED_PRIVATE_HOSTS: '127.0.0.1,localhost',
      MUX_API_BASE_URL: fake.apiBaseUrl,
      MUX_POLL_INTERVAL_MS: '25',
    });
    const status = await deliveryEnd(h, token, 60_000);

    expect(status.body.state, status.text).toBe('completed');
    expect(status.text).not.toContain(MUX_FAKE_TOKEN_SECRET);
    expect(status.text).not.toContain(MUX_FAKE_TOKEN_ID);
    expect(fake.createBodies).toEqual([
      { cors_origin: 'https://app.example.com', new_asset_settings: { playback_policies: ['signed'], passthrough: 'api-order-42', mp4_support: 'capped-1080p' }, test: true, timeout: 3600 },
    ]);
    const asset = fake.assetByPassthrough('api-order-42')!;
    expect({ size: asset.size, sha256: asset.sha256 }).toEqual({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const playbackId = asset.playbackIds[0]!.id;
    expect(status.body).toMatchObject({
      upload: `https://stream.mux.com/${playbackId}.m3u8`,
      result: { bytes: bytes.length, upload_id: asset.uploadId, asset_id: asset.id, playback_id: playbackId, asset_status: 'preparing' },
    });
  }, 90_000);
});
