import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';
import { freePort } from './ports.js';
import { firstExecutable, stopProcessGroup, systemUser, untilReady } from './system-daemon.js';

/**
 * Debian's Apache httpd with mod_dav and mod_dav_fs: a real WebDAV server, started as a
 * child process (`apache2 -DFOREGROUND`) with a ServerRoot and config of its own on a free
 * port, never the system service. The DAV tree lives in a temporary folder:
 *
 *   /basic/            Basic auth (user BASIC_USER)
 *   /basic/readonly/   the same user, but only GET, HEAD, OPTIONS and PROPFIND (others: 403)
 *   /digest/           Digest auth (user DIGEST_USER, realm DIGEST_REALM)
 *   /full/             Basic auth, on a 256 KiB tmpfs (only with `fullDisk`): 507 when full
 *   /basic/range-ignored/  drops a request's Content-Range before mod_dav sees it, as a
 *                      server without partial PUT that ignores the header would
 *   /basic/range-refused/  answers a PUT with Content-Range 400, as RFC 9110 section 14.5
 *                      tells a server without partial PUT to (sabre/dav, so Nextcloud, does)
 *   /basic/no-propfind/  answers PROPFIND 405, as nginx's dav module does
 *
 * Apache refuses to serve as root without `User`/`Group`: its children run as `www-data`
 * (created by Debian's apache2 package), which owns the DAV tree and the lock database.
 * A TCP proxy in front counts and throttles what clients send (`proxy`); `url` goes
 * through it. `apacheWebdavUnavailable` says why it cannot start on this machine.
 */

const APACHE_PATHS = ['/usr/sbin/apache2', '/usr/local/sbin/apache2'];
const MODULES_DIR = '/usr/lib/apache2/modules';
const SERVER_USER = 'www-data';
const MODULES = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authn_core_module', 'mod_authn_core.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['authn_file_module', 'mod_authn_file.so'],
  ['authz_user_module', 'mod_authz_user.so'],
  ['auth_basic_module', 'mod_auth_basic.so'],
  ['auth_digest_module', 'mod_auth_digest.so'],
  ['dav_module', 'mod_dav.so'],
  ['dav_fs_module', 'mod_dav_fs.so'],
  ['headers_module', 'mod_headers.so'],
  ['rewrite_module', 'mod_rewrite.so'],
  ['allowmethods_module', 'mod_allowmethods.so'],
] as const;

export const BASIC_USER = 'alice';
/** A colon and non-ASCII: Basic sends it UTF-8 encoded (RFC 7617), Digest hashes it whole. */
export const BASIC_PASSWORD = 'pä:ss word';
export const DIGEST_USER = 'bob';
export const DIGEST_PASSWORD = 'digest:secret';
export const DIGEST_REALM = 'upload-fleet webdav';

const apachePath = firstExecutable(APACHE_PATHS);
const serverUser = systemUser(SERVER_USER);

/** Why Apache cannot start here, or undefined when it can. */
export const apacheWebdavUnavailable: string | undefined = !apachePath
  ? 'apache2 is not installed (apt-get install -y apache2; scripts/bootstrap does it)'
  : !existsSync(join(MODULES_DIR, 'mod_dav_fs.so'))
    ? `mod_dav_fs is missing from ${MODULES_DIR}`
    : !serverUser
      ? `the system user "${SERVER_USER}" that Apache's children run as does not exist (Debian's apache2 package creates it)`
      : process.getuid?.() !== 0
        ? 'Apache needs to start as root to switch to www-data'
        : undefined;

export interface ApacheWebdavOptions {
  /** Mount a 256 KiB tmpfs at /full (Apache runs in its own mount namespace, `unshare -m`). */
  fullDisk?: boolean;
}

export interface ApacheWebdav {
  /** `http://127.0.0.1:<proxy port>`: Apache through the counting proxy. */
  readonly url: string;
  /** Apache itself, without the proxy. */
  readonly directUrl: string;
  /** The folder Apache serves as `/`. */
  readonly root: string;
  readonly proxy: TcpProxy;
  /** Size and SHA-256 of the file at `path` (a URL path below /, unencoded), or undefined. */
  stored(path: string): Promise<{ size: number; sha256: string } | undefined>;
  /** Takes an exclusive WebDAV write lock (LOCK) on `path` for a minute, as another client would. */
  lock(path: string): Promise<void>;
  /** Apache's error log so far (for failing tests). */
  errorLog(): string;
  close(): Promise<void>;
}

