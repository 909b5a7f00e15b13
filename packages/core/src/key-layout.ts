import { uploadQueueName, WEBHOOK_QUEUE } from './queues.js';

/**
 * Where every Redis key of the fleet lives, derived from the key prefix (REDIS_PREFIX) and
 * the kind of Redis. The one place that names keys, so the API, the workers, the dashboard
 * and the Helm chart's KEDA triggers agree.
 *
 * Two layouts:
 *
 * - **spread** (a Redis Cluster and a prefix without a hash tag, like `upload-fleet`): each
 *   key is tagged by what it belongs to, so the keys spread over every master. A queue's
 *   keys share the tag of its pool (`{upload-fleet:s3}:upload-s3:wait`), as BullMQ needs:
 *   its scripts touch several keys of one queue, never keys of two queues
 *   (https://docs.bullmq.io/guide/going-to-production#redis-cluster). A pool split into
 *   shards has one queue per shard (`{upload-fleet:s3:1}:upload-s3-1`, ...). A delivery record is
 *   tagged by its token, an idempotency key by its owner and key hash, a checkpoint by its
 *   job, a credential by its id, a limit key by its destination account.
 * - **single-slot** (one server, Sentinel, or a cluster prefix that carries a hash tag like
 *   `{upload-fleet}`): every key under the prefix as before, `<prefix>:upload-s3:wait`,
 *   `<prefix>:delivery:<token>`. On one server tags change nothing, so keeping the old names
 *   keeps every existing deployment's data where it is; on a cluster a hash-tagged prefix
 *   keeps an existing single-slot deployment readable until it is drained (README, Redis
 *   Cluster).
 */
export interface KeyLayout {
  /** The prefix as configured. */
  readonly prefix: string;
  /** True when keys are tagged by what they belong to (see above). */
  readonly spread: boolean;
  /** BullMQ's `prefix` option for the queue of a destination type (shard 0 unless given). */
  queuePrefix(type: string, shard?: number): string;
  /** The BullMQ queue name of a type's shard (`upload-s3`). */
  queueName(type: string, shard?: number): string;
  /** BullMQ's `prefix` option for the webhook queue. */
  webhookQueuePrefix(): string;
  /** `<queue prefix>:<queue name>`: what BullMQ puts before `:wait`, `:active`, ... */
  queueKeyBase(type: string, shard?: number): string;
  /** The delivery record of a token (a hash). */
  record(token: string): string;
  /** An owner's idempotency key (by the key's hash). */
  idempotency(owner: string, keyHash: string): string;
  /** The fleet's list of deliveries, newest first (a sorted set). */
  deliveriesIndex(): string;
  /** One owner's list of deliveries, newest first. */
  ownerIndex(owner: string): string;
  /** The resumable state of an upload job. */
  checkpoint(jobId: string): string;
  /** A credential held by the fleet. */
  credential(id: string): string;
  /** An OAuth connect flow's state (by the state's hash). */
  connectState(stateHash: string): string;
  /** The cached account behind a credential (per destination type). */
  account(type: string, credentialKey: string): string;
  /** What the limit keys of one destination account start with (one tag: one slot). */
  limitBase(type: string, key: string): string;
  /** The pause of a whole destination type. */
  limitTypePause(type: string): string;
  /** SCAN pattern of every limit key. */
  limitPattern(): string;
}

/**
 * True when keys under this prefix share one cluster slot: it holds a hash tag, a `{`
 * followed later by a `}` with at least one character between (Redis ignores `{}`).
 */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}

/** Braces out of a name placed inside a tag: a `}` would end the tag early. */
const tagSafe = (value: string) => value.replace(/[{}]/g, '_');

/**
 * The layout of a prefix: spread on a cluster when the prefix has no hash tag (braces of
 * its own are refused there, see @upload-fleet/redis clusterPrefixProblem), else single-slot.
 */
