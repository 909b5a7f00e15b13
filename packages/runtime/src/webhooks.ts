import { createHmac } from 'node:crypto';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import got, { RequestError } from 'got';
import type { Cluster, Redis } from 'ioredis';
import { ERROR_CATALOG, FleetError, WEBHOOK_QUEUE, keyLayoutOf, type Logger, type NetworkGuard } from '@upload-fleet/core';
import type { OutcomeRecorder, StatusProjection, WebhookJobData } from '@upload-fleet/producer';
import type { FleetMetrics } from './metrics.js';

/**
 * Webhook signature header. Its value is `t=<unix seconds>,v1=<hex HMAC-SHA256>` where the
 * HMAC is computed with WEBHOOK_SECRET over `<t>.<raw body>`. Receivers recompute it,
 * compare in constant time, and reject timestamps older than a few minutes (replays).
 */
export const SIGNATURE_HEADER = 'upload-fleet-signature';

export function signWebhook(secret: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

export interface WebhookWorkerOptions {
  connection: Redis | Cluster;
  /** Key prefix of the webhook queue. */
  prefix: string;
  /** The status the webhook sends (the same the API answers). */
  status: StatusProjection;
  /** Where the webhook's outcome is written. */
  outcomes: OutcomeRecorder;
  secret: string;
  network: NetworkGuard;
  timeoutMs: number;
  logger: Logger;
  /** Counts delivered, retrying and failed webhook attempts (metrics.ts). */
  metrics: FleetMetrics;
}

/** Sends `delivery.finished` to the callback_url, retried with backoff in its own queue. */
export function createWebhookWorker(options: WebhookWorkerOptions): Worker<WebhookJobData> {
  const { status, outcomes } = options;
  const processor = async (job: Job<WebhookJobData>) => {
    const attempts = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const delivery = await status.get(job.data.token);
    const body = JSON.stringify({ event: 'delivery.finished', delivery });
    let outcome: { status?: number; error?: string };
    try {
      await options.network.assertAllowed(job.data.url);
      const response = await got.post(job.data.url, {
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'upload-fleet-webhook/1',
          [SIGNATURE_HEADER]: signWebhook(options.secret, body),
          'upload-fleet-delivery': job.data.token,
          'upload-fleet-event': 'delivery.finished',
        },
        dnsLookup: options.network.lookup,
        timeout: { request: options.timeoutMs },
        retry: { limit: 0 },
        followRedirect: false,
        throwHttpErrors: false,
      });
      outcome = response.statusCode >= 200 && response.statusCode < 300 ? { status: response.statusCode } : { status: response.statusCode, error: `the receiver answered ${response.statusCode}` };
    } catch (error) {
      const message = webhookFailureText(error);
      outcome = { error: message };
      if ((error as { code?: string }).code === 'UF_BLOCKED_ADDRESS' || (error as { category?: string }).category === 'permanent') {
        await outcomes.recordWebhook(job.data.token, { state: 'failed', attempts, last_error: `${message}; the webhook is not sent again` });
        options.metrics.webhook('failed');
        throw new UnrecoverableError(message);
      }
    }

    if (!outcome.error) {
      await outcomes.recordWebhook(job.data.token, { state: 'delivered', attempts, last_status: outcome.status!, delivered_at: new Date().toISOString() });
      options.logger.info({ delivery: job.data.token, status: outcome.status }, 'webhook delivered');
      options.metrics.webhook('delivered');
      return;
    }
    await outcomes.recordWebhook(job.data.token, {
      state: attempts >= maxAttempts ? 'failed' : 'pending',
      attempts,
      ...(outcome.status ? { last_status: outcome.status } : {}),
      last_error: `${outcome.error}; ${attempts >= maxAttempts ? `the webhook is not sent again (${attempts} of ${maxAttempts} attempts used)` : `the webhook will be sent again (${attempts} of ${maxAttempts} attempts used)`}`,
    });
    options.logger.warn({ delivery: job.data.token, attempt: `${attempts} of ${maxAttempts}`, error: outcome.error }, 'webhook not delivered');
    options.metrics.webhook(attempts >= maxAttempts ? 'failed' : 'retrying');
    throw new Error(outcome.error);
  };
  const worker = new Worker<WebhookJobData>(WEBHOOK_QUEUE, processor, {
    connection: options.connection,
    prefix: keyLayoutOf(options.connection, options.prefix).webhookQueuePrefix(),
    concurrency: 8,
    autorun: false,
  });
  worker.on('error', (error) => options.logger.error({ err: error.message }, 'webhook worker error'));
  return worker;
}

/**
 * Why a webhook attempt failed, in the webhook's own words. A taxonomy error raised
 * underneath (the network guard's lookup, wrapped by got) carries an upload's hint ("the
 * upload will be retried"), which would mislead here: its reason is kept, the hint dropped;
 * the caller says what happens next.
 */
export function webhookFailureText(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    if (e instanceof FleetError) {
      const { hint } = ERROR_CATALOG[e.code];
      const reason = e.message.endsWith(hint) ? e.message.slice(0, -hint.length).trim() : e.message;
      return `${e.code}: ${reason.replace(/\.$/, '')}`;
    }
  }
  return error instanceof RequestError ? `${error.code}: ${error.message}` : (error as Error).message;
}
