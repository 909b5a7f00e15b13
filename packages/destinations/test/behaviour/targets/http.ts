import { httpDestinationSchema } from '../../../src/http/definition.js';
import { startHttpReceiver } from '@upload-fleet/testkit';
import { httpAdapter } from '../../../src/http/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/** The HTTP destination against the testkit's receiver; files are stored by request path. */
export async function createTarget(): Promise<BehaviourTarget> {
  const receiver = await startHttpReceiver();
  const pathOf = (name: string) => `/store/${encodeURIComponent(name)}`;
  const destination = (name: string) => httpDestinationSchema.parse({ type: 'http', url: `${receiver.url}${pathOf(name)}`, filename: name, method: 'PUT' });
  return {
    type: 'http',
    resumable: false,
    adapter: httpAdapter,
    destination,
    async stored(name) {
      const last = receiver.requests.filter((r) => r.path === pathOf(name) && r.complete).at(-1);
      return last && { size: last.fileSize, sha256: last.sha256 };
    },
    bytesReceived: () => receiver.requests.reduce((sum, r) => sum + r.bodyBytes, 0),
    throttle: (bytesPerSecond) => receiver.setThrottle(bytesPerSecond),
    workerEnv: () => ({}),
    async errorCases(): Promise<ErrorCase[]> {
      const failWith = (status: number, retryAfter?: string) => () => receiver.setFaults([{ status, ...(retryAfter ? { retryAfter } : {}) }]);
      return [
        { name: '400 Bad Request', destination: destination('e400'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', before: failWith(400) },
        { name: '401 Unauthorized', destination: destination('e401'), code: 'UF_CREDENTIALS_INVALID', category: 'permanent', before: failWith(401) },
        { name: '403 Forbidden', destination: destination('e403'), code: 'UF_PERMISSION_DENIED', category: 'permanent', before: failWith(403) },
        { name: '404 Not Found', destination: destination('e404'), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', before: failWith(404) },
        { name: '429 with Retry-After', destination: destination('e429'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: failWith(429, '7') },
        { name: '500 Internal Server Error', destination: destination('e500'), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', before: failWith(500) },
        { name: '503 Service Unavailable', destination: destination('e503'), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', before: failWith(503) },
        { name: 'connection reset mid-body', destination: destination('ereset'), code: 'UF_NETWORK', category: 'transient', before: () => receiver.setFaults([{ destroyAfterBytes: 10 }]) },
      ];
    },
    close: () => receiver.close(),
  };
}
