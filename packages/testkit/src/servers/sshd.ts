import { execFileSync, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Meter } from './ftp-server.js';
import { freePort } from './ports.js';
import { stopProcessGroup, untilReady, greetingOf } from './system-daemon.js';

/** The in-process ssh2 server, for what OpenSSH cannot show (no posix-rename, keyboard-interactive only). */
export * from './ssh2-sftp-server.js';

/**
 * Debian's OpenSSH server (`/usr/sbin/sshd -D -e -f <own config>`), started by a test on a
 * free port of 127.0.0.1 with its own host key, its own authorized_keys and
 * `Subsystem sftp internal-sftp`, never the system service. It authenticates the current
 * user (`os.userInfo().username`), so no system user is created.
 *
 * As root (the test machines and CI), sshd runs in a mount namespace of its own
 * (`unshare -m`, private propagation: nothing is visible outside it):
 * - a tmpfs on /run holds the privilege-separation folder /run/sshd that sshd insists on;
 * - a copy of /etc/shadow, with a password hash of the test's own for the current user,
 *   is bind-mounted over /etc/shadow: real OpenSSH password authentication (UsePAM no reads
 *   the shadow entry) without touching the machine's accounts;
 * - a tiny tmpfs on `fullFolder` fills up for real: ENOSPC, which OpenSSH answers as "Failure".
 * sshd starts through `setpriv` without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
 * CAP_FOWNER, so file permissions bind root's sessions as they bind any account: the 0555
 * `readOnlyFolder` answers "Permission denied".
 *
 * A forwarder on 127.0.0.1 stands in front of sshd: it counts and can slow down the bytes
 * clients send, can hold them back (a stalled connection) and can cut every connection.
 */

const SSHD_PATH = '/usr/sbin/sshd';
const FULL_FOLDER_BYTES = 256 * 1024;
export const SSHD_PASSWORD = 'sftp test password';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => executable(join(dir, command)));
}

/** Why sshd cannot start here, or undefined when it can: targets skip with this message instead of failing. */
export const sshdUnavailable: string | undefined = !executable(SSHD_PATH)
  ? 'openssh-server is not installed (apt-get install -y openssh-server, or scripts/bootstrap)'
  : process.getuid?.() !== 0
    ? 'the sshd test server needs root (a mount namespace of its own for /run/sshd, the test password and the full disk)'
    : !onPath('unshare') || !onPath('setpriv') || !onPath('ssh-keygen') || !onPath('openssl')
      ? 'unshare, setpriv (util-linux), ssh-keygen (openssh-client) and openssl are needed'
      : undefined;

export interface Sshd {
  /** The forwarder, as a destination's host: "127.0.0.1:<port>". */
  host: string;
  /** sshd's own port, without the forwarder. */
  directHost: string;
  /** The account to log in as: the current user. */
  user: string;
  password: string;
  /** OpenSSH-format ed25519 private key, without passphrase, in authorized_keys. */
  privateKey: string;
  /** PEM RSA private key ("BEGIN RSA PRIVATE KEY", encrypted), in authorized_keys; its passphrase below. */
  encryptedPemKey: string;
  passphrase: string;
  /** A key that is NOT in authorized_keys. */
  unknownKey: string;
  /** The host key's fingerprint as ssh-keygen -lf prints it: "SHA256:...". */
  hostKeyFingerprint: string;
  /** A fresh, writable folder for uploads (absolute path on the server, which is this machine). */
  root: string;
  /** Mode 0555: writes are refused. */
  readOnlyFolder: string;
  /** A tmpfs of 256 KiB: larger uploads fail with ENOSPC. */
  fullFolder: string;
  /** Counts (and can pace) the bytes clients send through the forwarder. */
  meter: Meter;
  /** Holds back every byte in both directions until released: a stalled connection. */
  stall(on: boolean): void;
  /** Destroys every connection through the forwarder (a reset mid-upload). */
  cutAll(): void;
  /** What sshd wrote to stderr (-e), for failures. */
  log(): string;
  close(): Promise<void>;
}

