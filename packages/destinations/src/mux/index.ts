import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { MuxDestination, MuxSettings } from './definition.js';
import { readAsset, waitForAssetId } from './asset.js';
import { MuxClient } from './client.js';
import { sendThroughDirectUpload } from './direct-upload.js';

/**
 * The Mux destination: the file becomes a new Mux Video asset through a direct upload.
 *
 * Read top to bottom:
 * - client.ts         every request: Basic auth for the API, none for the signed upload
 *                     URL, the network guard, abort, timeouts
 * - direct-upload.ts  create the upload, PUT the chunks (a GCS resumable session), status
 *                     queries, expired URLs, the checkpoint
 * - asset.ts          wait for the asset id, read the playback id and status
 * - errors.ts         what Mux's answers mean (401, invalid_parameters, 429, 5xx, ...)
 */

export interface MuxResult extends UploadResult {
  url: string | null;
  bytes: number;
  upload_id: string;
  asset_id: string;
  playback_id: string | null;
  asset_status: 'preparing' | 'ready' | 'errored';
}

export function createMuxAdapter(settings: MuxSettings): DestinationAdapter<'mux'> {
  return { type: 'mux', upload: (context) => upload(settings, context) };
}

async function upload(settings: MuxSettings, context: UploadContext<MuxDestination>): Promise<MuxResult> {
  const { destination, source, signal, log } = context;
  if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to Mux was aborted before it started', { destination: 'mux' });

  const client = new MuxClient(destination, settings, context.network, signal);
  log.info({ bytes: source.size, playback_policy: destination.playback_policy, test: destination.test }, 'uploading to Mux');
  const uploadId = await sendThroughDirectUpload(context, client);
  context.reportProgress(source.size);

  const assetId = await waitForAssetId(client, settings, uploadId, signal, log);
  const asset = await readAsset(client, assetId, destination.playback_policy);
  log.info({ upload_id: uploadId, asset_id: asset.id, asset_status: asset.status }, 'uploaded to Mux');
  return {
    url: asset.playbackId ? `https://stream.mux.com/${asset.playbackId}.m3u8` : null,
    bytes: source.size,
    upload_id: uploadId,
    asset_id: asset.id,
    playback_id: asset.playbackId,
    asset_status: asset.status,
  };
}
