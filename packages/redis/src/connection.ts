import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { hasHashTag } from '@upload-fleet/core';

/**
 * The one place that turns configuration into an ioredis connection: a single server
 * (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES) or a Sentinel-managed primary
 * (REDIS_SENTINELS + REDIS_SENTINEL_NAME). Every process (API, worker, `pnpm start`)
 * builds its connection here, so they agree on the options BullMQ needs (workers:
 * `maxRetriesPerRequest: null`; the API fails fast instead, see RedisRole) and on the
 * rules for a cluster prefix.
 *
 * On a cluster every key of one BullMQ queue must hash to one slot (its Lua scripts touch
 * several keys at once: https://docs.bullmq.io/guide/going-to-production#redis-cluster).
 * The fleet tags the keys itself (@upload-fleet/core KeyLayout): each pool's queue its own
 * tag, each delivery record, credential and limit key its own, so they spread over the
 * masters. A prefix that carries a hash tag (`{upload-fleet}`) keeps the single-slot layout
 * of earlier versions, all keys on one master.
 */

/** A connection the fleet works with: a single server (or Sentinel primary) or a cluster. */
export type RedisConnection = Redis | Cluster;

export interface RedisConnectionConfig {
  /** `redis://` or `rediss://` URL of one server; may carry user, password and db. */
  url?: string;
  /** Seed nodes of a Redis Cluster, `host:port` each; the client discovers the rest. */
  cluster?: string[];
  /** Sentinels, `host:port` each; with `sentinelName`, the primary they agree on. */
  sentinels?: string[];
  /** The Sentinel master group name (`sentinel monitor <name> ...`). */
  sentinelName?: string;
  /** Password of the sentinels themselves, when they have one (`requirepass` on the sentinels). */
  sentinelPassword?: string;
  /** TLS to the servers (and to the sentinels). `rediss://` URLs turn it on by themselves. */
  tls?: boolean;
  /** ACL user and password, for the cluster and Sentinel forms (a URL carries its own). */
  username?: string;
  password?: string;
  /**
   * The key prefix the connection is used with. When given, a cluster connection is
   * refused for a prefix whose braces make no hash tag (clusterPrefixProblem).
   */
  prefix?: string;
}

/** Thrown for a configuration that cannot work; the message says what to set. */
export class RedisConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisConfigError';
  }
}

export { hasHashTag };

/**
 * The problem with a prefix on Redis Cluster, or undefined when it is fine. A plain prefix
 * (`upload-fleet`) gets the spread layout (see @upload-fleet/core KeyLayout), a hash-tagged
 * one (`{upload-fleet}`) the single-slot layout of earlier versions. Braces that make no
 * hash tag (`{open`, `a{}b`) would put keys in slots no one meant: refused.
 */
export function clusterPrefixProblem(prefix: string): string | undefined {
  if (hasHashTag(prefix) || !/[{}]/.test(prefix)) return undefined;
  const suggestion = prefix.replace(/[{}]/g, '') || 'upload-fleet';
  return (
    `the key prefix "${prefix}" has braces that make no hash tag. Set REDIS_PREFIX=${suggestion} ` +
    `(the fleet tags each key by what it belongs to, spreading them over the masters) ` +
    `or REDIS_PREFIX={${suggestion}} to keep every key in one slot as earlier versions did.`
  );
}

/** Which of the three forms a configuration names; throws unless exactly one. */
export function redisMode(config: RedisConnectionConfig): 'single' | 'cluster' | 'sentinel' {
  const modes = [config.url ? 'single' : undefined, config.cluster?.length ? 'cluster' : undefined, config.sentinels?.length ? 'sentinel' : undefined].filter(
    (m): m is 'single' | 'cluster' | 'sentinel' => m !== undefined,
  );
  if (modes.length === 0) throw new RedisConfigError('No Redis is configured: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (with REDIS_SENTINEL_NAME).');
  if (modes.length > 1) throw new RedisConfigError('Set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS: they name different kinds of Redis.');
  return modes[0]!;
}

/**
 * What a connection is for:
 * - `worker` (the default): BullMQ Workers, which block on it. BullMQ requires
 *   `maxRetriesPerRequest: null` for them (it refuses a Worker connection without it):
 *   a worker waits for Redis to come back rather than giving up on a command.
 * - `client`: a process that answers callers (the API). A caller must get an answer while
 *   Redis is away, and a request it was refused must not run later, so commands are never
 *   queued offline (BullMQ's "failing fast when Redis is down" pattern), never resent after
 *   a reconnect, and each has a deadline (CLIENT_COMMAND_TIMEOUT_MS).
 *   https://docs.bullmq.io/patterns/failing-fast-when-redis-is-down
 */
export type RedisRole = 'worker' | 'client';

/** How long a `client` connection waits for the answer to one command. */
export const CLIENT_COMMAND_TIMEOUT_MS = 1_000;

