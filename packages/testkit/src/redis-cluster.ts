import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { freePort, type RedisConnectionConfig } from '@upload-fleet/redis';

/**
 * A local Redis Cluster of three masters for tests (optionally with one replica each):
 * `redis-server` processes on free ports of 127.0.0.1, each with its own data folder,
 * joined, the masters given an equal share of the 16384 slots.
 *
 * The cluster is formed with CLUSTER ADDSLOTS and CLUSTER MEET over ioredis rather than
 * `redis-cli --cluster create`: it needs no redis-cli (a separate package on some
 * systems), and MEET can name each node's bus port. The bus ports are chosen free
 * (`--cluster-port`, Redis 7+) instead of the default port + 10000, which overflows for
 * the high ports the OS hands out.
 */
export interface TestRedisCluster {
  /** `127.0.0.1:port` of each master: the seed nodes of a client. */
  readonly nodes: string[];
  /** `127.0.0.1:port` of each master's replica (empty without replicas). */
  readonly replicas: string[];
  /**
   * Kills a node's process with SIGKILL (a crash: no save, no hand-over), by its
   * `127.0.0.1:port`; with replicas, the cluster promotes the killed master's replica.
   */
  kill(node: string): void;
  /** Stops a node's process (SIGSTOP) until `resume`: a replica that stops acknowledging, for WAIT. */
  pause(node: string): void;
  resume(node: string): void;
  /** What `redisConnectionFromConfig` takes (add the prefix). */
  readonly config: RedisConnectionConfig;
  /** A new ioredis Cluster client with the options BullMQ needs; the caller closes it. */
  connect(): Cluster;
  /** Stops the servers and removes their data. */
  dispose(): Promise<void>;
}

const SLOTS = 16384;
const NODE_COUNT = 3;

export interface TestRedisClusterOptions {
  redisServerBinary?: string;
  timeoutMs?: number;
  /** How many masters (default 3; 1 for a baseline in benchmarks). */
  masters?: number;
  /** One replica per master (for failover tests). Default false. */
  replicas?: boolean;
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over (default 5000). */
  nodeTimeoutMs?: number;
}

export async function startTestRedisCluster(options: TestRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? NODE_COUNT;
  const nodeCount = masters * (options.replicas ? 2 : 1);
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-cluster-'));
  const children: ChildProcess[] = [];
  const admins: Redis[] = [];
  const dispose = async () => {
    for (const admin of admins) admin.disconnect();
    await Promise.all(children.map((child) => stopChild(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: { port: number; bus: number }[] = [];
    const taken = new Set<number>();
    while (ports.length < nodeCount) {
      const port = await freePort();
      const bus = await freePort();
      if (port === bus || taken.has(port) || taken.has(bus)) continue;
      taken.add(port).add(bus);
      ports.push({ port, bus });
    }
    for (const { port, bus } of ports) {
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const args = [
        '--port', String(port),
        '--cluster-port', String(bus),
        '--bind', '127.0.0.1',
        // A node learns its own address from the nodes it meets; alone (one master) it
        // would report none in CLUSTER SLOTS, and a client could not reach it.
        '--cluster-announce-ip', '127.0.0.1',
        '--dir', nodeDir,
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 5000),
        '--maxmemory-policy', 'noeviction',
        '--save', '',
        '--appendonly', 'no',
        '--protected-mode', 'yes',
      ];
      children.push(await startNode(options.redisServerBinary ?? 'redis-server', args, port));
      const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      admin.on('error', () => undefined);
      admins.push(admin);
    }

    // A third of the slots each; then every node meets the first one (gossip does the rest).
    for (let i = 0; i < masters; i++) {
      const from = Math.floor((SLOTS * i) / masters);
      const to = Math.floor((SLOTS * (i + 1)) / masters) - 1;
      const slots = Array.from({ length: to - from + 1 }, (_, k) => from + k);
      await admins[i]!.call('CLUSTER', 'ADDSLOTS', ...slots.map(String));
    }
    for (let i = 1; i < nodeCount; i++) {
      await admins[i]!.call('CLUSTER', 'MEET', '127.0.0.1', String(ports[0]!.port), String(ports[0]!.bus));
    }
    // Replica i follows master i, once it knows it (gossip from the MEET above).
    for (let i = masters; i < nodeCount; i++) {
      const masterId = String(await admins[i - masters]!.call('CLUSTER', 'MYID'));
      const deadline = Date.now() + (options.timeoutMs ?? 20_000);
      for (;;) {
        try {
          await admins[i]!.call('CLUSTER', 'REPLICATE', masterId);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
    }

    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const states = await Promise.all(
        admins.map(async (admin) => {
          const info = String(await admin.call('CLUSTER', 'INFO'));
          return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${nodeCount}\\b`).test(info) && /cluster_slots_ok:16384\b/.test(info);
        }),
      );
      // With replicas: each one has synced with its master (master_link_status:up).
      const synced = await Promise.all(admins.slice(masters).map(async (admin) => /master_link_status:up/.test(String(await admin.info('replication')))));
      if (states.every(Boolean) && synced.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('The test Redis Cluster did not reach cluster_state:ok in time.');
      await sleep(100);
    }

    const nodes = ports.slice(0, masters).map(({ port }) => `127.0.0.1:${port}`);
    const all = ports.map(({ port }) => `127.0.0.1:${port}`);
    const childOf = (node: string) => {
      const child = children[all.indexOf(node)];
      if (!child) throw new Error(`${node} is not a node of this test cluster`);
      return child;
    };
    const cluster: TestRedisCluster = {
      nodes,
      replicas: all.slice(masters),
      kill: (node) => childOf(node).kill('SIGKILL'),
      pause: (node) => childOf(node).kill('SIGSTOP'),
      resume: (node) => childOf(node).kill('SIGCONT'),
      config: { cluster: nodes },
      connect: () => new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })), { redisOptions: { maxRetriesPerRequest: null } }),
      dispose,
    };
    // A client must see every master before the cluster is handed out.
    const probe = cluster.connect();
    try {
      await probe.set('{probe}:ready', '1', 'EX', 5);
      const seen = probe.nodes('master').length;
      if (seen !== masters) throw new Error(`The test Redis Cluster shows ${seen} masters, not ${masters}.`);
    } finally {
      probe.disconnect();
    }
    return cluster;
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function startNode(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const failed = new Promise<Error>((resolve) => {
    child.once('error', resolve);
    child.once('exit', (code) => resolve(new Error(`redis-server exited with ${code}`)));
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const failure = await Promise.race([failed, sleep(100).then(() => null)]);
    if (failure) throw new Error(`Could not start redis-server in cluster mode on port ${port}: ${failure.message}\n${output}`);
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return child;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server (cluster mode) did not answer on port ${port} within 10 s\n${output}`);
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
}

/**
 * A cluster for a test file, or why there is none: a machine whose redis-server cannot run
 * a cluster skips the file's cluster tests with the reason in their title and a warning,
 * rather than failing them all at import.
 */
export async function startClusterForTests(testFile: string, options: TestRedisClusterOptions = {}): Promise<{ cluster?: TestRedisCluster; unavailable: string }> {
  try {
    return { cluster: await startTestRedisCluster(options), unavailable: '' };
  } catch (error) {
    const unavailable = (error as Error).message.split('\n')[0]!;
    console.warn(`SKIPPED ${testFile}: redis-server cannot start a cluster here (${unavailable})`);
    return { unavailable };
  }
}
