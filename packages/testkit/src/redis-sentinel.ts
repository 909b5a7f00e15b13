import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, type RedisConnectionConfig } from '@upload-fleet/redis';

/**
 * A local Sentinel setup for tests: a master, one replica and three sentinels
 * (`redis-server --sentinel`, each with a config file of its own, which Sentinel rewrites),
 * all on free ports of 127.0.0.1. The sentinels agree on a failover with a quorum of 2 and
 * call a master down after `downAfterMs` without an answer.
 */
export interface TestRedisSentinel {
  /** The master group name the sentinels monitor. */
  readonly name: string;
  /** `127.0.0.1:port` of each sentinel (REDIS_SENTINELS). */
  readonly sentinels: string[];
  /** What `redisConnectionFromConfig` takes. */
  readonly config: RedisConnectionConfig;
  /** The port of the server the sentinels call master now. */
  masterPort(): Promise<number>;
  /**
   * Fails the master over, as `mode` says: `command` asks a sentinel (SENTINEL FAILOVER, the
   * orderly switch of maintenance), `kill` SIGKILLs the master (a crash: the sentinels wait
   * `downAfterMs`, then elect the replica). Resolves with the new master's port once the
   * sentinels name it and it accepts writes.
   */
  failover(mode: 'command' | 'kill'): Promise<number>;
  dispose(): Promise<void>;
}

export async function startTestRedisSentinel(options: { name?: string; downAfterMs?: number; redisServerBinary?: string } = {}): Promise<TestRedisSentinel> {
  const name = options.name ?? 'upload-fleet';
  const downAfterMs = options.downAfterMs ?? 1_000;
  const binary = options.redisServerBinary ?? 'redis-server';
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const sentinelChildren: ChildProcess[] = [];
  const dispose = async () => {
    await Promise.all([...sentinelChildren, ...servers.values()].map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    for (const [port, extra] of [[masterPort, []], [replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]]] as const) {
      const dataDir = join(dir, String(port));
      mkdirSync(dataDir);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', ...extra];
      servers.set(port, await startProcess(binary, args, port));
    }
    await until('the replica to be in sync', async () => /master_link_status:up/.test(await info(replicaPort, 'replication')), 15_000);

    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const configFile = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        configFile,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinelChildren.push(await startProcess(binary, [configFile, '--sentinel'], port));
      sentinelPorts.push(port);
    }
    const sentinelAdmin = (port: number) => {
      const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
      admin.on('error', () => undefined);
      return admin;
    };
    // Ready when every sentinel knows the replica and the two others.
    await until('the sentinels to know each other and the replica', async () => {
      const states = await Promise.all(
        sentinelPorts.map(async (port) => {
          const admin = sentinelAdmin(port);
          try {
            const [master] = (await admin.call('SENTINEL', 'MASTERS')) as string[][];
            const fields = fieldsOf(master ?? []);
            return Number(fields['num-slaves']) >= 1 && Number(fields['num-other-sentinels']) >= 2;
          } catch {
            return false;
          } finally {
            admin.disconnect();
          }
        }),
      );
      return states.every(Boolean) || undefined;
    }, 20_000);

    const masterPortNow = async (): Promise<number> => {
      const admin = sentinelAdmin(sentinelPorts[0]!);
      try {
        const [, port] = (await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
        return Number(port);
      } finally {
        admin.disconnect();
      }
    };

    const sentinels = sentinelPorts.map((port) => `127.0.0.1:${port}`);
    return {
      name,
      sentinels,
      config: { sentinels, sentinelName: name },
      masterPort: masterPortNow,
      async failover(mode) {
        const old = await masterPortNow();
        if (mode === 'kill') {
          servers.get(old)?.kill('SIGKILL');
        } else {
          const admin = sentinelAdmin(sentinelPorts[0]!);
          try {
            await admin.call('SENTINEL', 'FAILOVER', name);
          } finally {
            admin.disconnect();
          }
        }
        return until('the sentinels to name a new master that takes writes', async () => {
          const now = await masterPortNow().catch(() => old);
          if (now === old) return undefined;
          return /role:master/.test(await info(now, 'replication').catch(() => '')) ? now : undefined;
        }, 30_000);
      },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

async function info(port: number, section: string): Promise<string> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await probe.info(section);
  } finally {
    probe.disconnect();
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Redis Sentinel: timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function startProcess(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited: string | undefined;
  child.once('error', (error) => (exited = error.message));
  child.once('exit', (code) => (exited ??= `exited with ${code}`));
  try {
    await until(`redis-server on port ${port} to answer`, async () => {
      if (exited) throw new Error(exited);
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' || undefined;
      } finally {
        probe.disconnect();
      }
    }, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`Could not start ${binary} ${args.join(' ')}: ${exited ?? (error as Error).message}\n${output}`, { cause: error });
  }
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
}
