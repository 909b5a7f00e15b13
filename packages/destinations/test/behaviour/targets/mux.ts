import type { Destination } from '@upload-fleet/destinations/definitions';
import { MUX_FAKE_TOKEN_ID, MUX_FAKE_TOKEN_SECRET, startMuxFake } from '@upload-fleet/testkit';
import { muxDestinationSchema } from '../../../src/mux/definition.js';
import { createMuxAdapter } from '../../../src/mux/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The Mux adapter against the testkit's protocol fake (API plus the GCS-style resumable
 * upload URL). A "name" is the asset's `passthrough` (the suite's names fit Mux's 255
 * characters); what is stored under it is the newest asset with that passthrough.
 * Overwriting makes a second asset, as on Mux, and the newest one is what `stored` reports.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const fake = await startMuxFake({ assetCreatedAfterMs: 20, assetReadyAfterMs: 50 });
  const settings = { apiBaseUrl: fake.apiBaseUrl, assetWaitMs: 10_000, pollIntervalMs: 25 };
  const destination = (name: string, fields: Record<string, unknown> = {}): Destination =>
    muxDestinationSchema.parse({ type: 'mux', token_id: MUX_FAKE_TOKEN_ID, token_secret: MUX_FAKE_TOKEN_SECRET, passthrough: name, ...fields });
  return {
    type: 'mux',
    resumable: true,
    adapter: createMuxAdapter(settings),
    destination: (name) => destination(name),
    async stored(name) {
      const asset = fake.assetByPassthrough(name);
      return asset && { size: asset.size, sha256: asset.sha256 };
    },
    copies: async (name) => fake.assets.filter((asset) => asset.passthrough === name).length,
    bytesReceived: () => fake.bytesReceived,
    throttle: (bytesPerSecond) => fake.throttle(bytesPerSecond),
    workerEnv: () => ({ MUX_API_BASE_URL: fake.apiBaseUrl, MUX_POLL_INTERVAL_MS: '25' }),
    async errorCases(): Promise<ErrorCase[]> {
      const faults = (...list: Parameters<typeof fake.setFaults>[0]) => () => fake.setFaults(list);
      return [
        {
          name: '401 for a token secret Mux does not know',
          destination: destination('e-401', { token_secret: 'not-the-secret' }),
          code: 'UF_CREDENTIALS_INVALID',
          category: 'permanent',
          before: faults(),
        },
        {
          name: '400 invalid_parameters from the create-upload request',
          destination: destination('e-400'),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
          before: faults({ step: 'create', status: 400, type: 'invalid_parameters', messages: ['new_asset_settings.mp4_support is invalid'] }),
        },
        {
          name: '429 (rate limited: about one POST a second per account)',
          destination: destination('e-429'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: faults({ step: 'create', status: 429, type: 'too_many_requests', messages: ['Too many requests'] }),
        },
        {
          // More resets than the chunk loop rides out within one attempt.
          name: 'connection reset during every chunk',
          destination: destination('e-reset'),
          code: 'UF_NETWORK',
          category: 'transient',
          before: faults({ step: 'chunk', dropAfterBytes: 10, times: 10 }),
        },
        {
          name: '503 from the API',
          destination: destination('e-503'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          // The last case: it consumes its only fault, so the server is clean afterwards.
          before: faults({ step: 'create', status: 503, type: 'service_unavailable', messages: ['Service unavailable'] }),
        },
      ];
    },
    close: () => fake.close(),
  };
}
