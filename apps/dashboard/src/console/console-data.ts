import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { ERROR_CATALOG, WEBHOOK_QUEUE, shardCountOf, shardsOf, type PoolShards, type DeliveryState, type DeliveryStatus, type ErrorCode } from '@upload-fleet/core';
import { DEFINITIONS, type DestinationType } from '@upload-fleet/destinations/definitions';
import { DEFAULT_RETENTION, DeliveryControl, DeliveryIndex, DeliveryQueues, DeliveryStore, OutcomeRecorder, StatusProjection, type CancelResult, type RetryResult } from '@upload-fleet/producer';
import { FleetLimiter, type AccountLimitState, type LimitRules } from '@upload-fleet/runtime/limits';
import { redactValue } from '../redaction.js';

/**
 * What the delivery console reads, all of it read-only: the delivery index (newest first),
 * each delivery's status as the API projects it, the BullMQ job logs of its uploads, the
 * fleet limiter's snapshot and each pool's BullMQ metrics. Every answer leaves through
 * `redactValue`, so the pages and the console's JSON show no credential.
 */
export interface DeliveryFilter {
  /** Delivery states to show (none: all). */
  states?: DeliveryState[];
  /** Only deliveries with an upload of this destination type. */
  type?: DestinationType;
  /** Created at or after / before (ms since the epoch). */
  fromMs?: number;
  toMs?: number;
  /** A token (exact or part of it) or text found in the metadata (keys or values). */
  search?: string;
  /** Page size (default 50). */
  limit?: number;
  /** Newest first: skip the deliveries created after this one (the next page). */
  beforeMs?: number;
}

export interface DeliveryRow {
  token: string;
  owner: string;
  state: DeliveryState;
  created_at: string;
  uploads: { index: number; type: string; state: string; percent?: number }[];
  metadata?: Record<string, string | number | boolean>;
}

export interface DeliveryList {
  deliveries: DeliveryRow[];
  /** Entries of the index looked at to fill this page. */
  scanned: number;
  /** Deliveries in the index (all, unfiltered). */
  total: number;
  /** created_at (ms) of the last row when more may follow: pass it as `beforeMs`. */
  next_before_ms?: number;
}

export interface DeliveryDetail {
  status: DeliveryStatus;
  owner: string;
  callback_url?: string;
  /** Per upload: what to do about its error (the catalog's hint for its code) and its job's log lines (attempts, deferrals). */
  uploads: { index: number; hint?: string; percent?: number; log: string[] }[];
  finished: boolean;
}

/** FleetLimiter's snapshot of one account, its limit key named `account`. */
export type AccountLimits = Omit<AccountLimitState, 'key'> & { account?: string };

export interface PoolThroughput {
  queue: string;
  type: string;
  label: string;
  /** Completed and failed jobs per minute, oldest first, the last 60 minutes. */
  completed_per_minute: number[];
  failed_per_minute: number[];
  completed: number;
  failed: number;
  /** failed / (completed + failed) over the hour; undefined when nothing ended. */
  failure_rate?: number;
  counts: Record<string, number>;
}

const MINUTE = 60_000;
const SCAN_BATCH = 200;
/** A filtered page stops looking after this many index entries (the page says how many it looked at). */
const MAX_SCANNED = 5_000;
const FINISHED: DeliveryState[] = ['completed', 'failed', 'partially_failed', 'cancelled'];

export class ConsoleData {
  private readonly store: DeliveryStore;
  private readonly index: DeliveryIndex;
  private readonly queues: DeliveryQueues;
  private readonly status: StatusProjection;
  private readonly limiter: FleetLimiter;
  private readonly control: DeliveryControl;

