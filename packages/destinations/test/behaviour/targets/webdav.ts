import { webdavDestinationSchema } from '../../../src/webdav/definition.js';
import { BASIC_PASSWORD, BASIC_USER, apacheWebdavUnavailable, freePort, startApacheWebdav } from '@upload-fleet/testkit';
import { createWebdavAdapter } from '../../../src/webdav/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The WebDAV destination against Debian's Apache httpd with mod_dav (the testkit's
 * `startApacheWebdav`), Basic auth, through a counting and throttling proxy. Apache
 * continues a ranged PUT, so the target is resumable.
 */
export const skipReason: string | undefined = apacheWebdavUnavailable;

export async function createTarget(): Promise<BehaviourTarget> {
  const server = await startApacheWebdav();
  const adapter = createWebdavAdapter({ connectTimeoutMs: 10_000, responseTimeoutMs: 30_000 });
  const destination = (name: string, overrides: Record<string, unknown> = {}) =>
    webdavDestinationSchema.parse({ type: 'webdav', url: `${server.url}/basic/`, filename: name, user: BASIC_USER, password: BASIC_PASSWORD, ...overrides });
  return {
    type: 'webdav',
    resumable: true,
    adapter: adapter as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => server.stored(`/basic/${name}`),
    bytesReceived: () => server.proxy.bytesUp,
    throttle: (bytesPerSecond) => server.proxy.setThrottle(bytesPerSecond),
    workerEnv: () => ({}),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await freePort();
      return [
        { name: 'a wrong password (401)', destination: destination('e401.mp4', { password: 'wrong' }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'no credentials for a protected collection (401)', destination: destination('e401b.mp4', { user: undefined, password: undefined }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'a read-only collection (403)', destination: destination('readonly/e403.mp4'), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
        { name: 'a collection url that does not exist (404)', destination: destination('e404.mp4', { url: `${server.url}/basic/missing/` }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
        {
          name: 'a locked file (423)',
          destination: destination('e423.mp4'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          before: async () => {
            await server.lock('/basic/e423.mp4');
          },
        },
        { name: 'closed port', destination: destination('closed.mp4', { url: `http://127.0.0.1:${closedPort}/basic/` }), code: 'UF_NETWORK', category: 'transient' },
      ];
    },
    close: () => server.close(),
  };
}