/**
 * How long a `worker` connection to a Redis Cluster keeps retrying a command while a master
 * fails over (its replica promoted after cluster-node-timeout, 15 s by default, plus the
 * election). ioredis retries a command that met a closed node connection or CLUSTERDOWN
 * every `retryDelayOnFailover` / `retryDelayOnClusterDown` ms, but only `maxRedirections`
 * times (16 by default: about 1.6 s), then fails it with "Too many Cluster redirections".
 * A worker whose final-record write failed that way after the destination had the file
 * retried the whole upload: the one reason the failover test saw uploads run twice. With
 * this budget the write waits for the promoted replica instead.
 */
export const CLUSTER_FAILOVER_RIDE_THROUGH_MS = 30_000;
const CLUSTER_RETRY_DELAY_MS = 200;

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  worker: { maxRetriesPerRequest: null },
  client: { maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, commandTimeout: CLIENT_COMMAND_TIMEOUT_MS },
};

/**
 * Opens the connection a configuration describes: an ioredis `Redis` (single server or
 * Sentinel) or `Cluster`, with the options of its role (see RedisRole). Throws
 * RedisConfigError for a configuration that cannot work, before connecting.
 */
export function redisConnectionFromConfig(config: RedisConnectionConfig, role: RedisRole = 'worker'): RedisConnection {
  const mode = redisMode(config);
  const roleOptions = ROLE_OPTIONS[role];
  const credentials: RedisOptions = {
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
  };
  const tls: RedisOptions = config.tls ? { tls: {} } : {};
  switch (mode) {
    case 'single':
      // URL credentials win over REDIS_USERNAME/REDIS_PASSWORD (ioredis reads the URL last).
      return new Redis(config.url!, { ...credentials, ...tls, ...roleOptions });
    case 'sentinel':
      if (!config.sentinelName) throw new RedisConfigError('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: the name of the master group the sentinels monitor.');
      return new Redis({
        sentinels: config.sentinels!.map(parseHostPort),
        name: config.sentinelName,
        ...(config.sentinelPassword ? { sentinelPassword: config.sentinelPassword } : {}),
        ...(config.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
        ...credentials,
        ...tls,
        ...roleOptions,
      });
    case 'cluster': {
      if (config.prefix !== undefined) {
        const problem = clusterPrefixProblem(config.prefix);
        if (problem) throw new RedisConfigError(`Refusing to use Redis Cluster: ${problem}`);
      }
      const options: ClusterOptions = {
        // BullMQ reads maxRetriesPerRequest from redisOptions on a cluster; the offline
        // queue is the cluster client's own option.
        redisOptions: { ...credentials, ...tls, ...roleOptions },
        ...(roleOptions.enableOfflineQueue === false ? { enableOfflineQueue: false } : {}),
        // A worker's commands ride through a master failover (see CLUSTER_FAILOVER_RIDE_THROUGH_MS);
        // the API's keep ioredis's defaults and fail fast.
        ...(role === 'worker'
          ? {
              retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
              retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
              retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
              maxRedirections: Math.ceil(CLUSTER_FAILOVER_RIDE_THROUGH_MS / CLUSTER_RETRY_DELAY_MS),
            }
          : {}),
        // Managed TLS clusters (ElastiCache) answer node addresses that must not be
        // re-resolved, or the certificate's name no longer matches (ioredis README).
        ...(config.tls ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) } : {}),
      };
      return new Cluster(config.cluster!.map(parseHostPort), options);
    }
  }
}

/** True for a cluster connection. */
export function isCluster(connection: RedisConnection): connection is Cluster {
  return connection.isCluster;
}

/**
 * The connections to every master: one for a single server, each primary of a cluster
 * (waiting until the cluster client has loaded its slot map). Commands that read or
 * change one server's state (CONFIG GET, INFO, SCAN, DBSIZE) must run on each of them;
 * on a Cluster object they would go to one node picked at random.
 */
export async function masterNodes(connection: RedisConnection): Promise<Redis[]> {
  if (!isCluster(connection)) return [connection];
  if (connection.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        connection.off('end', onEnd);
        resolve();
      };
      const onEnd = () => {
        connection.off('ready', onReady);
        reject(new Error('The Redis Cluster connection ended before it was ready.'));
      };
      connection.once('ready', onReady);
      connection.once('end', onEnd);
      if (connection.status === 'wait') connection.connect().catch(() => undefined);
    });
  }
  return connection.nodes('master');
}

/** Parses `host:port` or `[ipv6]:port`. */
export function parseHostPort(entry: string): { host: string; port: number } {
  const text = entry.trim();
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || !(port >= 1 && port <= 65535)) throw new RedisConfigError(`"${entry}" is not host:port (like "10.0.0.5:6379")`);
  return { host: match[1]!, port };
}

/** Where a connection goes, for logs and messages: never a password. */
export function describeRedis(config: RedisConnectionConfig): string {
  if (config.cluster?.length) return `Redis Cluster ${config.cluster.join(',')}`;
  if (config.sentinels?.length) return `Redis Sentinel ${config.sentinels.join(',')} (master "${config.sentinelName ?? '?'}")`;
  if (config.url) {
    try {
      const url = new URL(config.url);
      if (url.password) url.password = '***';
      return url.toString();
    } catch {
      return 'an invalid REDIS_URL';
    }
  }
  return 'no Redis';
}
