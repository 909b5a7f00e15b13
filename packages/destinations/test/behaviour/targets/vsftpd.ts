import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ftpDestinationSchema } from '../../../src/ftp/definition.js';
import { startVsftpd, vsftpdUnavailable } from '@upload-fleet/testkit';
import { createFtpAdapter } from '../../../src/ftp/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';
import { storedFile, freePort } from './ftp.js';

/**
 * The FTP destination against Debian's vsftpd (the testkit's `startVsftpd`: anonymous
 * uploads, counted and throttled by forwarders in front of it).
 *
 * `skipReason`: why this target cannot run here, or undefined when it can. The suite should
 * skip the target with this message (console.warn plus a skipped describe) instead of failing.
 */
export const skipReason: string | undefined = vsftpdUnavailable;

/** Thrown by createTarget when skipReason is set. */
export class TargetUnavailableError extends Error {
  override readonly name = 'TargetUnavailableError';
}

export async function createTarget(): Promise<BehaviourTarget> {
  if (skipReason) {
    console.warn(`[behaviour] skipping the vsftpd target: ${skipReason}`);
    throw new TargetUnavailableError(skipReason);
  }
  const server = await startVsftpd();
  const adapter = createFtpAdapter({ timeoutMs: 10_000 });
  const destination = (name: string, overrides: Record<string, unknown> = {}) =>
    ftpDestinationSchema.parse({ type: 'ftp', host: server.host, filename: `/${server.uploadFolder}/${name}`, ...overrides });
  return {
    type: 'ftp',
    resumable: true,
    adapter: adapter as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => storedFile(join(server.root, server.uploadFolder, name)),
    bytesReceived: () => server.meter.bytes,
    throttle: (bytesPerSecond) => server.meter.setRate(bytesPerSecond),
    workerEnv: () => ({}),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await freePort();
      const held: Socket[] = [];
      return [
        { name: 'a user on an anonymous-only server (530)', destination: destination('e530.mp4', { user: 'bob', password: 'pw' }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'a folder it may not write to (553)', destination: destination('x', { filename: `/${server.lockedFolder}/e553.mp4` }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
        {
          name: 'a folder it may not create (550)',
          destination: destination('x', { filename: `/${server.lockedFolder}/new/e550.mp4` }),
          code: 'UF_PERMISSION_DENIED',
          category: 'permanent',
        },
        {
          name: 'too many connections from one address (421)',
          destination: destination('e421.mp4'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: async () => {
            for (let i = 0; i < server.maxPerIp; i += 1) held.push(await idleSession(server.host));
          },
        },
        {
          name: 'closed port',
          destination: destination('closed.mp4', { host: `127.0.0.1:${closedPort}` }),
          code: 'UF_NETWORK',
          category: 'transient',
          before: () => held.splice(0).forEach((socket) => socket.destroy()),
        },
      ];
    },
    close: () => server.close(),
  };
}

/** A control connection that got its greeting and then says nothing. */
function idleSession(host: string): Promise<Socket> {
  const [address, port] = host.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), address);
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
  });
}
