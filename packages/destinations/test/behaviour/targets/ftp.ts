import { join } from 'node:path';
import { ftpDestinationSchema } from '../../../src/ftp/definition.js';
import { REFUSED_FOLDER, startFtpServer, storedFile, freePort } from '@upload-fleet/testkit';
import { createFtpAdapter } from '../../../src/ftp/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

export { Meter, REFUSED_FOLDER, startFtpServer, storedFile, freePort, type FtpServerOptions, type LocalFtpServer } from '@upload-fleet/testkit';
/**
 * The FTP destination against ftp-srv, in this process, on 127.0.0.1. Its file system is
 * the real one under a temporary root, behind a meter that counts and can slow down the
 * bytes written (ftp-srv's documented extension point: a FileSystem subclass per login).
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const server = await startFtpServer({ users: { alice: 'alice-secret' } });
  const adapter = createFtpAdapter({ timeoutMs: 10_000 });
  const destination = (name: string, overrides: Record<string, unknown> = {}) =>
    ftpDestinationSchema.parse({ type: 'ftp', host: server.host, filename: `/${name}`, user: 'alice', password: 'alice-secret', ...overrides });
  return {
    type: 'ftp',
    resumable: true,
    adapter: adapter as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => storedFile(join(server.root, name)),
    bytesReceived: () => server.bytesReceived(),
    throttle: (bytesPerSecond) => server.throttle(bytesPerSecond),
    workerEnv: () => ({}),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await freePort();
      return [
        { name: 'wrong password (530)', destination: destination('e530.mp4', { password: 'wrong' }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'unknown user (530)', destination: destination('e530u.mp4', { user: 'mallory' }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'path the server refuses (550)', destination: destination(`${REFUSED_FOLDER}/e550.mp4`), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
        { name: 'closed port', destination: destination('closed.mp4', { host: `127.0.0.1:${closedPort}` }), code: 'UF_NETWORK', category: 'transient' },
      ];
    },
    close: () => server.close(),
  };
}

/** Writes into this folder (any depth) are refused with 550, as a read-only share would. */
