import { setTimeout as sleep } from 'node:timers/promises';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { keyLayoutOf, type DeferralRecord, type FinalUploadRecord, type KeyLayout, type WebhookStatus } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';

/**
 * The delivery record: one Redis hash per delivery, `<prefix>:delivery:{<token>}` (the
 * token its hash tag on a cluster, so records spread over the masters; KeyLayout). It
 * outlives the BullMQ jobs (whose retention is bounded), so a status read still answers
 * after the jobs are gone. One key per delivery keeps every operation single-slot on
 * Redis Cluster.
 *
 * Fields:
 *   meta            JSON DeliveryMeta (written once at enqueue)
 *   enqueued        "1" once every job is in (with the record in one MULTI on one slot)
 *   total           number of uploads
 *   generation      bumped by every retry of failed uploads; one webhook per generation
 *   final:<i>       JSON FinalUploadRecord, written by the worker when upload i ends
 *   deferral:<i>    JSON DeferralRecord while upload i waits (backoff or rate limit)
 *   notified:<gen>  set once the delivery finished in that generation (webhook enqueued)
 *   webhook         JSON WebhookStatus
 */
export interface DeliveryMeta {
  token: string;
  owner: string;
  created_at: string;
  callback_url?: string;
  metadata?: Record<string, string | number | boolean>;
  /** Fingerprint of the request (without secrets) for idempotency-key conflicts; only a request with an idempotency_key has one. */
  fingerprint?: string;
  /** `shard`: which shard of its pool the job went to (absent: the first, or a pool never split). */
  uploads: { index: number; type: DestinationType; queue: string; job_id: string; shard?: number }[];
}

export interface DeliveryRecord {
  meta: DeliveryMeta;
  /** Every job is in: the submit finished (an idempotent replay answers from it from now on). */
  enqueued: boolean;
  generation: number;
  finals: Map<number, FinalUploadRecord>;
  deferrals: Map<number, DeferralRecord>;
  webhook?: WebhookStatus;
}

/**
 * Marks upload i final; answers the generation to notify when this completed the delivery
 * (else 0) and then also the meta, so the caller learns the callback_url in the same round trip.
 */
/** The name RECORD_FINAL_SCRIPT is defined under on a connection (ioredis defineCommand). */
const RECORD_FINAL_COMMAND = 'uploadFleetRecordFinal';
type RecordFinalCommand = Record<typeof RECORD_FINAL_COMMAND, (...args: readonly string[]) => Promise<unknown>>;

const RECORD_FINAL_SCRIPT = `
redis.call('HSET', KEYS[1], 'final:' .. ARGV[1], ARGV[2])
if ARGV[3] == '1' then redis.call('HDEL', KEYS[1], 'deferral:' .. ARGV[1]) end
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local index = tonumber(ARGV[1])
for i = 0, total - 1 do
  if i ~= index and redis.call('HEXISTS', KEYS[1], 'final:' .. i) == 0 then return {0, false} end
end
local generation = redis.call('HGET', KEYS[1], 'generation') or '0'
if redis.call('HSETNX', KEYS[1], 'notified:' .. generation, '1') == 1 then
  return {tonumber(generation) + 1, redis.call('HGET', KEYS[1], 'meta')}
end
return {0, false}
`;

