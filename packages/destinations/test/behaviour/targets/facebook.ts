import { facebookDestinationSchema } from '../../../src/facebook/definition.js';
import { fakeGraphErrors, startFakeGraph } from '@upload-fleet/testkit';
import { defaultDestinationsConfig } from '../../../src/definitions.js';
import { createFacebookAdapter } from '../../../src/facebook/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

const API_VERSION = 'v21.0';

/**
 * The Facebook destination against the testkit's Graph fake; a file is stored under its
 * video title. Graph refuses videos under 1 KB (subcode 1363022), and the shared suite
 * uploads a 0-byte and a 1000-byte file, so this target lowers the fake's minimum to 0;
 * test/facebook.test.ts checks the real minimum is classified as a permanent refusal.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const graph = await startFakeGraph({ minFileSize: 0 });
  const destination = (name: string) =>
    facebookDestinationSchema.parse({
      type: 'facebook',
      title: name,
      description: `Rendered: ${name}`,
      oauth_access_token: graph.token,
      endpoint: graph.url,
    });
  return {
    type: 'facebook',
    resumable: true,
    adapter: createFacebookAdapter({ ...defaultDestinationsConfig().facebook, apiVersion: API_VERSION }),
    destination,
    async stored(name) {
      const video = graph.videos.filter((v) => v.params.title === name).at(-1);
      return video && { size: video.size, sha256: video.sha256 };
    },
    copies: async (name) => graph.videos.filter((video) => video.params.title === name).length,
    bytesReceived: () => graph.bytesReceived(),
    throttle: (bytesPerSecond) => graph.setThrottle(bytesPerSecond),
    workerEnv: () => ({ FACEBOOK_API_VERSION: API_VERSION }),
    async errorCases(): Promise<ErrorCase[]> {
      const failWith = (...faults: Parameters<typeof graph.setFaults>[0]) => () => graph.setFaults(faults);
      return [
        { name: 'OAuth 190 at start', destination: destination('e190'), code: 'UF_RECONNECT_REQUIRED', category: 'auth', before: failWith(fakeGraphErrors.invalidToken('start')) },
        { name: 'app throttled (4) on a chunk', destination: destination('e4'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: failWith(fakeGraphErrors.appThrottled('transfer')) },
        { name: 'Page throttled (32) at finish', destination: destination('e32'), code: 'UF_RATE_LIMITED', category: 'rate_limited', before: failWith(fakeGraphErrors.pageThrottled(12, 'finish')) },
        { name: 'transient 500 (code 2)', destination: destination('e500'), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', before: failWith(fakeGraphErrors.serviceUnavailable('transfer')) },
        { name: '502 from a proxy, not Graph', destination: destination('e502'), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', before: failWith({ status: 502, body: '<html>Bad Gateway</html>' }) },
        { name: 'invalid parameter (100)', destination: destination('e100'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', before: failWith(fakeGraphErrors.invalidParameter('(#100) Invalid parameter', 'finish')) },
        { name: 'permissions (200)', destination: destination('e200'), code: 'UF_PERMISSION_DENIED', category: 'permanent', before: failWith(fakeGraphErrors.permissionDenied('start')) },
        { name: 'connection cut mid-chunk', destination: destination('ereset'), code: 'UF_NETWORK', category: 'transient', before: failWith({ destroyAfterBytes: 10 }) },
      ];
    },
    close: () => graph.close(),
  };
}
