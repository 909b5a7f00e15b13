import { closeSync, existsSync, fchmodSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, chmodSync, statSync, unlinkSync, writeSync, mkdtempSync, type Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import ssh2, { type Connection, type SFTPWrapper } from 'ssh2';

// ssh2 is CommonJS, and Node's named-export detection finds only its first few exports
// (not Server or utils): the default export is the whole module.
const { Server, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;

/**
 * An SFTP server in this process, on ssh2's own Server class, over a temporary folder of
 * the real file system: for what OpenSSH cannot show. It advertises no extensions (no
 * posix-rename@openssh.com), and its RENAME refuses an existing target, as OpenSSH's
 * link(2)-based RENAME does; it can accept passwords only through keyboard-interactive,
 * as PAM-only servers do. Paths are the client's, resolved under `root`.
 */
export interface Ssh2SftpServerOptions {
  user: string;
  password: string;
  /** Refuse the `password` method and ask for the password as a keyboard-interactive prompt. */
  keyboardInteractiveOnly?: boolean;
}

export interface Ssh2SftpServer {
  host: string;
  root: string;
  /** Every authentication method the clients tried, in order. */
  methods: string[];
  /** The SFTP requests received, by name (OPEN, WRITE, RENAME, REMOVE, ...). */
  requests: string[];
  /** While on, writes are done but not acknowledged (a slow disk): shows how many a client sends unanswered. */
  holdWriteAcks(on: boolean): void;
  close(): Promise<void>;
}

/**
 * An ed25519 host key ssh2 can read back. ssh2's generateKeyPairSync strips every leading
 * zero byte of the public key, so about one key in 256 comes out malformed and `new Server`
 * throws "Malformed OpenSSH private key" (mscdex/ssh2#1390, #1513; seen here as a CI-breaking
 * flake of the SFTP suite). A key that does not parse is simply generated again.
 */
function parsableHostKey(): string {
  for (let attempt = 1; ; attempt += 1) {
    const { private: privateKey, public: publicKey } = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(privateKey) instanceof Error) && !(utils.parseKey(publicKey) instanceof Error)) return privateKey;
    if (attempt >= 20) throw new Error('ssh2 generated 20 ed25519 host keys it cannot parse');
  }
}

