import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue, type Job } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { redisConnectionFromConfig, type RedisConnection, type RedisConnectionConfig } from '@upload-fleet/redis';
import { DEFAULT_PREFIX, WEBHOOK_QUEUE, createLogger, shardsOf, type Logger, type PoolShards, type UploadJobData } from '@upload-fleet/core';
import { DEFINITIONS } from '@upload-fleet/destinations/definitions';
import { DeliveryStore } from '@upload-fleet/producer';
import { DEFAULT_LIMIT_RULES, type LimitRules } from '@upload-fleet/runtime/limits';
import { actionPolicy } from './action-policy.js';
import { ConsoleData } from './console/console-data.js';
import { registerConsoleRoutes } from './console/console-routes.js';
import { BASIC_CHALLENGE, BasicAuthMatcher } from './auth.js';
import { DEFAULT_DASHBOARD_HOST, DEFAULT_DASHBOARD_PORT, type DashboardAuth } from './config.js';
import { RedactingQueueAdapter, retryWithFreshAttempts } from './redacting-queue-adapter.js';
import { redactText, redactValue } from './redaction.js';

export interface BuildDashboardOptions {
  /** An ioredis connection; the dashboard's queues use it and do not close it. */
  connection: RedisConnection;
  /** Key prefix of the queues (default "upload-fleet"), as the producer and workers use it. */
  prefix?: string;
  /** HTTP Basic logins, or `{ type: 'none' }` to run open on purpose. Required: there is no default. */
  auth: DashboardAuth;
  /** Default true: nothing can be changed. False allows retry, clean (remove) and promote only. */
  readOnly?: boolean;
  /** Path to serve the dashboard under (default "/"). */
  basePath?: string;
  /** Errors and refused logins; default: createLogger(). */
  logger?: Logger;
  /** The fleet's limit rules (RATE_LIMITS over the defaults), for the console's "remaining"; default: the defaults. */
  limitRules?: LimitRules;
  /** POOL_SHARDS: pools split into shards; each shard's queue is shown (and counted) on its own. */
  poolShards?: PoolShards;
}

/**
 * A DeliveryStore needs a retention for the records it creates; the dashboard only reopens
 * existing ones, so the value is never used.
 */
const UNUSED_TTL_SECONDS = 0;

/**
 * Bull Board for every upload queue (`upload-<type>`) and the webhook queue, behind HTTP
 * Basic auth, with every credential hidden. Not listening: call `listen` (or use
 * startDashboard), or `inject` in tests. Closing it closes its queues, not the connection.
 */
export function buildDashboard(options: BuildDashboardOptions): FastifyInstance {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const readOnly = options.readOnly ?? true;
  const basePath = normalizeBasePath(options.basePath ?? '/');
  const logger = (options.logger ?? createLogger()).child({ component: 'dashboard' });
  // Throws when basic auth has no users: the dashboard is never open by accident.
  const matcher = options.auth.type === 'basic' ? new BasicAuthMatcher(options.auth.users) : undefined;
  if (!matcher) logger.warn('DASHBOARD_AUTH=none: the dashboard is open to anyone who can reach it');

  const deliveries = new DeliveryStore(options.connection, prefix, UNUSED_TTL_SECONDS);
  const queues: Queue[] = [];
  const adapters: RedactingQueueAdapter[] = [];
  for (const { type, description } of DEFINITIONS) {
    for (const shard of shardsOf(options.poolShards ?? {}, type)) {
      const queue = new Queue<UploadJobData>(deliveries.layout.queueName(type, shard), { connection: options.connection, prefix: deliveries.layout.queuePrefix(type, shard) });
      queues.push(queue);
      adapters.push(new RedactingQueueAdapter(queue, { readOnly, description, retry: (job) => retryUpload(deliveries, job) }));
    }
  }
  const webhooks = new Queue(WEBHOOK_QUEUE, { connection: options.connection, prefix: deliveries.layout.webhookQueuePrefix() });
  queues.push(webhooks);
  adapters.push(new RedactingQueueAdapter(webhooks, { readOnly, description: 'Signed callback_url webhooks, retried on their own schedule' }));
  for (const queue of queues) queue.on('error', (error) => logger.warn({ err: error.message, queue: queue.name }, 'queue connection error'));

  const board = new FastifyAdapter();
  board.setBasePath(basePath);
  createBullBoard({
    queues: adapters,
    serverAdapter: board,
    options: {
      uiConfig: {
        boardTitle: 'upload-fleet',
        hideDocsLink: true,
        environment: readOnly ? { label: 'read-only', color: '#2f6f4f' } : { label: 'retry, clean and promote allowed', color: '#a05a00' },
      },
      handlerHooks: { before: actionPolicy(readOnly) },
    },
  });

  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new QuietLogController() });
  // Bull Board answers its own errors (its error handler logs nothing): log them here, redacted.
  app.addHook('onError', async (request, _reply, error) => {
    request.log.error({ err: { type: error.name, message: redactText(error.message) }, path: request.url.split('?')[0] }, 'dashboard request failed');
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "frame-ancestors 'none'");
    reply.header('referrer-policy', 'no-referrer');
    if (!matcher || request.routeOptions.config.public) return;
    if (matcher.match(request.headers.authorization) !== undefined) return;
    if (request.headers.authorization !== undefined) request.log.warn({ ip: request.ip }, 'dashboard login refused');
    reply.code(401).header('www-authenticate', BASIC_CHALLENGE).header('content-type', 'text/plain; charset=utf-8');
    return reply.send('Log in to the upload-fleet dashboard (DASHBOARD_USERS).\n');
  });

  // The last line of defence: every JSON answer of Bull Board's API (job lists, a job,
  // logs, flows, schedulers, error bodies) and of the console's is redacted once more on its way out.
  const mount = basePath === '/' ? '' : basePath;
  const apiPrefixes = [`${mount}/api/`, `${mount}/console/api/`];
  app.addHook('onSend', async (request, reply, payload) => {
    if (!apiPrefixes.some((p) => request.url.startsWith(p))) return payload;
    reply.header('cache-control', 'no-store');
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    try {
      return JSON.stringify(redactValue(JSON.parse(payload)));
    } catch {
      return JSON.stringify({ error: { key: 'ERRORS.INTERNAL_SERVER_ERROR' } });
    }
  });

  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.register(board.registerPlugin(), { prefix: mount });
  // The delivery console beside Bull Board, behind the same login (console/).
  const consoleData = new ConsoleData(options.connection, prefix, options.limitRules ?? DEFAULT_LIMIT_RULES, queues, options.poolShards ?? {});
  registerConsoleRoutes(app, consoleData, { consolePath: `${mount}/console`, boardPath: `${mount}/`, readOnly });
  app.addHook('onClose', async () => {
    await Promise.all([...queues.map((queue) => queue.close()), consoleData.close()]);
  });
  return app;
}

