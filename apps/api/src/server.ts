import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SECRET_FIELD_NAMES as DESTINATION_SECRET_FIELDS } from '@upload-fleet/destinations/definitions';
import { createLogger, redactingChild, registerSecretFieldNames, type DeliveryStatus, type Logger, type UploadState } from '@upload-fleet/core';
import { parseDeliveryListQuery, type EnqueueResult, type Producer } from '@upload-fleet/producer';
import { ApiKeyMatcher, bearerTokenOf } from './auth.js';
import { DEFAULT_BODY_LIMIT_BYTES, type ApiKey } from './config.js';
import { registerConnectRoutes, type ConnectOptions } from './connect.js';
import { ApiError, REDIS_RETRY_AFTER_SECONDS, invalidRequest, redisUnavailable, toApiError } from './errors.js';
import { registerJsonBodyParser } from './json-body.js';
import { registerOpenApi, routeSchemas } from './openapi.js';

export interface Readiness {
  ready: boolean;
  /** One line per dependency, like `{ redis: "ok" }`. */
  checks: Record<string, string>;
}

export interface BuildApiOptions {
  /** Validates, enqueues and reads deliveries; the API does not close it. */
  producer: Producer;
  /** The keys that may call the API; a key's name owns the deliveries created with it. */
  apiKeys: ApiKey[];
  /** Request and error logs; authorization headers and secret fields are redacted. Default: createLogger(). */
  logger?: Logger;
  /** Largest accepted request body in bytes (default 1 MiB); larger bodies get a 413. */
  bodyLimitBytes?: number;
  /** Answers GET /readyz; default: always ready. */
  readiness?: () => Promise<Readiness>;
  /**
   * Whether the Redis connection is up now (`redisAvailability(connection)`); default:
   * always. While it is not, every route that needs Redis answers 503 with Retry-After at
   * once, before anything is attempted. Pair it with a fail-fast connection (role
   * "client" of packages/redis), so a command that meets an outage fails too.
   */
  redisAvailable?: () => boolean;
  /** The connect flow (auth_secret credentials); without it the /v1/connect routes answer 503. */
  connect?: ConnectOptions;
  /** Serves GET /metrics (Prometheus text) when given: `createMetrics()` of @upload-fleet/runtime/metrics. */
  metrics?: { render(): Promise<string>; readonly contentType: string };
  /** METRICS_TOKEN: when set, /metrics needs `Authorization: Bearer <token>`; unset, it is open like /healthz. */
  metricsToken?: string;
}

/** What POST /v1/deliveries answers (202 when created, 200 when an idempotency_key matched). */
export interface DeliveryAccepted {
  token: string;
  created: boolean;
  uploads: (EnqueueResult['uploads'][number] & { state: UploadState })[];
  status_url: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Open route: no API key needed. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** Name of the API key the request authenticated with (the owner of its deliveries). */
    apiKeyName: string;
  }
}