  constructor(
    connection: Redis | Cluster,
    prefix: string,
    limitRules: LimitRules,
    /** Bull Board's queues (upload-<type> and webhooks), reused for metrics and counts. */
    private readonly bullQueues: Queue[],
    /** POOL_SHARDS: a pool split into shards has one queue (and one row) per shard. */
    private readonly poolShards: PoolShards = {},
  ) {
    // TTL 0: the console never writes a record or the index.
    this.store = new DeliveryStore(connection, prefix, 0);
    this.index = new DeliveryIndex(connection, prefix, 0);
    this.queues = new DeliveryQueues(connection, prefix, undefined, poolShards);
    this.status = new StatusProjection(this.store, this.queues, 5);
    // The lease TTL is used only when acquiring; the console only reads.
    this.limiter = new FleetLimiter({ connection, prefix, rules: limitRules, leaseTtlMs: 0 });
    // Cancel and retry as the API does them (only offered with DASHBOARD_READ_ONLY=false).
    this.control = new DeliveryControl(this.store, this.queues, new OutcomeRecorder(this.store, this.queues, { retention: DEFAULT_RETENTION }), this.status);
  }

  /** Cancels the uploads of a delivery that have not started (DELETE /v1/deliveries/<token>). */
  cancel(token: string): Promise<CancelResult> {
    return this.control.cancel(token);
  }

  /** Re-queues the failed uploads of a delivery with fresh attempts (POST /v1/deliveries/<token>/retry). */
  retry(token: string): Promise<RetryResult> {
    return this.control.retry(token);
  }

  async close(): Promise<void> {
    await this.queues.close();
  }

  async deliveries(filter: DeliveryFilter): Promise<DeliveryList> {
    const limit = filter.limit ?? 50;
    const rows: DeliveryRow[] = [];
    const search = filter.search?.trim().toLowerCase();
    let scanned = 0;
    let offset = 0;
    let exhausted = false;
    const toMs = filter.beforeMs !== undefined ? Math.min(filter.toMs ?? Infinity, filter.beforeMs - 1) : filter.toMs;
    while (rows.length < limit && scanned < MAX_SCANNED) {
      const tokens = await this.index.list({ ...(filter.fromMs !== undefined ? { fromMs: filter.fromMs } : {}), ...(toMs !== undefined && Number.isFinite(toMs) ? { toMs } : {}), offset, limit: SCAN_BATCH });
      offset += tokens.length;
      scanned += tokens.length;
      const candidates = search && !search.startsWith('dlv_') ? tokens : search ? tokens.filter((t) => t.toLowerCase().includes(search)) : tokens;
      const statuses = await Promise.all(candidates.map((token) => this.row(token)));
      for (const row of statuses) {
        if (!row || !matches(row, filter, search)) continue;
        if (rows.length < limit) rows.push(row);
      }
      if (tokens.length < SCAN_BATCH) {
        exhausted = true;
        break;
      }
    }
    const last = rows.at(-1);
    return redactValue({
      deliveries: rows,
      scanned,
      total: await this.index.count(),
      ...(!exhausted && last ? { next_before_ms: Date.parse(last.created_at) } : {}),
    }) as DeliveryList;
  }

  async delivery(token: string): Promise<DeliveryDetail | undefined> {
    const record = await this.store.read(token);
    if (!record) return undefined;
    const status = await this.status.get(token);
    const uploads = await Promise.all(
      status.uploads.map(async (upload) => {
        const queue = this.queues.upload(upload.type as DestinationType, record.meta.uploads[upload.index]?.shard);
        // An ended upload's status has no job to ask its attempts of; its job, while retained, knows.
        const job = upload.state === 'completed' || upload.state === 'failed' ? await queue.getJob(upload.job_id) : undefined;
        if (job?.opts.attempts) upload.max_attempts = job.opts.attempts;
        const log = await queue
          .getJobLogs(upload.job_id)
          .then((l) => l.logs)
          .catch(() => []);
        const code = upload.error?.code as ErrorCode | undefined;
        const hint = code && code in ERROR_CATALOG ? ERROR_CATALOG[code].hint : undefined;
        const percent = percentOf(upload.progress);
        return { index: upload.index, ...(hint ? { hint } : {}), ...(percent !== undefined ? { percent } : {}), log };
      }),
    );
    return redactValue({
      status,
      owner: record.meta.owner,
      ...(record.meta.callback_url ? { callback_url: record.meta.callback_url } : {}),
      uploads,
      finished: FINISHED.includes(status.state),
    }) as DeliveryDetail;
  }

  async limits(): Promise<AccountLimits[]> {
    // "key" is a secret-looking field name to the redaction: the account is named "account" here.
    const accounts = (await this.limiter.snapshot()).map(({ key, ...rest }) => ({ ...rest, ...(key !== undefined ? { account: key } : {}) }));
    return redactValue(accounts) as AccountLimits[];
  }