export async function startApacheWebdav(options: ApacheWebdavOptions = {}): Promise<ApacheWebdav> {
  if (apacheWebdavUnavailable) throw new Error(`Apache cannot start: ${apacheWebdavUnavailable}`);
  const user = serverUser!;
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-apache-'));
  // mkdtemp makes 0700 folders: www-data must reach the DAV tree inside.
  chmodSync(dir, 0o755);
  const root = join(dir, 'dav');
  const folders = [root, join(root, 'basic'), join(root, 'basic', 'readonly'), join(root, 'basic', 'range-ignored'), join(root, 'basic', 'range-refused'), join(root, 'basic', 'no-propfind'), join(root, 'digest'), join(root, 'full'), join(dir, 'lock')];
  for (const folder of folders) {
    mkdirSync(folder, { recursive: true });
    chownSync(folder, user.uid, user.gid);
  }
  for (const folder of ['logs', 'run']) mkdirSync(join(dir, folder));

  const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('base64');
  const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
  writeFileSync(join(dir, 'htpasswd'), `${BASIC_USER}:{SHA}${sha1(BASIC_PASSWORD)}\n`);
  writeFileSync(join(dir, 'htdigest'), `${DIGEST_USER}:${DIGEST_REALM}:${md5(`${DIGEST_USER}:${DIGEST_REALM}:${DIGEST_PASSWORD}`)}\n`);

  const port = await freePort();
  const config = join(dir, 'httpd.conf');
  writeFileSync(config, apacheConfig(dir, root, port));

  const command = options.fullDisk
    ? spawn(
        'unshare',
        ['-m', 'sh', '-c', `mount -t tmpfs -o size=256k,uid=${user.uid},gid=${user.gid},mode=0755 tmpfs "$1" && exec "$2" -f "$3" -DFOREGROUND`, 'sh', join(root, 'full'), apachePath!, config],
        { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
      )
    : spawn(apachePath!, ['-f', config, '-DFOREGROUND'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  command.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  command.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => command.once('exit', () => resolve()));
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'logs', 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  try {
    // Any HTTP answer means Apache serves; its status is the configuration's business.
    await untilReady('apache2', command, () => `${output}${errorLog()}`, async () => ((await plainRequest(port, 'OPTIONS', '/', {}).catch(() => undefined)) === undefined ? undefined : true), 15_000);
  } catch (error) {
    stopProcessGroup(command);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const proxy = await startTcpProxy(port);
  const basicAuth = `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`, 'utf8').toString('base64')}`;
  return {
    url: `http://127.0.0.1:${proxy.port}`,
    directUrl: `http://127.0.0.1:${port}`,
    root,
    proxy,
    stored: (path) => storedFile(join(root, ...path.split('/').filter(Boolean))),
    async lock(path) {
      const body = '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>another client</D:owner></D:lockinfo>';
      const status = await plainRequest(port, 'LOCK', encodeURI(path), { authorization: basicAuth, timeout: 'Second-60', 'content-type': 'application/xml; charset=utf-8' }, body);
      if (status !== 200 && status !== 201) throw new Error(`LOCK ${path} answered ${status}`);
    },
    errorLog,
    async close() {
      await proxy.close();
      stopProcessGroup(command);
      await Promise.race([exited, sleep(5000)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function apacheConfig(dir: string, root: string, port: number): string {
  return [
    `ServerRoot "${dir}"`,
    `DefaultRuntimeDir "${join(dir, 'run')}"`,
    `PidFile "${join(dir, 'run', 'httpd.pid')}"`,
    `Listen 127.0.0.1:${port}`,
    'ServerName 127.0.0.1',
    `User ${SERVER_USER}`,
    `Group ${SERVER_USER}`,
    `ErrorLog "${join(dir, 'logs', 'error.log')}"`,
    'LogLevel warn',
    ...MODULES.map(([name, file]) => `LoadModule ${name} ${join(MODULES_DIR, file)}`),
    // Few processes: the machine is shared, and a test never needs many connections.
    'StartServers 1',
    'ServerLimit 2',
    'ThreadsPerChild 16',
    'MaxRequestWorkers 32',
    // Large uploads are throttled by the tests: no limit on how long a body may take.
    'Timeout 120',
    'LimitRequestBody 0',
    `DavLockDB "${join(dir, 'lock', 'DavLock')}"`,
    `DocumentRoot "${root}"`,
    `<Directory "${root}">`,
    '  Dav On',
    '  Options None',
    '  AllowOverride None',
    '  Require all granted',
    '</Directory>',
    `<Directory "${join(root, 'basic')}">`,
    '  AuthType Basic',
    '  AuthName "upload-fleet basic"',
    `  AuthUserFile "${join(dir, 'htpasswd')}"`,
    '  Require valid-user',
    '</Directory>',
    `<Directory "${join(root, 'basic', 'readonly')}">`,
    '  <RequireAll>',
    '    Require valid-user',
    '    Require method GET HEAD OPTIONS PROPFIND',
    '  </RequireAll>',
    '</Directory>',
    `<Directory "${join(root, 'basic', 'range-ignored')}">`,
    '  RequestHeader unset Content-Range',
    '</Directory>',
    `<Directory "${join(root, 'basic', 'no-propfind')}">`,
    '  AllowMethods GET HEAD PUT MKCOL MOVE DELETE OPTIONS',
    '</Directory>',
    'RewriteEngine On',
    'RewriteCond %{REQUEST_METHOD} =PUT',
    'RewriteCond %{HTTP:Content-Range} .',
    'RewriteRule ^/basic/range-refused/ - [R=400,L]',
    `<Directory "${join(root, 'full')}">`,
    '  AuthType Basic',
    '  AuthName "upload-fleet basic"',
    `  AuthUserFile "${join(dir, 'htpasswd')}"`,
    '  Require valid-user',
    '</Directory>',
    `<Directory "${join(root, 'digest')}">`,
    '  AuthType Digest',
    `  AuthName "${DIGEST_REALM}"`,
    '  AuthDigestProvider file',
    `  AuthUserFile "${join(dir, 'htdigest')}"`,
    '  Require valid-user',
    '</Directory>',
    '',
  ].join('\n');
}

function plainRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function storedFile(path: string): Promise<{ size: number; sha256: string } | undefined> {
  if (!existsSync(path) || !statSync(path).isFile()) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { size: statSync(path).size, sha256: hash.digest('hex') };
}

