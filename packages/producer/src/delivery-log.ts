import { z } from 'zod';
import { problemsOf, type DeliveryState, type DeliveryStatus } from '@upload-fleet/core';
import { DESTINATION_TYPES, type DestinationType } from '@upload-fleet/destinations/definitions';
import type { DeliveryIndex } from './delivery-index.js';
import type { DeliveryStore } from './delivery-store.js';
import { ValidationFailedError } from './errors.js';
import type { StatusProjection } from './status-projection.js';

/**
 * The delivery log: a caller's deliveries newest first (`GET /v1/deliveries`), filtered by
 * state, destination type and creation time, a page at a time. It reads the delivery index
 * (delivery-index.ts, the console's list: one sorted set per owner) and projects each
 * delivery's status as `GET /v1/deliveries/{token}` does. It writes nothing.
 *
 * Paging is by cursor, not offset: the cursor names the last index entry looked at
 * (creation time and token, a total order), so deliveries created while a client pages do
 * not shift or repeat its pages. A filtered page looks at up to MAX_SCANNED entries; when it
 * stops there short of `limit`, `next_cursor` lets the client go on from where it stopped.
 */

export const DELIVERY_STATES = ['pending', 'in_progress', 'completed', 'failed', 'partially_failed', 'cancelled'] as const satisfies readonly DeliveryState[];
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
/** Index entries one page may look at before it answers (with a cursor to go on). */
const MAX_SCANNED = 1_000;
const SCAN_BATCH = 100;

export interface DeliveryListQuery {
  /** Only deliveries in one of these states (none: all). */
  states?: DeliveryState[];
  /** Only deliveries with at least one upload of this type. */
  type?: DestinationType;
  /** Created at or after / at or before (ms since the epoch). */
  fromMs?: number;
  toMs?: number;
  /** Page size, 1..100 (default 20). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface DeliveryListPage {
  deliveries: DeliveryStatus[];
  /** Present when more deliveries may follow: pass it as `cursor`. */
  next_cursor?: string;
}

const isoTime = (field: string) => z.iso.datetime({ offset: true, error: `${field} must be an ISO 8601 date-time like "2026-12-03T10:00:00Z"` }).transform((t) => Date.parse(t));
const csv = (value: unknown) => (Array.isArray(value) ? value.flatMap((v) => String(v).split(',')) : typeof value === 'string' ? value.split(',') : value);

/** The query string of `GET /v1/deliveries`, every problem listed by parameter. */
const listQuerySchema = z.strictObject({
  state: z.preprocess(csv, z.array(z.enum(DELIVERY_STATES, { error: `state must be one or more of ${DELIVERY_STATES.join(', ')} (comma-separated)` }))).optional(),
  type: z.enum(DESTINATION_TYPES as [DestinationType, ...DestinationType[]], { error: `type must be one of ${DESTINATION_TYPES.join(', ')}` }).optional(),
  created_after: isoTime('created_after').optional(),
  created_before: isoTime('created_before').optional(),
  limit: z.coerce.number({ error: `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}` }).int(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`).min(1, `limit must be at least 1`).max(MAX_LIST_LIMIT, `limit must be at most ${MAX_LIST_LIMIT}`).optional(),
  cursor: z.string().min(1).optional(),
});

/** Parses the query string of `GET /v1/deliveries`. Throws ValidationFailedError naming each bad parameter. */
export function parseDeliveryListQuery(query: unknown): DeliveryListQuery {
  const parsed = listQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw new ValidationFailedError(problemsOf(parsed.error));
  const q = parsed.data;
  return {
    ...(q.state ? { states: q.state } : {}),
    ...(q.type ? { type: q.type } : {}),
    ...(q.created_after !== undefined ? { fromMs: q.created_after } : {}),
    ...(q.created_before !== undefined ? { toMs: q.created_before } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
  };
}

interface Position {
  createdAtMs: number;
  token: string;
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAtMs, position.token])).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  try {
    const [createdAtMs, token] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAtMs === 'number' && Number.isFinite(createdAtMs) && typeof token === 'string') return { createdAtMs, token };
  } catch {
    // answered below
  }
  throw new ValidationFailedError([{ path: 'cursor', message: 'cursor is not one this API gave out: pass the next_cursor of the previous page unchanged' }]);
}

export class DeliveryLog {
  constructor(
    private readonly store: DeliveryStore,
    private readonly index: DeliveryIndex,
    private readonly status: StatusProjection,
  ) {}

  /** One page of the owner's deliveries, newest first. */
  async list(owner: string, query: DeliveryListQuery = {}): Promise<DeliveryListPage> {
    const limit = Math.min(query.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const toMs = Math.min(query.toMs ?? Infinity, after?.createdAtMs ?? Infinity);
    const deliveries: DeliveryStatus[] = [];
    let last: Position | undefined;
    let scanned = 0;
    let offset = 0;
    for (;;) {
      const entries = await this.index.entries({ owner, ...(query.fromMs !== undefined ? { fromMs: query.fromMs } : {}), ...(Number.isFinite(toMs) ? { toMs } : {}), offset, limit: SCAN_BATCH });
      offset += entries.length;
      // The cursor's own time may hold several deliveries: skip those at or before its token.
      const fresh = after ? entries.filter((e) => e.createdAtMs < after.createdAtMs || e.token < after.token) : entries;
      for (const entry of fresh) {
        scanned += 1;
        last = entry;
        const row = await this.row(entry.token, query);
        if (row) deliveries.push(row);
        if (deliveries.length === limit || scanned >= MAX_SCANNED) return { deliveries, next_cursor: encodeCursor(last) };
      }
      if (entries.length < SCAN_BATCH) return { deliveries };
    }
  }

  /** The delivery's status when it passes the filters; undefined otherwise or when its record expired. */
  private async row(token: string, query: DeliveryListQuery): Promise<DeliveryStatus | undefined> {
    const record = await this.store.read(token);
    if (!record) return undefined;
    if (query.type && !record.meta.uploads.some((u) => u.type === query.type)) return undefined;
    const status = await this.status.statusOf(record);
    return !query.states?.length || query.states.includes(status.state) ? status : undefined;
  }
}