  async pools(): Promise<PoolThroughput[]> {
    const labels = new Map<string, { type: string; label: string }>(
      DEFINITIONS.flatMap((d) => {
        const count = shardCountOf(this.poolShards, d.type);
        return shardsOf(this.poolShards, d.type).map((shard) => [this.queues.layout.queueName(d.type, shard), { type: d.type, label: count > 1 ? `${d.label} (shard ${shard + 1} of ${count})` : d.label }] as const);
      }),
    );
    labels.set(WEBHOOK_QUEUE, { type: 'webhook', label: 'Webhooks' });
    const now = Date.now();
    const pools = await Promise.all(
      this.bullQueues.map(async (queue) => {
        const [completed, failed, counts] = await Promise.all([lastHour(queue, 'completed', now), lastHour(queue, 'failed', now), queue.getJobCounts('prioritized', 'waiting', 'active', 'delayed', 'completed', 'failed')]);
        const done = sum(completed) + sum(failed);
        const { type, label } = labels.get(queue.name) ?? { type: queue.name, label: queue.name };
        return {
          queue: queue.name,
          type,
          label,
          completed_per_minute: completed,
          failed_per_minute: failed,
          completed: sum(completed),
          failed: sum(failed),
          ...(done > 0 ? { failure_rate: sum(failed) / done } : {}),
          counts,
        };
      }),
    );
    return redactValue(pools) as PoolThroughput[];
  }

  private async row(token: string): Promise<DeliveryRow | undefined> {
    const record = await this.store.read(token);
    if (!record) return undefined;
    const status = await this.status.get(token);
    return {
      token,
      owner: record.meta.owner,
      state: status.state,
      created_at: status.created_at,
      uploads: status.uploads.map((u) => {
        const percent = percentOf(u.progress);
        return { index: u.index, type: u.type, state: u.state, ...(percent !== undefined ? { percent } : {}) };
      }),
      ...(status.metadata ? { metadata: status.metadata } : {}),
    };
  }
}

function matches(row: DeliveryRow, filter: DeliveryFilter, search: string | undefined): boolean {
  if (filter.states?.length && !filter.states.includes(row.state)) return false;
  if (filter.type && !row.uploads.some((u) => u.type === filter.type)) return false;
  if (search) {
    const inToken = row.token.toLowerCase().includes(search);
    const inMetadata = Object.entries(row.metadata ?? {}).some(([k, v]) => k.toLowerCase().includes(search) || String(v).toLowerCase().includes(search));
    if (!inToken && !inMetadata) return false;
  }
  return true;
}

export function percentOf(progress: { bytes_sent: number; bytes_total: number } | undefined): number | undefined {
  if (!progress || !(progress.bytes_total > 0)) return undefined;
  return Math.min(100, Math.floor((progress.bytes_sent / progress.bytes_total) * 100));
}

/**
 * BullMQ's metrics (recorded by the workers, per minute; bullmq collectMetrics.lua): the
 * jobs of the minute of `meta.prevTS` (the last one that ended) are still counted in
 * `meta.count - meta.prevCount`; `data` holds the minutes before it, newest first. Answers
 * the last 60 minutes up to now, oldest first, zeros where nothing ended.
 */
async function lastHour(queue: Queue, type: 'completed' | 'failed', now: number): Promise<number[]> {
  const minutes = new Array<number>(60).fill(0);
  const metrics = await queue.getMetrics(type, 0, 59).catch(() => undefined);
  if (!metrics?.meta.prevTS) return minutes;
  const nowMinute = Math.floor(now / MINUTE);
  const add = (minute: number, count: number) => {
    const ago = nowMinute - minute;
    if (ago >= 0 && ago < 60) minutes[59 - ago]! += count;
  };
  const newestMinute = Math.floor(Number(metrics.meta.prevTS) / MINUTE);
  add(newestMinute, Number(metrics.meta.count) - Number(metrics.meta.prevCount ?? 0));
  metrics.data.forEach((count, i) => add(newestMinute - 1 - i, Number(count)));
  return minutes;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
