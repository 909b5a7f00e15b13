import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  /**
   * Adopt a redis-server this function started earlier on the same data folder that is
   * still running (its parent was killed), instead of starting a second one on the same
   * files. Recorded in `<dataDir>/embedded-redis.json`.
   */
  adoptRunning?: boolean;
  redisServerBinary?: string;
}

/**
 * Asks the OS for a free TCP port on `host` (bound, then released): for a server to start
 * on, or, in tests, for a "connection refused". The fleet's one free-port helper; the
 * testkit re-exports it.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
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
  const record = join(options.dataDir, 'embedded-redis.json');
  if (options.adoptRunning) {
    const adopted = await adoptRecorded(record);
    if (adopted) return adopted;
  }
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
  // detached: its own process group, so the terminal's Ctrl-C (SIGINT to the foreground
  // group) reaches only the fleet, which drains through this Redis and then stops it last.
  const child: ChildProcess = spawn(options.redisServerBinary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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

  if (options.adoptRunning && child.pid) writeFileSync(record, JSON.stringify({ pid: child.pid, port }));
  return {
    url,
    port,
    async stop() {
      if (options.adoptRunning) rmSync(record, { force: true });
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** The redis-server recorded in `record`, when it still runs and answers; else undefined. */
async function adoptRecorded(record: string): Promise<EmbeddedRedis | undefined> {
  let recorded: { pid: number; port: number };
  try {
    recorded = JSON.parse(readFileSync(record, 'utf8')) as { pid: number; port: number };
    process.kill(recorded.pid, 0);
  } catch {
    return undefined;
  }
  const url = `redis://127.0.0.1:${recorded.port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    if ((await probe.ping()) !== 'PONG') return undefined;
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
  return {
    url,
    port: recorded.port,
    async stop() {
      rmSync(record, { force: true });
      try {
        process.kill(recorded.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(recorded.pid, 0);
        } catch {
          return;
        }
        await sleep(100);
      }
    },
  };
}