export async function startSshd(): Promise<Sshd> {
  if (sshdUnavailable) throw new Error(`sshd cannot start: ${sshdUnavailable}`);
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-sshd-'));
  const user = userInfo().username;
  const keygen = (file: string, ...args: string[]) => execFileSync('ssh-keygen', ['-q', '-f', join(dir, file), '-C', 'upload-fleet-test', ...args], { stdio: 'ignore' });
  keygen('host_key', '-t', 'ed25519', '-N', '');
  keygen('client_ed25519', '-t', 'ed25519', '-N', '');
  const passphrase = 'pem key passphrase';
  keygen('client_rsa', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', passphrase);
  keygen('unknown_ed25519', '-t', 'ed25519', '-N', '');
  writeFileSync(join(dir, 'authorized_keys'), ['client_ed25519.pub', 'client_rsa.pub'].map((f) => readFileSync(join(dir, f), 'utf8')).join(''), { mode: 0o600 });
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;

  // The machine's shadow file with a hash of the test password for this user, seen only by sshd.
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: SSHD_PASSWORD, encoding: 'utf8' }).trim();
  const shadow = readFileSync('/etc/shadow', 'utf8')
    .split('\n')
    .map((line) => {
      const fields = line.split(':');
      if (fields[0] !== user) return line;
      fields[1] = hash;
      // Never expired, whatever the real entry says.
      fields[4] = '';
      fields[7] = '';
      return fields.join(':');
    })
    .join('\n');
  writeFileSync(join(dir, 'shadow'), shadow, { mode: 0o600 });

  const root = join(dir, 'data');
  const readOnlyFolder = join(root, 'readonly');
  const fullFolder = join(root, 'full');
  mkdirSync(root);
  mkdirSync(readOnlyFolder);
  mkdirSync(fullFolder);
  chmodSync(readOnlyFolder, 0o555);

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      'PidFile none',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // The test's files are not in a home folder with the modes StrictModes wants.
      'StrictModes no',
      'UsePAM no',
      `PermitRootLogin ${user === 'root' ? 'yes' : 'no'}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PermitEmptyPasswords no',
      'UseDNS no',
      'Subsystem sftp internal-sftp',
      'ForceCommand internal-sftp',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const script = [
    'set -e',
    'mount -t tmpfs -o size=1m,mode=755 tmpfs /run',
    'mkdir -p /run/sshd',
    `mount --bind "${join(dir, 'shadow')}" /etc/shadow`,
    `mount -t tmpfs -o size=${FULL_FOLDER_BYTES},mode=777 tmpfs "${fullFolder}"`,
    `exec setpriv --bounding-set -dac_override,-dac_read_search,-fowner ${SSHD_PATH} -D -e -f "${config}"`,
  ].join('\n');
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilReady('sshd', child, () => output, async () => {
    const banner = await greetingOf(port, '127.0.0.1');
    return banner === undefined ? undefined : banner.startsWith('SSH-2.0-') || banner;
  });

  const meter = new Meter();
  const forwarder = await forward(port, meter);
  return {
    host: `127.0.0.1:${forwarder.port}`,
    directHost: `127.0.0.1:${port}`,
    user,
    password: SSHD_PASSWORD,
    privateKey: readFileSync(join(dir, 'client_ed25519'), 'utf8'),
    encryptedPemKey: readFileSync(join(dir, 'client_rsa'), 'utf8'),
    passphrase,
    unknownKey: readFileSync(join(dir, 'unknown_ed25519'), 'utf8'),
    hostKeyFingerprint,
    root,
    readOnlyFolder,
    fullFolder,
    meter,
    stall: (on) => forwarder.stall(on),
    cutAll: () => forwarder.cutAll(),
    log: () => output,
    async close() {
      meter.setRate(0);
      await forwarder.close();
      stopProcessGroup(child);
      await Promise.race([exited, sleep(5000)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Forwarder {
  port: number;
  stall(on: boolean): void;
  cutAll(): void;
  close(): Promise<void>;
}

/** 127.0.0.1:<free port> -> sshd: counts and paces client bytes through the meter; can stall and cut. */
async function forward(targetPort: number, meter: Meter): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  let stalled = false;
  const held: (() => void)[] = [];
  const whenFlowing = (send: () => void) => (stalled ? held.push(send) : send());
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      client.pause();
      void meter.take(chunk.length).then(() =>
        whenFlowing(() => {
          meter.bytes += chunk.length;
          upstream.write(chunk, () => client.resume());
        }),
      );
    });
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      whenFlowing(() => client.write(chunk, () => upstream.resume()));
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stall(on) {
      stalled = on;
      if (!on) for (const send of held.splice(0)) send();
    },
    cutAll() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      stalled = false;
      held.splice(0);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