/** Sets KEYS[1] to ARGV[1] for ARGV[2] seconds unless it is set; answers the holder, or nil when claimed. */
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`;

/**
 * How often a final record follows its slot to a new owner, and the pause between: together
 * longer than a failover (about 2 s with cluster-node-timeout 1 s; the worker's connection
 * rides through 30 s of one, @upload-fleet/redis CLUSTER_FAILOVER_RIDE_THROUGH_MS).
 */
const CLUSTER_REDIRECT_ATTEMPTS = 100;
const CLUSTER_REDIRECT_DELAY_MS = 100;

/** Answers that say the command did not run on this node: another owns the slot, or it has none yet. */
function isClusterRedirect(error: Error): boolean {
  return /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(error.message);
}

/** Has a cluster client learn the slots' owners again (a single server has none to learn). */
async function refreshSlots(redis: Redis | Cluster): Promise<void> {
  if (!('refreshSlotsCache' in redis)) return;
  await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
}

/**
 * Final records kept on replicas before a worker acts on them (FINAL_RECORD_REPLICAS).
 * Redis replicates asynchronously, so a record its master acknowledged can be lost when
 * that master dies before a replica has it; the upload would then run again after the
 * failover, since nothing shows it completed. WAIT closes that window.
 */
export interface FinalRecordReplicas {
  replicas: number;
  timeoutMs: number;
  /** Fewer replicas than asked had the record when the timeout passed (it is on the master). */
  onShortfall(token: string, acknowledged: number): void;
}

export class DeliveryStore {
  readonly layout: KeyLayout;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    /** How long a delivery record is kept after its creation. */
    private readonly ttlSeconds: number,
    private readonly finalRecordReplicas?: FinalRecordReplicas,
  ) {
    this.layout = keyLayoutOf(redis, prefix);
    // The final-record script runs on every upload: ioredis's defineCommand sends it by its
    // SHA (EVALSHA, falling back to EVAL once after a NOSCRIPT) instead of its whole text,
    // which Redis would otherwise read and hash on every call. Defined once per connection.
    if (!(RECORD_FINAL_COMMAND in redis)) redis.defineCommand(RECORD_FINAL_COMMAND, { numberOfKeys: 1, lua: RECORD_FINAL_SCRIPT });
  }

  key(token: string): string {
    return this.layout.record(token);
  }

  idempotencyKey(owner: string, keyHash: string): string {
    return this.layout.idempotency(owner, keyHash);
  }

  async create(meta: DeliveryMeta): Promise<void> {
    await this.createIn(this.redis.multi(), meta, { enqueued: false }).exec();
  }

  /** A pipeline on the store's connection (DeliveryWriter puts each delivery of a group in a MULTI of it). */
  pipeline(): ChainableCommander {
    return this.redis.pipeline();
  }

  /**
   * Queues the writing of a new record into a transaction: its meta and total, generation 0
   * (kept instead when `takeOver`: a record an earlier request with the same idempotency key
   * left may have one), and, with `enqueued`, the mark itself (when the jobs are in the same
   * transaction).
   */
  createIn(multi: ChainableCommander, meta: DeliveryMeta, options: { enqueued: boolean; takeOver?: boolean }): ChainableCommander {
    const key = this.key(meta.token);
    const fields = { meta: JSON.stringify(meta), total: String(meta.uploads.length), ...(options.enqueued ? { enqueued: '1' } : {}) };
    if (options.takeOver) multi.hset(key, fields).hsetnx(key, 'generation', '0');
    else multi.hset(key, { ...fields, generation: '0' });
    return multi.expire(key, this.ttlSeconds);
  }

  /**
   * Claims an idempotency key for a token; answers the token that holds it (ours or an
   * earlier one). One round trip: a script, as SET NX GET needs Redis 7.
   */
  async claimIdempotencyKey(owner: string, keyHash: string, token: string): Promise<{ token: string; claimed: boolean }> {
    const holder = (await this.redis.eval(CLAIM_SCRIPT, 1, this.idempotencyKey(owner, keyHash), token, String(this.ttlSeconds))) as string | null;
    return holder === null ? { token, claimed: true } : { token: holder, claimed: false };
  }

  async releaseIdempotencyKey(owner: string, keyHash: string, token: string): Promise<void> {
    const key = this.idempotencyKey(owner, keyHash);
    // Only the holder may release it.
    await this.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, key, token);
  }

  async markEnqueued(token: string): Promise<void> {
    await this.redis.hset(this.key(token), 'enqueued', '1');
  }

  async read(token: string): Promise<DeliveryRecord | undefined> {
    const fields = await this.redis.hgetall(this.key(token));
    if (!fields.meta) return undefined;
    const finals = new Map<number, FinalUploadRecord>();
    const deferrals = new Map<number, DeferralRecord>();
    for (const [name, value] of Object.entries(fields)) {
      if (name.startsWith('final:')) finals.set(Number(name.slice(6)), JSON.parse(value) as FinalUploadRecord);
      if (name.startsWith('deferral:')) deferrals.set(Number(name.slice(9)), JSON.parse(value) as DeferralRecord);
    }
    return {
      meta: JSON.parse(fields.meta) as DeliveryMeta,
      enqueued: fields.enqueued === '1',
      generation: Number(fields.generation ?? 0),
      finals,
      deferrals,
      ...(fields.webhook ? { webhook: JSON.parse(fields.webhook) as WebhookStatus } : {}),
    };
  }

  /** The final outcome of one upload, when it has ended (in this generation). */
  async readFinal(token: string, index: number): Promise<FinalUploadRecord | undefined> {
    const value = await this.redis.hget(this.key(token), `final:${index}`);
    return value ? (JSON.parse(value) as FinalUploadRecord) : undefined;
  }

  /**
   * Records the end of one upload. Answers the generation number (>= 1) when this was the
   * last upload of the delivery to end, so the caller sends the webhook exactly once.
   */
  async recordFinal(token: string, index: number, record: FinalUploadRecord): Promise<number> {
    return (await this.recordEnd(token, index, record)).generation;
  }

  /**
   * recordFinal, answering with the generation (0 when the delivery has not ended, or its
   * webhook was already due) the delivery's callback_url when it has one: what the worker
   * needs to enqueue the webhook, without reading the record again. `deferralMayExist: false`
   * (the caller knows no deferral was written for the upload) skips deleting it.
   */
  async recordEnd(token: string, index: number, record: FinalUploadRecord, options: { deferralMayExist?: boolean } = {}): Promise<{ generation: number; callbackUrl?: string }> {
    const clearDeferral = options.deferralMayExist ?? true;
    const args = [this.key(token), String(index), JSON.stringify(record), clearDeferral ? '1' : '0'] as const;
    const durable = this.finalRecordReplicas;
    let answer: [number, string | null];
    if (!durable) {
      answer = (await (this.redis as unknown as RecordFinalCommand)[RECORD_FINAL_COMMAND](...args)) as [number, string | null];
    } else {
      const { scriptAnswer, acknowledged } = await this.recordFinalOnReplicas(args, durable);
      if (acknowledged < durable.replicas) durable.onShortfall(token, acknowledged);
      answer = scriptAnswer as [number, string | null];
    }
    const [generation, meta] = answer;
    const callbackUrl = meta ? (JSON.parse(meta) as DeliveryMeta).callback_url : undefined;
    return { generation: Number(generation), ...(callbackUrl ? { callbackUrl } : {}) };
  }

  /**
   * The final-record script and WAIT in one pipeline: it goes to the record's master (a
   * pipeline is sent to the node of its keys; WAIT has none) and waits for the script's
   * write to reach replicas.
   *
   * ioredis follows a cluster redirect in a pipeline only when no write in it succeeded, and
   * WAIT succeeds on any node: after a failover or a resharding moved the record's slot, the
   * script's MOVED (or ASK, TRYAGAIN, CLUSTERDOWN) came back as the answer, and the worker
   * took an upload the destination had for a failure and ran it again (the failover test's
   * one double in about 15 runs). The script did not run on such an answer, so it is sent
   * again once the client knows the slot's new owner.
   */
  private async recordFinalOnReplicas(args: readonly string[], durable: FinalRecordReplicas): Promise<{ scriptAnswer: unknown; acknowledged: number }> {
    for (let attempt = 1; ; attempt++) {
      const [[scriptError, scriptAnswer] = [], [waitError, acknowledged] = []] = (await this.redis
        .pipeline()
        .eval(RECORD_FINAL_SCRIPT, 1, ...args)
        .call('WAIT', String(durable.replicas), String(durable.timeoutMs))
        .exec()) as [Error | null, unknown][];
      if (scriptError && isClusterRedirect(scriptError) && attempt < CLUSTER_REDIRECT_ATTEMPTS) {
        await refreshSlots(this.redis);
        await sleep(CLUSTER_REDIRECT_DELAY_MS);
        continue;
      }
      if (scriptError) throw scriptError;
      if (waitError) throw waitError;
      return { scriptAnswer, acknowledged: Number(acknowledged) };
    }
  }

  /** Puts a final record back (used when a retry could not re-queue the job). */
  async restoreFinal(token: string, index: number, record: FinalUploadRecord): Promise<void> {
    await this.redis.hset(this.key(token), `final:${index}`, JSON.stringify(record));
  }

  async delete(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }

  async recordDeferral(token: string, index: number, deferral: DeferralRecord): Promise<void> {
    await this.redis.hset(this.key(token), `deferral:${index}`, JSON.stringify(deferral));
  }

  async clearDeferral(token: string, index: number): Promise<void> {
    await this.redis.hdel(this.key(token), `deferral:${index}`);
  }

  /** Reopens uploads for a retry: clears their final records and starts a new generation. */
  async reopen(token: string, indexes: number[]): Promise<void> {
    if (indexes.length === 0) return;
    await this.redis
      .multi()
      .hdel(this.key(token), ...indexes.map((i) => `final:${i}`))
      .hincrby(this.key(token), 'generation', 1)
      .exec();
  }

  async recordWebhook(token: string, status: WebhookStatus): Promise<void> {
    await this.redis.hset(this.key(token), 'webhook', JSON.stringify(status));
  }
}
