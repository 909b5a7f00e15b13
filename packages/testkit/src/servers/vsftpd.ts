import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Meter } from './ftp-server.js';
import { freePort } from './ports.js';
import { firstExecutable, greetingOf, stopProcessGroup, systemUser, untilReady } from './system-daemon.js';

/**
 * Debian's vsftpd, started as a child process with a config file of its own: anonymous
 * uploads into a temporary folder, passive ports in a small range. `vsftpdUnavailable`
 * says why it cannot start on this machine (not installed, not root).
 *
 * Counting and throttling without iptables: vsftpd listens on 127.0.0.2, and small
 * forwarders on 127.0.0.1 stand in front of its control port and of every port of its
 * passive range. The FTP adapter always opens data connections to the control
 * connection's address (it ignores the address in PASV answers), so its data goes through
 * a forwarder, which counts the bytes and can hold them back.
 */

const VSFTPD_PATHS = ['/usr/sbin/vsftpd', '/usr/local/sbin/vsftpd', '/sbin/vsftpd'];
/** Debian's vsftpd package creates this user; anonymous sessions run as it. */
const ANONYMOUS_SYSTEM_USER = 'ftp';
const SERVER_ADDRESS = '127.0.0.2';
const PASV_PORTS = 12;
/** vsftpd's cap on sessions per client address; every session comes from a forwarder on 127.0.0.1. */
const MAX_PER_IP = 6;

const vsftpdPath = firstExecutable(VSFTPD_PATHS);
const ftpUser = systemUser(ANONYMOUS_SYSTEM_USER);

/** Why vsftpd cannot start here, or undefined when it can: tests skip with this message instead of failing. */
export const vsftpdUnavailable: string | undefined = !vsftpdPath
  ? 'vsftpd is not installed (apt-get install -y vsftpd)'
  : !ftpUser
    ? `the system user "${ANONYMOUS_SYSTEM_USER}" that vsftpd's anonymous sessions run as does not exist (Debian's vsftpd package creates it)`
    : process.getuid?.() !== 0
      ? 'vsftpd needs to start as root'
      : undefined;

const UPLOAD_FOLDER = 'pub';
const LOCKED_FOLDER = 'locked';

export interface Vsftpd {
  /** The control forwarder, as a destination's host. */
  host: string;
  /**
   * vsftpd's own control address, as a destination's host: sessions there bypass the
   * forwarders (nothing counted or paced). For measuring clients against vsftpd alone: the
   * forwarders cost their process about 1.6 CPU s per GiB, a core at curl's rate.
   */
  directHost: string;
  /** The anonymous root folder. */
  root: string;
  /** Anonymous uploads may write here (vsftpd refuses a writable anonymous root). */
  uploadFolder: string;
  /** Owned by root: vsftpd refuses to create files in it (553). */
  lockedFolder: string;
  /** vsftpd's cap on sessions per client address (every session comes from a forwarder on 127.0.0.1). */
  maxPerIp: number;
  /** Counts (and can pace) the bytes clients send through the forwarders. */
  meter: Meter;
  close(): Promise<void>;
}

export interface VsftpdOptions {
  /**
   * Where the server's folder (its root, config and log) is made; the system's temporary
   * folder by default. The bench gives a memory file system (/dev/shm), so that what it
   * times is the client and the protocol, not how fast this machine's disk takes the file.
   */
  parentDir?: string;
}

export async function startVsftpd(options: VsftpdOptions = {}): Promise<Vsftpd> {
  if (vsftpdUnavailable) throw new Error(`vsftpd cannot start: ${vsftpdUnavailable}`);
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'upload-fleet-vsftpd-'));
  const root = join(dir, 'root');
  const empty = join(dir, 'empty');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(empty, { mode: 0o755 });
  mkdirSync(join(root, UPLOAD_FOLDER));
  mkdirSync(join(root, LOCKED_FOLDER));
  chownSync(join(root, UPLOAD_FOLDER), ftpUser!.uid, ftpUser!.gid);
  // mkdtemp makes 0700 folders: the anonymous user must be able to reach its root.
  chmodSync(dir, 0o755);

  const meter = new Meter();
  const forwarders: Forwarder[] = [];
  const pasvMin = await freePortRange(PASV_PORTS);
  for (let port = pasvMin; port < pasvMin + PASV_PORTS; port += 1) forwarders.push(await forward(port, port, meter));
  const controlPort = await freePort(SERVER_ADDRESS);
  const control = await forward(0, controlPort);
  forwarders.push(control);

  const config = join(dir, 'vsftpd.conf');
  const logFile = join(dir, 'vsftpd.log');
  writeFileSync(
    config,
    [
      'listen=YES',
      'listen_ipv6=NO',
      `listen_address=${SERVER_ADDRESS}`,
      `listen_port=${controlPort}`,
      'background=NO',
      'anonymous_enable=YES',
      'local_enable=NO',
      'write_enable=YES',
      'anon_upload_enable=YES',
      'anon_mkdir_write_enable=YES',
      // Overwrite, append (APPE), rename and delete: all of an upload's steps.
      'anon_other_write_enable=YES',
      'anon_umask=022',
      `anon_root=${root}`,
      'no_anon_password=YES',
      `ftp_username=${ANONYMOUS_SYSTEM_USER}`,
      'nopriv_user=nobody',
      `secure_chroot_dir=${empty}`,
      `max_per_ip=${MAX_PER_IP}`,
      'pasv_enable=YES',
      `pasv_min_port=${pasvMin}`,
      `pasv_max_port=${pasvMin + PASV_PORTS - 1}`,
      // Containers rarely allow the seccomp filter or new namespaces vsftpd would set up.
      'seccomp_sandbox=NO',
      'isolate=NO',
      'isolate_network=NO',
      'utf8_filesystem=YES',
      'xferlog_enable=NO',
      `vsftpd_log_file=${logFile}`,
      '',
    ].join('\n'),
  );

  const child = spawn(vsftpdPath!, [config], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilReady('vsftpd', child, () => output, async () => {
    const greeting = await greetingOf(controlPort, SERVER_ADDRESS);
    return greeting === undefined ? undefined : greeting.startsWith('220') || greeting;
  });

  return {
    host: `127.0.0.1:${control.port}`,
    directHost: `${SERVER_ADDRESS}:${controlPort}`,
    root,
    uploadFolder: UPLOAD_FOLDER,
    lockedFolder: LOCKED_FOLDER,
    maxPerIp: MAX_PER_IP,
    meter,
    async close() {
      meter.setRate(0);
      stopProcessGroup(child);
      await Promise.race([exited, sleep(5000)]);
      await Promise.all(forwarders.map((f) => f.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Forwarder {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`listenPort` and forwards each connection to the server's
 * `targetPort`; with a meter, counts and paces what clients send.
 */
async function forward(listenPort: number, targetPort: number, meter?: Meter): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, SERVER_ADDRESS);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      if (!meter) {
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
        return;
      }
      client.pause();
      void meter.take(chunk.length).then(() => {
        meter.bytes += chunk.length;
        upstream.write(chunk, () => client.resume());
      });
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `count` consecutive ports free on 127.0.0.1 (for the forwarders) and on the server address. */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 30_000 + Math.floor(Math.random() * 200) * count;
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => (await canListen(base + i, '127.0.0.1')) && (await canListen(base + i, SERVER_ADDRESS))),
    );
    if (results.every(Boolean)) return base;
  }
  throw new Error('no free range of ports for vsftpd\'s passive mode');
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

