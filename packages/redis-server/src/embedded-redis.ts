import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface EmbeddedRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** Folder for Redis' data (AOF); created if missing. */
  dataDir: string;
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** Keep data across restarts with AOF (the fleet's default); tests turn it off. */
  persist?: boolean;
  redisServerBinary?: string;
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a `redis-server` child process bound to 127.0.0.1, configured the way BullMQ
 * needs it (maxmemory-policy noeviction). Used by `pnpm start` when REDIS_URL is unset and
 * by the test setup.
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  mkdirSync(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', options.dataDir,
    '--maxmemory-policy', 'noeviction',
    '--save', '',
    '--appendonly', options.persist === false ? 'no' : 'yes',
    '--protected-mode', 'yes',
  ];
  const child: ChildProcess = spawn(options.redisServerBinary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const failure = await Promise.race([spawnError.then((e) => e), exited.then((c) => new Error(`redis-server exited with ${c}`)), sleep(100).then(() => null)]);
    if (failure) {
      const hint = (failure as NodeJS.ErrnoException).code === 'ENOENT' ? ' (redis-server is not installed: run scripts/bootstrap, or set REDIS_URL)' : '';
      throw new Error(`Could not start redis-server${hint}: ${failure.message}\n${output}`);
    }
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on port ${port} within 10 s\n${output}`);
    }
  }

  return {
    url,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}