export async function startSsh2SftpServer(options: Ssh2SftpServerOptions): Promise<Ssh2SftpServer> {
  const root = mkdtempSync(join(tmpdir(), 'upload-fleet-ssh2-sftp-'));
  const hostKey = parsableHostKey();
  const methods: string[] = [];
  const requests: string[] = [];
  const clients = new Set<Connection>();
  const acks = { held: false, waiting: [] as (() => void)[] };
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      methods.push(ctx.method);
      const interactiveOnly = options.keyboardInteractiveOnly === true;
      if (ctx.username !== options.user) return ctx.reject();
      if (ctx.method === 'password' && !interactiveOnly) return ctx.password === options.password ? ctx.accept() : ctx.reject();
      if (ctx.method === 'keyboard-interactive') {
        return ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => (answers[0] === options.password ? ctx.accept() : ctx.reject()));
      }
      return ctx.reject(interactiveOnly ? ['keyboard-interactive'] : ['password', 'keyboard-interactive']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => serveSftp(acceptSftp(), root, requests, acks));
      });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    root,
    methods,
    requests,
    holdWriteAcks(on) {
      acks.held = on;
      if (!on) for (const ack of acks.waiting.splice(0)) ack();
    },
    async close() {
      acks.held = false;
      acks.waiting.splice(0);
      for (const client of clients) client.end();
      await new Promise<void>((done) => server.close(() => done()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function serveSftp(sftp: SFTPWrapper, root: string, requests: string[], acks: { held: boolean; waiting: (() => void)[] }): void {
  const handles = new Map<number, number>();
  let nextHandle = 1;
  const handleOf = (buffer: Buffer) => handles.get(buffer.readUInt32BE(0));
  const local = (path: string) => {
    const full = resolve(root, `.${resolve('/', path)}`);
    if (full !== root && !full.startsWith(root + sep)) throw Object.assign(new Error('outside the root'), { code: 'EACCES' });
    return full;
  };
  /** Runs a request; an fs error answers with the status OpenSSH would send for its errno. */
  const serve = (name: string, reqid: number, work: () => void) => {
    requests.push(name);
    try {
      work();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const status = code === 'ENOENT' || code === 'ENOTDIR' ? STATUS.NO_SUCH_FILE : code === 'EACCES' || code === 'EPERM' ? STATUS.PERMISSION_DENIED : STATUS.FAILURE;
      sftp.status(reqid, status, (error as Error).message);
    }
  };
  const attrs = (stats: Stats) => ({ mode: stats.mode, uid: stats.uid, gid: stats.gid, size: stats.size, atime: Math.floor(stats.atimeMs / 1000), mtime: Math.floor(stats.mtimeMs / 1000) });

  sftp.on('OPEN', (reqid, filename, flags) =>
    serve('OPEN', reqid, () => {
      const fd = openSync(local(filename), utils.sftp.flagsToString(flags) ?? 'r');
      const id = nextHandle++;
      handles.set(id, fd);
      const handle = Buffer.alloc(4);
      handle.writeUInt32BE(id, 0);
      sftp.handle(reqid, handle);
    }),
  );
  sftp.on('WRITE', (reqid, handle, offset, data) =>
    serve('WRITE', reqid, () => {
      writeSync(handleOf(handle)!, data, 0, data.length, offset);
      const ack = () => sftp.status(reqid, STATUS.OK);
      if (acks.held) acks.waiting.push(ack);
      else ack();
    }),
  );
  sftp.on('CLOSE', (reqid, handle) =>
    serve('CLOSE', reqid, () => {
      closeSync(handleOf(handle)!);
      handles.delete(handle.readUInt32BE(0));
      sftp.status(reqid, STATUS.OK);
    }),
  );
  sftp.on('FSTAT', (reqid, handle) => serve('FSTAT', reqid, () => sftp.attrs(reqid, attrs(fstatSync(handleOf(handle)!)))));
  sftp.on('STAT', (reqid, path) => serve('STAT', reqid, () => sftp.attrs(reqid, attrs(statSync(local(path))))));
  sftp.on('LSTAT', (reqid, path) => serve('LSTAT', reqid, () => sftp.attrs(reqid, attrs(statSync(local(path))))));
  sftp.on('SETSTAT', (reqid, path, given) =>
    serve('SETSTAT', reqid, () => {
      if (given.mode !== undefined) chmodSync(local(path), given.mode);
      sftp.status(reqid, STATUS.OK);
    }),
  );
  sftp.on('FSETSTAT', (reqid, handle, given) =>
    serve('FSETSTAT', reqid, () => {
      if (given.mode !== undefined) fchmodSync(handleOf(handle)!, given.mode);
      sftp.status(reqid, STATUS.OK);
    }),
  );
  sftp.on('MKDIR', (reqid, path) =>
    serve('MKDIR', reqid, () => {
      mkdirSync(local(path));
      sftp.status(reqid, STATUS.OK);
    }),
  );
  // SSH_FXP_RENAME as OpenSSH does it (link, then unlink): an existing target is refused.
  sftp.on('RENAME', (reqid, from, to) =>
    serve('RENAME', reqid, () => {
      if (existsSync(local(to))) throw Object.assign(new Error('Failure'), { code: 'EEXIST' });
      renameSync(local(from), local(to));
      sftp.status(reqid, STATUS.OK);
    }),
  );
  sftp.on('REMOVE', (reqid, path) =>
    serve('REMOVE', reqid, () => {
      unlinkSync(local(path));
      sftp.status(reqid, STATUS.OK);
    }),
  );
}
