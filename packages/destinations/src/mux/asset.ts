import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, type ScopedLogger } from '@upload-fleet/core';
import type { MuxClient } from './client.js';
import type { MuxSettings } from './definition.js';
import { dataOf } from './direct-upload.js';
import { errorForAnswer } from './errors.js';

/**
 * After the last byte: Mux turns the direct upload into an asset a moment later. The upload
 * (GET /video/v1/uploads/:id) says `asset_created` with the `asset_id`, or `errored`,
 * `cancelled`, `timed_out`; the asset (GET /video/v1/assets/:id) has the playback ids and
 * its own status, `preparing` until it can be played, then `ready` (or `errored`)
 * (https://www.mux.com/docs/api-reference/video/direct-uploads/get-direct-upload,
 * https://www.mux.com/docs/api-reference/video/assets/get-asset). The fleet does not wait
 * for `ready`: encoding can take minutes, and the result reports the status it saw.
 */

export interface MuxAsset {
  id: string;
  status: 'preparing' | 'ready' | 'errored';
  playbackId: string | null;
}

/** Polls the upload until Mux names its asset, for at most `settings.assetWaitMs`. */
export async function waitForAssetId(client: MuxClient, settings: Pick<MuxSettings, 'assetWaitMs' | 'pollIntervalMs'>, uploadId: string, signal: AbortSignal, log: ScopedLogger): Promise<string> {
  const deadline = Date.now() + settings.assetWaitMs;
  for (;;) {
    const answer = await client.api('get-upload', 'GET', `/video/v1/uploads/${encodeURIComponent(uploadId)}`);
    if (answer.status !== 200) throw errorForAnswer(answer, 'get-upload');
    const upload = dataOf(answer) as { status?: unknown; asset_id?: unknown; error?: { type?: unknown; message?: unknown } } | undefined;
    if (typeof upload?.asset_id === 'string' && upload.asset_id) return upload.asset_id;
    if (upload?.status === 'errored') {
      const said = typeof upload.error?.message === 'string' ? `: "${upload.error.message.slice(0, 300)}"` : '';
      const type = typeof upload.error?.type === 'string' ? ` (${upload.error.type})` : '';
      throw new FleetError('UF_DESTINATION_REJECTED', `Mux could not make an asset of the uploaded file${said}${type}. Check that the source is a video or audio file Mux accepts`, { destination: 'mux' });
    }
    if (upload?.status === 'cancelled') {
      throw new FleetError('UF_DESTINATION_REJECTED', 'The Mux direct upload was cancelled (through the API or the dashboard) before its asset was created', { destination: 'mux' });
    }
    if (upload?.status === 'timed_out') {
      throw new FleetError('UF_DESTINATION_UNAVAILABLE', 'The Mux direct upload timed out although its file was sent; the upload starts again', { destination: 'mux' });
    }
    if (Date.now() >= deadline) {
      throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Mux had not created the asset ${Math.round(settings.assetWaitMs / 1000)} s after the upload; the next attempt asks again without sending the file`, { destination: 'mux' });
    }
    log.debug({ upload_id: uploadId, status: upload?.status }, 'waiting for Mux to create the asset');
    try {
      await sleep(settings.pollIntervalMs, undefined, { signal });
    } catch (error) {
      throw new FleetError('UF_ABORTED', 'The upload to Mux was aborted while waiting for the asset; the file is there, the next attempt only asks for the asset', { destination: 'mux', cause: error });
    }
  }
}

/** The asset's status and the playback id of the upload's policy (the first, when several). */
export async function readAsset(client: MuxClient, assetId: string, policy: string): Promise<MuxAsset> {
  const answer = await client.api('get-asset', 'GET', `/video/v1/assets/${encodeURIComponent(assetId)}`);
  if (answer.status !== 200) throw errorForAnswer(answer, 'get-asset');
  const asset = dataOf(answer) as { status?: unknown; playback_ids?: unknown } | undefined;
  const status = asset?.status === 'ready' || asset?.status === 'errored' ? asset.status : 'preparing';
  const ids = Array.isArray(asset?.playback_ids) ? (asset.playback_ids as { id?: unknown; policy?: unknown }[]).filter((p) => typeof p?.id === 'string') : [];
  const chosen = ids.find((p) => p.policy === policy) ?? ids[0];
  return { id: assetId, status, playbackId: chosen ? String(chosen.id) : null };
}
