import { azureBlobDestinationSchema, type AzureBlobDestination } from '../../../src/azureblob/definition.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, startTcpProxy, freePort } from '@upload-fleet/testkit';
import type { DestinationAdapter } from '../../../src/index.js';
import { createAzureBlobAdapter } from '../../../src/azureblob/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

export { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '@upload-fleet/testkit';

/**
 * The Azure Blob destination against azurite's blob service (a child process), behind the
 * testkit's TCP proxy, which counts the bytes uploads send and can slow them down. The
 * adapter reaches azurite path-style through the proxy (`http://127.0.0.1:<port>/{account}`);
 * the target's own checks (`stored`) talk to azurite directly.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const azurite = await startAzurite();
  const proxy = await startTcpProxy(azurite.port);
  const endpoint = `http://127.0.0.1:${proxy.port}/{account}`;
  const container = 'behaviour';
  await azurite.service.getContainerClient(container).create();

  const adapter = createAzureBlobAdapter({ endpoint, blocksInFlight: 4 });
  // The "closed port" case needs an adapter configured for another endpoint (endpoints are
  // operator configuration, not part of a destination): used for exactly one upload.
  let nextAdapter: DestinationAdapter<'azureblob'> | undefined;
  const target: DestinationAdapter<'azureblob'> = {
    type: 'azureblob',
    upload(context) {
      const chosen = nextAdapter ?? adapter;
      nextAdapter = undefined;
      return chosen.upload(context);
    },
  };

  const destination = (name: string, overrides: Partial<AzureBlobDestination> = {}) =>
    azureBlobDestinationSchema.parse({ type: 'azureblob', account: AZURITE_ACCOUNT, key: AZURITE_KEY, container, filename: name, ...overrides });

  return {
    type: 'azureblob',
    resumable: true,
    adapter: target as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => azurite.stored(container, name),
    bytesReceived: () => proxy.bytesUp,
    throttle: (bytesPerSecond) => proxy.setThrottle(bytesPerSecond),
    workerEnv: () => ({ AZURE_BLOB_ENDPOINT: endpoint }),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await freePort();
      const wrongKey = Buffer.alloc(64, 7).toString('base64');
      return [
        // Azurite checks shared-key signatures and answers 403 AuthorizationFailure (Azure: 403 AuthenticationFailed).
        { name: 'wrong key (403)', destination: destination('e403.mp4', { key: wrongKey }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'missing container (404 ContainerNotFound)', destination: destination('e404.mp4', { container: 'no-such-container' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
        {
          name: 'closed port',
          destination: destination('closed.mp4'),
          code: 'UF_NETWORK',
          category: 'transient',
          before: () => {
            nextAdapter = createAzureBlobAdapter({ endpoint: `http://127.0.0.1:${closedPort}/{account}`, blocksInFlight: 4 });
          },
        },
      ];
    },
    async close() {
      await proxy.close();
      await azurite.close();
    },
  };
}

