import { join } from 'node:path';
import { sftpDestinationSchema } from '../../../src/sftp/definition.js';
import { freePort, sshdUnavailable, startSshd, storedFile } from '@upload-fleet/testkit';
import { createSftpAdapter } from '../../../src/sftp/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The SFTP destination against Debian's OpenSSH server (the testkit's `startSshd`: its own
 * host key, config and authorized_keys, on a free port, behind a counting forwarder), with
 * key authentication and the host key pinned.
 */
export const skipReason: string | undefined = sshdUnavailable;

export async function createTarget(): Promise<BehaviourTarget> {
  const server = await startSshd();
  const adapter = createSftpAdapter({ timeoutMs: 10_000, requestsInFlight: 64 });
  const destination = (name: string, overrides: Record<string, unknown> = {}) =>
    sftpDestinationSchema.parse({
      type: 'sftp',
      host: server.host,
      filename: join(server.root, name),
      user: server.user,
      private_key: server.privateKey,
      host_key: server.hostKeyFingerprint,
      ...overrides,
    });
  return {
    type: 'sftp',
    resumable: true,
    adapter: adapter as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => storedFile(join(server.root, name)),
    bytesReceived: () => server.meter.bytes,
    throttle: (bytesPerSecond) => server.meter.setRate(bytesPerSecond),
    workerEnv: () => ({}),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await freePort();
      return [
        {
          name: 'another host key than the pinned one',
          destination: destination('hostkey.mp4', { host_key: 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8' }),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
        },
        {
          name: 'a wrong password',
          destination: destination('password.mp4', { private_key: undefined, password: 'not the password' }),
          code: 'UF_CREDENTIALS_INVALID',
          category: 'permanent',
        },
        { name: 'a key not in authorized_keys', destination: destination('key.mp4', { private_key: server.unknownKey }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        {
          name: 'a read-only folder (Permission denied)',
          destination: destination('x', { filename: join(server.readOnlyFolder, 'e.mp4') }),
          code: 'UF_PERMISSION_DENIED',
          category: 'permanent',
        },
        {
          name: 'a folder it may not create (Permission denied)',
          destination: destination('x', { filename: join(server.readOnlyFolder, 'new', 'e.mp4') }),
          code: 'UF_PERMISSION_DENIED',
          category: 'permanent',
        },
        { name: 'closed port', destination: destination('closed.mp4', { host: `127.0.0.1:${closedPort}` }), code: 'UF_NETWORK', category: 'transient' },
      ];
    },
    close: () => server.close(),
  };
}