/** The parts of a request a log line may carry: never headers, bodies or query strings. */
const requestSerializers = {
  req: (req: { method?: string; url?: string }) => ({ method: req.method, path: req.url?.split('?')[0] }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};

/**
 * pino's own redaction paths for the API's logger: the credential headers, should a
 * serializer ever emit them. Secret field names need no paths: `redactingChild` replaces
 * every one of them (`redactedFieldNames()`, the destinations' secret fields included) at any
 * depth and in any case, in every record, whichever logger the caller passed. pino paths with
 * wildcards (`*.password`, as before) ran pino's redactor over every bound value and every
 * record: about 20 µs of CPU per request before a line is even written (bench/submit.ts,
 * --cpu-prof), and they stopped at the depth they named.
 */
const REDACT_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'];
// Defining a destination registers its secret fields with the core's logger; said again here
// so that the API's logs never depend on which module happened to load the definitions first.
registerSecretFieldNames(DESTINATION_SECRET_FIELDS);

const statusUrlOf = (token: string) => `/v1/deliveries/${encodeURIComponent(token)}`;

/**
 * Builds the HTTP API (not listening: call `listen`, or `inject` in tests). A thin layer
 * over the Producer: it authenticates, turns the producer's answers and errors into HTTP,
 * and documents itself at /openapi.json.
 */
export function buildApi(options: BuildApiOptions): FastifyInstance {
  const { producer } = options;
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const keys = new ApiKeyMatcher(options.apiKeys);
  const readiness = options.readiness ?? (async () => ({ ready: true, checks: {} }));
  const redisAvailable = options.redisAvailable ?? (() => true);
  // Whatever logger the caller gives, secret fields are hidden in every record (redactingChild).
  const logger = redactingChild(options.logger ?? createLogger(), { component: 'api' }, { redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, serializers: requestSerializers });

  const app = Fastify({
    // Typed as Fastify's base logger so the instance keeps the default FastifyInstance type.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: bodyLimitBytes,
    // Clients may pass their own id to correlate logs; otherwise Fastify makes one.
    requestIdHeader: 'x-request-id',
    // Router errors (bad percent-encoding, over-long path parameter) get the same JSON shape.
    frameworkErrors: (error, request, reply) => {
      const { error: apiError } = toApiError(error, { bodyLimitBytes, requestId: request.id, body: undefined });
      (reply as FastifyReply).code(apiError.statusCode).send(apiError.toBody());
    },
  });
  app.decorateRequest('apiKeyName', '');
  registerJsonBodyParser(app);
  // First: the document is generated from the routes registered after this.
  registerOpenApi(app);
  const schemas = routeSchemas({ bodyLimitBytes });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.routeOptions.config.public) return;
    const token = bearerTokenOf(request.headers.authorization);
    const name = token === undefined ? undefined : keys.match(token);
    if (name === undefined) {
      const missing = request.headers.authorization === undefined;
      reply
        .code(401)
        .header('www-authenticate', missing ? 'Bearer realm="upload-fleet"' : 'Bearer realm="upload-fleet", error="invalid_token"')
        .send(
          new ApiError(401, 'UF_UNAUTHORIZED', missing
            ? 'An API key is required: send "Authorization: Bearer <key>".'
            : 'The API key is not valid: send "Authorization: Bearer <key>" with a configured key.').toBody(),
        );
      return reply;
    }
    request.apiKeyName = name;
    // In place on the request's logger (Fastify made it for this request): a second child per
    // request (a new logger, its bindings serialized again) cost several times the CPU of this.
    (request.log as Logger).setBindings({ api_key: name });
  });

  // Refuse at once while Redis is away: a request must neither hang nor run later, when the
  // client has given up and cannot know whether it did. (Open routes need no Redis.)
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config.public || redisAvailable()) return;
    reply.code(503).header('retry-after', String(REDIS_RETRY_AFTER_SECONDS)).send(redisUnavailable().toBody());
    return reply;
  });

  app.setErrorHandler((error, request, reply) => {
    const { error: apiError, unexpected } = toApiError(error, { bodyLimitBytes, requestId: request.id, body: request.body, redisAvailable: redisAvailable() });
    if (unexpected) request.log.error({ err: error }, 'unexpected error');
    else request.log.info({ code: apiError.code, status: apiError.statusCode }, 'request refused');
    if (apiError.statusCode === 503) reply.header('retry-after', String(REDIS_RETRY_AFTER_SECONDS));
    reply.code(apiError.statusCode).send(apiError.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = (request.url.split('?')[0] ?? '').slice(0, 200);
    reply.code(404).send(new ApiError(404, 'UF_NOT_FOUND', `No route ${request.method} ${path}. The routes are listed at GET /openapi.json.`).toBody());
  });

  const owner = (request: FastifyRequest) => ({ owner: request.apiKeyName });

  // The routes live in a plugin so that they load after @fastify/swagger, which collects them.
  void app.register(async (app) => {
  /** The answer to an enqueued delivery; a replay reports the uploads as they are now, not as they were when first queued. */
  const accepted = async (result: EnqueueResult, request: FastifyRequest): Promise<DeliveryAccepted> => {
    const current = result.created ? undefined : await producer.get(result.token, owner(request));
    return {
      token: result.token,
      created: result.created,
      uploads: result.uploads.map((u) => ({ ...u, state: stateOf(current, u.index) })),
      status_url: statusUrlOf(result.token),
    };
  };

  app.post('/v1/deliveries', { schema: schemas.createDelivery }, async (request, reply) => {
    const body = await accepted(await producer.enqueue(request.body, owner(request)), request);
    return reply.code(body.created ? 202 : 200).header('location', body.status_url).send(body);
  });

  // "::" is Fastify's escape for a literal ":" in a path (Google's custom-method style).
  app.post('/v1/deliveries::batch', { schema: schemas.createDeliveryBatch }, async (request) => {
    const body = request.body as { deliveries?: unknown } | null;
    const extra = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => k !== 'deliveries') : [];
    if (extra.length > 0) throw invalidRequest(extra.map((k) => ({ path: k, message: `unknown field "${k}": the body is {"deliveries": [...]}` })));
    const outcomes = await producer.submitBatch(body?.deliveries as unknown[], owner(request));
    const results = await Promise.all(
      outcomes.map(async (outcome, index) => {
        if (outcome.ok) {
          const delivery = await accepted(outcome.result, request);
          return { index, status: delivery.created ? 202 : 200, delivery };
        }
        // Each item's error as POST /v1/deliveries would answer it alone; secrets of the item kept out.
        const item = (body?.deliveries as unknown[])[index];
        const { error, unexpected } = toApiError(outcome.error, { bodyLimitBytes, requestId: request.id, body: item, redisAvailable: redisAvailable() });
        if (unexpected) request.log.error({ err: outcome.error, item: index }, 'unexpected error in a batch item');
        return { index, status: error.statusCode, error: error.toBody() };
      }),
    );
    return { results };
  });

  app.get('/v1/deliveries', { schema: schemas.listDeliveries }, async (request) => producer.list(parseDeliveryListQuery(request.query), owner(request)));

  app.post<{ Params: { token: string } }>('/v1/deliveries/:token/webhook', { schema: schemas.replayWebhook }, async (request, reply) =>
    reply.code(202).send(await producer.replayWebhook(request.params.token, owner(request))),
  );

  app.get<{ Params: { token: string } }>('/v1/deliveries/:token', { schema: schemas.getDelivery }, async (request) => producer.get(request.params.token, owner(request)));

  app.delete<{ Params: { token: string } }>('/v1/deliveries/:token', { schema: schemas.cancelDelivery }, async (request) => producer.cancel(request.params.token, owner(request)));

  app.post<{ Params: { token: string } }>('/v1/deliveries/:token/retry', { schema: schemas.retryDelivery }, async (request) => producer.retry(request.params.token, owner(request)));

  registerConnectRoutes(app, options.connect, schemas);

  app.get('/healthz', { config: { public: true }, schema: schemas.liveness }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true }, schema: schemas.readiness }, async (request, reply: FastifyReply) => {
    let answer: Readiness;
    try {
      answer = await readiness();
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      answer = { ready: false, checks: { readiness: 'the check failed; see the log' } };
    }
    return reply.code(answer.ready ? 200 : 503).send(answer);
  });

  // Open unless METRICS_TOKEN is set: Prometheus usually scrapes from inside the cluster, and
  // the series carry destination types, error codes and queue names, never job data. An API
  // exposed to the internet sets the token (scrape config: `authorization: { credentials: ... }`).
  const { metrics } = options;
  if (metrics) {
    const metricsKey = options.metricsToken ? new ApiKeyMatcher([{ name: 'metrics', key: options.metricsToken }]) : undefined;
    app.get('/metrics', { config: { public: true }, schema: schemas.metrics }, async (request, reply) => {
      const token = bearerTokenOf(request.headers.authorization);
      if (metricsKey && (token === undefined || metricsKey.match(token) === undefined)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="upload-fleet-metrics"')
          .send(new ApiError(401, 'UF_UNAUTHORIZED', 'Metrics need "Authorization: Bearer <METRICS_TOKEN>".').toBody());
      }
      return reply.header('content-type', metrics.contentType).send(await metrics.render());
    });
  }

  // Open on purpose: it is the public contract (no secrets, no data), and clients and
  // code generators need it before they hold a key.
  app.get('/openapi.json', { config: { public: true }, schema: schemas.openapi }, async () => app.swagger());
  });

  return app;
}

function stateOf(status: DeliveryStatus | undefined, index: number): UploadState {
  return status?.uploads.find((u) => u.index === index)?.state ?? 'queued';
}