/** The UI polls every few seconds: a line per request would drown the log, so only server errors are logged. */
class QuietLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error || reply.statusCode >= 500) super.requestCompleted(error, request, reply, metadata);
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Open route: no login needed. */
    public?: boolean;
  }
}

/** Retries a failed upload as the API does: reopen its delivery record first, restore it if BullMQ refuses. */
async function retryUpload(deliveries: DeliveryStore, job: Job): Promise<void> {
  const { token, index } = job.data as Partial<UploadJobData>;
  const record = typeof token === 'string' && typeof index === 'number' ? await deliveries.read(token) : undefined;
  if (!record || token === undefined || index === undefined) return retryWithFreshAttempts(job);
  const final = record.finals.get(index);
  await deliveries.reopen(token, [index]);
  try {
    await retryWithFreshAttempts(job);
  } catch (error) {
    if (final) await deliveries.restoreFinal(token, index, final);
    throw error;
  }
}

function normalizeBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export interface StartDashboardOptions extends Omit<BuildDashboardOptions, 'connection' | 'prefix'> {
  /** Either a connection (kept open on close) or a URL (connected here, closed on close). */
  connection?: RedisConnection;
  redisUrl?: string | undefined;
  /** Any Redis form (cluster, sentinel), as loadDashboardConfig gives it; used when no connection is given. */
  redis?: RedisConnectionConfig;
  /** Key prefix of the queues; `redisPrefix` is accepted too, as loadDashboardConfig names it. */
  prefix?: string;
  redisPrefix?: string;
  /** Default 8082 (DASHBOARD_PORT); 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
}

export interface RunningDashboard {
  /** Where to open it, like `http://localhost:8082/`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the dashboard and listens: what `main.ts` and the all-in-one fleet call, with
 * `loadDashboardConfig(env)` spread into the options.
 */
export async function startDashboard(options: StartDashboardOptions): Promise<RunningDashboard> {
  const { connection: given, redisUrl, redis, redisPrefix, prefix, port, host, ...rest } = options;
  if (!given && !redisUrl && !redis) throw new Error('startDashboard needs a Redis connection, redis settings or redisUrl.');
  const logger = (options.logger ?? createLogger()).child({ component: 'dashboard' });
  // maxRetriesPerRequest: null is what BullMQ requires of a connection it may block on.
  const connection = given ?? redisConnectionFromConfig({ ...(redis ?? { url: redisUrl! }), prefix: prefix ?? redisPrefix ?? DEFAULT_PREFIX });
  if (!given) connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  let app: FastifyInstance;
  try {
    app = buildDashboard({ ...rest, connection, prefix: prefix ?? redisPrefix ?? DEFAULT_PREFIX });
    await app.listen({ port: port ?? DEFAULT_DASHBOARD_PORT, host: host ?? DEFAULT_DASHBOARD_HOST });
  } catch (error) {
    if (!given) connection.disconnect();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const shownHost = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(address.address) ? 'localhost' : address.address.includes(':') ? `[${address.address}]` : address.address;
  const basePath = normalizeBasePath(options.basePath ?? '/');
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}${basePath === '/' ? '/' : `${basePath}/`}`,
    close() {
      closing ??= (async () => {
        await app.close();
        if (!given) await connection.quit().catch(() => connection.disconnect());
      })();
      return closing;
    },
  };
}