export function keyLayout(prefix: string, options: { cluster: boolean }): KeyLayout {
  const spread = options.cluster && !hasHashTag(prefix);
  const tag = (value: string) => (spread ? `{${tagSafe(value)}}` : value);
  const queuePrefix = (type: string, shard = 0) => (spread ? `{${prefix}:${type}${shard > 0 ? `:${shard}` : ''}}` : prefix);
  // Shards have names of their own too (Bull Board and metrics tell queues apart by name).
  const queueName = (type: string, shard = 0) => (shard === 0 ? uploadQueueName(type) : `${uploadQueueName(type)}-${shard}`);
  return {
    prefix,
    spread,
    queuePrefix,
    queueName,
    webhookQueuePrefix: () => (spread ? `{${prefix}:${WEBHOOK_QUEUE}}` : prefix),
    queueKeyBase: (type, shard = 0) => `${queuePrefix(type, shard)}:${queueName(type, shard)}`,
    record: (token) => `${prefix}:delivery:${tag(token)}`,
    idempotency: (owner, keyHash) => `${prefix}:idempotency:${spread ? tag(`${owner}:${keyHash}`) : `${owner}:${keyHash}`}`,
    deliveriesIndex: () => `${prefix}:deliveries`,
    ownerIndex: (owner) => `${prefix}:deliveries:owner:${owner}`,
    checkpoint: (jobId) => `${prefix}:checkpoint:${tag(jobId)}`,
    credential: (id) => `${prefix}:credential:${tag(id)}`,
    connectState: (stateHash) => `${prefix}:connect-state:${tag(stateHash)}`,
    account: (type, credentialKey) => `${prefix}:account:${spread ? tag(`${type}:${credentialKey}`) : `${type}:${credentialKey}`}`,
    // Tagged in both layouts (as before): under a hash-tagged prefix the prefix's tag wins.
    limitBase: (type, key) => `${prefix}:limit:{${type}:${tagSafe(key)}}`,
    limitTypePause: (type) => `${prefix}:limit:{${type}}:pause`,
    limitPattern: () => `${prefix}:limit:*`,
  };
}

/** The layout a connection uses with a prefix (ioredis sets `isCluster` on a Cluster client). */
export function keyLayoutOf(connection: { isCluster?: boolean }, prefix: string): KeyLayout {
  return keyLayout(prefix, { cluster: connection.isCluster === true });
}

/**
 * How many shards each pool's queue is split into (POOL_SHARDS, like `s3:4,http:2`); a
 * type not named has one. Shard n > 0 is its own queue with its own hash tag
 * (`queuePrefix(type, n)`), so on a cluster a pool's shards spread over the masters; the
 * workers of a pool consume every shard.
 */
export type PoolShards = Readonly<Partial<Record<string, number>>>;

/** The most shards one pool may have (more queues than masters buy nothing). */
export const MAX_POOL_SHARDS = 64;

/** The shard count of a type (1 unless POOL_SHARDS names it). */
export function shardCountOf(shards: PoolShards, type: string): number {
  return shards[type] ?? 1;
}

/** Every shard number of a type: 0 .. count-1. */
export function shardsOf(shards: PoolShards, type: string): number[] {
  return Array.from({ length: shardCountOf(shards, type) }, (_, n) => n);
}

/**
 * The shard an upload goes to: a stable hash (FNV-1a, 32 bit) of its destination account
 * (the limit key), so one account's jobs share one shard, and with it their order and the
 * limits the pool enforces. The same in every process and every version: changing it would
 * move an account's new jobs away from its waiting ones.
 */
export function shardFor(shards: PoolShards, type: string, account: string): number {
  const count = shardCountOf(shards, type);
  if (count <= 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(account, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % count;
}

/**
 * Reads POOL_SHARDS (`type:count` entries separated by commas): the counts, or the problems
 * (each names the entry). `types` are the known destination types, when the caller knows them.
 */
export function parsePoolShards(text: string, types?: readonly string[]): { shards: PoolShards; problems: string[] } {
  const shards: Record<string, number> = {};
  const problems: string[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([a-z0-9_-]+):(\d+)$/.exec(entry);
    const count = Number(match?.[2]);
    if (!match || !Number.isInteger(count) || count < 1 || count > MAX_POOL_SHARDS) {
      problems.push(`"${entry}" is not <type>:<shards> with 1 to ${MAX_POOL_SHARDS} shards (like "s3:4,http:2")`);
    } else if (types && !types.includes(match[1]!)) {
      problems.push(`"${entry}" names no destination type (known: ${types.join(', ')})`);
    } else if (shards[match[1]!] !== undefined) {
      problems.push(`"${entry}": ${match[1]} is named twice`);
    } else shards[match[1]!] = count;
  }
  return { shards, problems };
}
