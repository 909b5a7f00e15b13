import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import { ERROR_CATALOG, MAX_UPLOADS_PER_DELIVERY, type DeliveryState, type UploadState } from '@upload-fleet/core';
// The destination types, the request schema and the connect flows: from the destination registry.
import { CONNECT_PLATFORMS, DEFINITIONS, DESTINATION_TYPES, OAUTH_PROVIDERS, deliveryRequestSchema } from '@upload-fleet/destinations/definitions';
import { MAX_BATCH_DELIVERIES } from '@upload-fleet/producer';
import { API_ERROR_CODES } from './errors.js';

/**
 * The OpenAPI 3.1 document, generated from the routes: every route declares its schema
 * (`routeSchemas` below: parameters, body, every answer with its status and content type),
 * @fastify/swagger collects them into GET /openapi.json, and `requireRouteSchemas` refuses
 * a route registered without one, so no route can be left out. The components are JSON
 * Schemas shared by `$id` (`ref('DeliveryStatus')`); the request body's is generated from the
 * zod schema the producer validates with (zod 4's `z.toJSONSchema`).
 *
 * The schemas document; they do not validate or filter at run time: the producer validates
 * the body with zod and lists every problem by field path (Fastify's Ajv errors would say
 * less), and answers are serialized as they are (fast-json-stringify would drop fields a
 * schema forgot). The tests check every answer against its declared schema instead
 * (openapi.test.ts). docs/architecture.md says why @fastify/swagger and not fastify-type-provider-zod.
 */

type JsonSchema = Record<string, unknown>;

const CONNECT_PLATFORM_NAMES = CONNECT_PLATFORMS.map((p) => p.platform);
const CONNECT_PLATFORM_LABELS = CONNECT_PLATFORMS.map((p) => p.label).join(' or ');
const OAUTH_PROVIDER_IDS = OAUTH_PROVIDERS.map((p) => p.id);

// Runtime lists of the core's state unions; the checks below fail to compile if one drifts.
const UPLOAD_STATES = ['queued', 'active', 'deferred', 'completed', 'failed', 'cancelled'] as const satisfies readonly UploadState[];
const DELIVERY_STATES = ['pending', 'in_progress', 'completed', 'failed', 'partially_failed', 'cancelled'] as const satisfies readonly DeliveryState[];
const _allUploadStates: [Exclude<UploadState, (typeof UPLOAD_STATES)[number]>] extends [never] ? true : false = true;
const _allDeliveryStates: [Exclude<DeliveryState, (typeof DELIVERY_STATES)[number]>] extends [never] ? true : false = true;

/** A reference to a shared schema; the document shows it as `#/components/schemas/<name>`. */
const ref = (name: string) => ({ $ref: `${name}#` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const answer = (description: string, schemaName: string) => ({ description, content: json(ref(schemaName)) });
const errorAnswer = (description: string) => answer(description, 'Error');

/** The request body schema, generated from the zod schema the producer validates with. */
function deliveryRequestJsonSchema(): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(deliveryRequestSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  describeTargetPaths(schema);
  return {
    ...schema,
    description: `Give either "upload" (one destination) or "uploads" (1 to ${MAX_UPLOADS_PER_DELIVERY}). Unknown fields are errors. Secret fields (keys, tokens, passwords, headers) are encrypted before they are stored and never returned.`,
  };
}

const TEMPLATE_NOTE =
  'May use filename templates, expanded once per upload at submit time: ${token}, ${index}, ${extension}, ${metadata.<key>}, ${date} or ${date:YYYY/MM/DD} (UTC; YYYY MM DD HH mm ss), ${uuid}. An unknown variable is a 400 naming the field (docs/filename-templates.md).';

/** Marks each destination's target-path field (its definition's `targetPath`) as taking filename templates. */
function describeTargetPaths(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach(describeTargetPaths);
  const properties = (node as { properties?: Record<string, JsonSchema> }).properties;
  const type = (properties?.type as { const?: string } | undefined)?.const;
  const field = DEFINITIONS.find((d) => d.type === type)?.targetPath;
  if (properties && field && properties[field]) {
    const own = properties[field].description;
    properties[field] = { ...properties[field], description: own ? `${String(own)} ${TEMPLATE_NOTE}` : TEMPLATE_NOTE };
  }
  for (const child of Object.values(node)) describeTargetPaths(child);
}

const schemas: Record<string, JsonSchema> = {
  Problem: {
    type: 'object',
    required: ['path', 'message'],
    properties: {
      path: { type: 'string', description: 'Field path like "uploads.1.destination.bucket"; "(body)" for the body as a whole.' },
      message: { type: 'string' },
    },
  },
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: [...API_ERROR_CODES] },
          message: { type: 'string', description: 'What went wrong and what to do next. Never repeats the request body.' },
          problems: { type: 'array', items: ref('Problem'), description: 'For UF_INVALID_REQUEST: every problem, by field path.' },
          token: { type: 'string', description: 'For UF_IDEMPOTENCY_CONFLICT: the delivery that holds the idempotency_key.' },
          request_id: { type: 'string', description: 'For UF_INTERNAL: quote it when reporting the failure.' },
          reason: {
            type: 'string',
            description: 'For UF_CONNECT_FAILED: access_denied, invalid_state, invalid_callback, code_refused, scope_not_granted, no_refresh_token or provider_unavailable.',
          },
        },
      },
    },
  },
  DestinationType: { type: 'string', enum: [...DESTINATION_TYPES] },
  DeliveryAccepted: {
    type: 'object',
    required: ['token', 'created', 'uploads', 'status_url'],
    properties: {
      token: { type: 'string' },
      created: { type: 'boolean', description: 'False when an earlier request with the same idempotency_key created the delivery.' },
      uploads: {
        type: 'array',
        items: {
          type: 'object',
          required: ['index', 'type', 'job_id', 'state'],
          properties: {
            index: { type: 'integer', minimum: 0 },
            type: ref('DestinationType'),
            job_id: { type: 'string' },
            state: { type: 'string', enum: [...UPLOAD_STATES], description: '"queued" for a new delivery; the current state when created is false.' },
          },
        },
      },
      status_url: { type: 'string', description: 'Path of GET /v1/deliveries/{token}.' },
    },
  },
  DeliveryBatchRequest: {
    type: 'object',
    required: ['deliveries'],
    additionalProperties: false,
    properties: {
      deliveries: { type: 'array', minItems: 1, maxItems: MAX_BATCH_DELIVERIES, items: ref('DeliveryRequest'), description: `1 to ${MAX_BATCH_DELIVERIES} delivery requests, each as POST /v1/deliveries takes it.` },
    },
  },
  DeliveryBatchAccepted: {
    type: 'object',
    required: ['results'],
    properties: {
      results: {
        type: 'array',
        description: 'One result per delivery of the request, in its order. Each stands alone: an invalid item is refused, the others are submitted.',
        items: {
          type: 'object',
          required: ['index', 'status'],
          properties: {
            index: { type: 'integer', minimum: 0, description: 'The position of the delivery in the request.' },
            status: { type: 'integer', description: 'What POST /v1/deliveries would have answered for this delivery alone: 202, 200 (an idempotent replay), 400, 409, 500 or 503.' },
            delivery: { ...ref('DeliveryAccepted'), description: 'With 202 and 200.' },
            error: { ...ref('Error'), description: 'With every other status; problems are by field path inside this delivery.' },
          },
        },
      },
    },
  },
  FleetError: {
    type: 'object',
    required: ['code', 'category', 'message'],
    properties: {
      code: { type: 'string', enum: Object.keys(ERROR_CATALOG) },
      category: { type: 'string', enum: ['permanent', 'transient', 'rate_limited', 'auth'] },
      message: { type: 'string', description: 'What happened and what to do next.' },
      destination: { type: 'string' },
      status: { type: 'integer', description: 'HTTP status the destination answered.' },
      retry_after_ms: { type: 'integer' },
      details: { type: 'string', description: 'What the destination said, secrets removed: for an HTTP destination\'s 4xx, the first 500 characters of its answer body.' },
    },
  },
  UploadResult: {
    type: 'object',
    required: ['url', 'bytes'],
    additionalProperties: true,
    description: 'The destination\'s details: S3/Azure/FTP URL, YouTube video id and URL, Facebook video id, Dropbox path and id, HTTP status and body.',
    properties: {
      url: { type: ['string', 'null'] },
      bytes: { type: 'integer' },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'The whole file\'s SHA-256 (hex), computed by the worker while the file streamed; compare it with your own.' },
    },
  },
  UploadStatus: {
    type: 'object',
    required: ['index', 'type', 'job_id', 'state', 'attempts', 'max_attempts'],
    properties: {
      index: { type: 'integer', minimum: 0 },
      type: ref('DestinationType'),
      job_id: { type: 'string' },
      state: { type: 'string', enum: [...UPLOAD_STATES] },
      attempts: { type: 'integer', description: 'Attempts used so far, the running one included; a run handed back at shutdown or deferred by a rate limit does not use one.' },
      max_attempts: { type: 'integer' },
      progress: {
        type: 'object',
        required: ['bytes_sent', 'bytes_total'],
        properties: { bytes_sent: { type: 'integer' }, bytes_total: { type: 'integer' } },
      },
      run_at: { type: 'string', format: 'date-time', description: 'For deferred uploads: when it may run again.' },
      deferred_reason: { type: 'string', enum: ['retry_backoff', 'rate_limited'] },
      limit_key: { type: 'string' },
      error: ref('FleetError'),
      upload: { type: ['string', 'null'], description: 'For completed uploads: the URL of the delivered file.' },
      result: ref('UploadResult'),
      finished_at: { type: 'string', format: 'date-time' },
    },
  },
  WebhookStatus: {
    type: 'object',
    required: ['state', 'attempts'],
    properties: {
      state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
      attempts: { type: 'integer' },
      last_status: { type: 'integer' },
      last_error: { type: 'string' },
      delivered_at: { type: 'string', format: 'date-time' },
    },
  },
  DeliveryStatus: {
    type: 'object',
    required: ['token', 'state', 'created_at', 'uploads'],
    properties: {
      token: { type: 'string' },
      state: { type: 'string', enum: [...DELIVERY_STATES] },
      created_at: { type: 'string', format: 'date-time' },
      upload: { type: ['string', 'null'], description: 'The spec\'s response field: the URL of a single completed upload.' },
      result: ref('UploadResult'),
      uploads: { type: 'array', items: ref('UploadStatus') },
      metadata: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
      webhook: ref('WebhookStatus'),
    },
  },
  DeliveryList: {
    type: 'object',
    required: ['deliveries'],
    properties: {
      deliveries: { type: 'array', items: ref('DeliveryStatus'), description: 'The caller\'s deliveries, newest first, each as GET /v1/deliveries/{token} answers it.' },
      next_cursor: { type: 'string', description: 'Present when more deliveries may follow: pass it as cursor (with the same filters) for the next page.' },
    },
  },
  WebhookReplay: {
    type: 'object',
    required: ['token', 'webhook_job_id'],
    properties: {
      token: { type: 'string' },
      webhook_job_id: { type: 'string', description: 'The webhook job queued; the delivery\'s status shows its outcome under webhook.' },
    },
  },
  CancelResult: {
    type: 'object',
    required: ['cancelled', 'not_cancelled'],
    properties: {
      cancelled: { type: 'array', items: { type: 'integer' }, description: 'Indexes of the uploads cancelled.' },
      not_cancelled: {
        type: 'array',
        description: 'Uploads that had started or ended already; a cancel does not stop them.',
        items: { type: 'object', required: ['index', 'state'], properties: { index: { type: 'integer' }, state: { type: 'string' } } },
      },
    },
  },
  RetryResult: {
    type: 'object',
    required: ['retried', 'not_retried'],
    properties: {
      retried: { type: 'array', items: { type: 'integer' }, description: 'Indexes of the failed uploads queued again.' },
      not_retried: {
        type: 'array',
        items: {
          type: 'object',
          required: ['index', 'state'],
          properties: { index: { type: 'integer' }, state: { type: 'string' }, reason: { type: 'string' } },
        },
      },
    },
  },
  ConnectStarted: {
    type: 'object',
    required: ['authorize_url', 'expires_in', 'redirect_uri'],
    properties: {
      authorize_url: { type: 'string', description: 'Open it in a browser: the provider\'s consent page. Single use.' },
      expires_in: { type: 'integer', description: 'Seconds the link stays usable.' },
      redirect_uri: { type: 'string', description: 'The callback URL; it must be registered with the provider\'s OAuth client exactly like this.' },
    },
  },
  Connected: {
    type: 'object',
    required: ['auth_secret', 'credential_id', 'platform', 'provider', 'message'],
    properties: {
      auth_secret: { type: 'string', description: `Use it as auth_secret in ${CONNECT_PLATFORM_LABELS} destinations. Shown only this once; the fleet keeps only its hash.` },
      credential_id: { type: 'string', description: 'Names the credential (GET/DELETE /v1/connect/credentials/{credential_id}); not secret.' },
      platform: { type: 'string', enum: CONNECT_PLATFORM_NAMES },
      provider: { type: 'string', enum: OAUTH_PROVIDER_IDS },
      account_id: { type: 'string', description: 'The provider\'s account id, when it names one (Dropbox).' },
      message: { type: 'string' },
    },
  },
  Credential: {
    type: 'object',
    required: ['credential_id', 'platform', 'provider', 'status', 'created_at'],
    description: 'A credential the fleet holds. Never carries a token or the auth_secret.',
    properties: {
      credential_id: { type: 'string' },
      platform: { type: 'string', enum: CONNECT_PLATFORM_NAMES },
      provider: { type: 'string', enum: OAUTH_PROVIDER_IDS },
      status: {
        type: 'string',
        enum: ['active', 'reconnect_required'],
        description: 'reconnect_required: the provider refused the refresh token (invalid_grant: access revoked or expired); uploads with this auth_secret fail until the account is connected again.',
      },
      account_id: { type: 'string' },
      scope: { type: 'string', description: 'Scopes granted, space-separated.' },
      created_at: { type: 'string', format: 'date-time' },
      refreshed_at: { type: 'string', format: 'date-time' },
      status_changed_at: { type: 'string', format: 'date-time' },
      reconnect_reason: { type: 'string', description: 'The provider\'s error, like "invalid_grant: Token has been expired or revoked."' },
    },
  },
  CredentialDeleted: {
    type: 'object',
    required: ['credential_id', 'deleted'],
    properties: { credential_id: { type: 'string' }, deleted: { type: 'boolean', const: true } },
  },
  Health: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } } },
  Readiness: {
    type: 'object',
    required: ['ready', 'checks'],
    properties: { ready: { type: 'boolean' }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
  },
};

const pathParameters = (name: string, description: string, schema: JsonSchema = { type: 'string' }) => ({
  type: 'object',
  required: [name],
  properties: { [name]: { ...schema, description } },
});
const tokenParameter = pathParameters('token', 'The delivery token from POST /v1/deliveries.');
const platformParameter = pathParameters(
  'platform',
  CONNECT_PLATFORMS.map((p) => `"${p.platform}" (a ${p.connect.provider.label} account)`).join(' or '),
  { type: 'string', enum: CONNECT_PLATFORM_NAMES },
);
const credentialIdParameter = pathParameters('credential_id', 'The part of the auth_secret between "ufc_" and the dot.');

/** Answers every authenticated route can give. */
const authAnswers = {
  401: errorAnswer('No valid API key: send "Authorization: Bearer <key>".'),
  500: errorAnswer('Unexpected error; the answer carries a request id, the log the details.'),
};
const deliveryAnswers = {
  ...authAnswers,
  403: errorAnswer('The delivery belongs to another API key.'),
  404: errorAnswer('No delivery with this token (tokens expire with the delivery record).'),
};
const open = { security: [] };
const credentialAnswers = {
  ...authAnswers,
  403: errorAnswer('The credential was connected with another API key.'),
  404: errorAnswer('No credential with this id.'),
  503: errorAnswer('No OAuth client is configured for this platform (UF_CONNECT_NOT_CONFIGURED).'),
};
const htmlOrJson = (description: string, schemaName: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } }, ...json(ref(schemaName)) },
});

/** The schema of every route, by operation: server.ts and connect.ts pass them to their routes. */
export function routeSchemas(options: { bodyLimitBytes: number }) {
  return {
    createDelivery: {
      operationId: 'createDelivery',
      summary: 'Validate a delivery request and enqueue one upload job per destination.',
      body: ref('DeliveryRequest'),
      response: {
        202: answer('The delivery was created and its uploads queued.', 'DeliveryAccepted'),
        200: answer('The idempotency_key matched an earlier delivery: that delivery, not a new one (created: false).', 'DeliveryAccepted'),
        400: errorAnswer('The request is invalid (every problem listed by field path, or the body is not JSON); nothing was enqueued.'),
        409: errorAnswer('The idempotency_key was used before for a different request.'),
        413: errorAnswer(`The body is larger than ${options.bodyLimitBytes} bytes.`),
        415: errorAnswer('The body is not application/json.'),
        ...authAnswers,
      },
    },
    listDeliveries: {
      operationId: 'listDeliveries',
      summary: 'The caller\'s deliveries (those created with this API key), newest first, filtered and a page at a time.',
      querystring: {
        type: 'object',
        properties: {
          state: { type: 'string', description: `Only deliveries in these states, comma-separated: ${DELIVERY_STATES.join(', ')}.` },
          type: { type: 'string', enum: [...DESTINATION_TYPES], description: 'Only deliveries with an upload of this destination type.' },
          created_after: { type: 'string', format: 'date-time', description: 'Only deliveries created at or after this time.' },
          created_before: { type: 'string', format: 'date-time', description: 'Only deliveries created at or before this time.' },
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Deliveries per page.' },
          cursor: { type: 'string', description: 'next_cursor of the previous page.' },
        },
      },
      response: {
        200: answer('A page of deliveries.', 'DeliveryList'),
        400: errorAnswer('A query parameter is invalid (listed in problems by parameter).'),
        ...authAnswers,
      },
    },
    replayWebhook: {
      operationId: 'replayWebhook',
      summary: 'Send the webhook of a finished delivery again (delivery.finished with its status now, signed and retried like the first). No body.',
      params: tokenParameter,
      response: {
        202: answer('The webhook was queued.', 'WebhookReplay'),
        409: errorAnswer('The delivery has no callback_url (UF_NO_CALLBACK_URL) or has not finished (UF_DELIVERY_NOT_FINISHED).'),
        ...deliveryAnswers,
      },
    },
    createDeliveryBatch: {
      operationId: 'createDeliveryBatch',
      summary: `Submit up to ${MAX_BATCH_DELIVERIES} deliveries at once, each on its own: one result per delivery, a bad one failing alone.`,
      body: ref('DeliveryBatchRequest'),
      response: {
        200: answer('Every delivery was handled; each result says how (its status is the one POST /v1/deliveries would have answered).', 'DeliveryBatchAccepted'),
        400: errorAnswer(`The body is not {"deliveries": [...]} with 1 to ${MAX_BATCH_DELIVERIES} items, or not JSON; nothing was enqueued.`),
        413: errorAnswer(`The body is larger than ${options.bodyLimitBytes} bytes.`),
        415: errorAnswer('The body is not application/json.'),
        ...authAnswers,
      },
    },
    getDelivery: {
      operationId: 'getDelivery',
      summary: 'The state of every upload of a delivery; for a single completed upload also the spec\'s top-level "upload" URL and "result".',
      params: tokenParameter,
      response: { 200: answer('The delivery\'s status.', 'DeliveryStatus'), ...deliveryAnswers },
    },
    cancelDelivery: {
      operationId: 'cancelDelivery',
      summary: 'Cancel the uploads that have not started yet; started or ended ones are listed in not_cancelled.',
      params: tokenParameter,
      response: { 200: answer('What was cancelled.', 'CancelResult'), ...deliveryAnswers },
    },
    retryDelivery: {
      operationId: 'retryDelivery',
      summary: 'Queue the failed uploads of a delivery again, each with a fresh set of attempts. No body.',
      params: tokenParameter,
      response: { 200: answer('What was queued again.', 'RetryResult'), ...deliveryAnswers },
    },
    startConnect: {
      operationId: 'startConnect',
      summary: 'Start connecting an account: answers the consent URL (offline access, PKCE) to open in a browser. The flow ends at the callback, which shows the auth_secret once. No body.',
      params: platformParameter,
      response: {
        200: answer('The consent URL.', 'ConnectStarted'),
        404: errorAnswer('Not a platform with a connect flow.'),
        503: errorAnswer('No OAuth client is configured for this platform (UF_CONNECT_NOT_CONFIGURED).'),
        ...authAnswers,
      },
    },
    connectCallback: {
      operationId: 'connectCallback',
      summary: 'Where the provider sends the browser back. Exchanges the code, stores the refresh token encrypted and shows the auth_secret once (HTML, or JSON with "Accept: application/json"; Cache-Control: no-store). No key needed: the single-use state of the flow protects it.',
      ...open,
      params: platformParameter,
      querystring: {
        type: 'object',
        required: ['state'],
        properties: {
          state: { type: 'string' },
          code: { type: 'string' },
          error: { type: 'string', description: 'Set by the provider, like "access_denied" when consent was declined.' },
        },
      },
      response: {
        200: htmlOrJson('The account is connected: the auth_secret, shown once.', 'Connected'),
        400: htmlOrJson('Consent was declined, or the link was used already, has expired or is unknown (UF_CONNECT_FAILED, with reason). Nothing was stored.', 'Error'),
        404: htmlOrJson('Not a platform with a connect flow.', 'Error'),
        502: htmlOrJson('The provider did not answer as it should (UF_CONNECT_FAILED, reason provider_unavailable or no_refresh_token). Nothing was stored.', 'Error'),
        503: htmlOrJson('No OAuth client is configured for this platform.', 'Error'),
        500: errorAnswer('Unexpected error; the answer carries a request id, the log the details.'),
      },
    },
    getCredential: {
      operationId: 'getCredential',
      summary: 'The status of a credential connected with this API key (active or reconnect_required). Never shows a token.',
      params: credentialIdParameter,
      response: { 200: answer('The credential.', 'Credential'), ...credentialAnswers },
    },
    deleteCredential: {
      operationId: 'deleteCredential',
      summary: 'Delete a credential: its auth_secret stops working at once (jobs using it fail with UF_CREDENTIALS_INVALID). Access at the provider is not revoked; users remove it in their account settings.',
      params: credentialIdParameter,
      response: { 200: answer('Deleted.', 'CredentialDeleted'), ...credentialAnswers },
    },
    liveness: {
      operationId: 'liveness',
      summary: 'Liveness: 200 while the process serves. No key needed.',
      ...open,
      response: { 200: answer('Alive.', 'Health') },
    },
    readiness: {
      operationId: 'readiness',
      summary: 'Readiness: whether the API can take requests now (Redis reachable). No key needed.',
      ...open,
      response: { 200: answer('Ready.', 'Readiness'), 503: answer('Not ready; checks say why.', 'Readiness') },
    },
    metrics: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format): uploads, bytes, retries, deferrals, webhooks, job counts per queue. Open unless METRICS_TOKEN is set; then it needs "Authorization: Bearer <METRICS_TOKEN>" (not an API key).',
      // Either open (no METRICS_TOKEN) or the token.
      security: [{}, { metricsToken: [] }] as Record<string, string[]>[],
      response: {
        200: { description: 'The metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
        401: errorAnswer('METRICS_TOKEN is set and the request did not send it.'),
      },
    },
    openapi: {
      operationId: 'openapi',
      summary: 'This document. No key needed: it holds the public contract only.',
      ...open,
      response: { 200: { description: 'The OpenAPI 3.1 document.', content: json({ type: 'object', required: ['openapi', 'paths'] }) } },
    },
  } satisfies Record<string, FastifySchema & { operationId: string }>;
}

export interface RegisteredRoute {
  method: string;
  /** Fastify's form: `/v1/deliveries/:token`. */
  url: string;
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route of an app built with registerOpenApi (once it is ready): what the tests compare the document with. */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(registered.get(app) ?? [])];
}

/**
 * Registers the document's generator and the shared schemas, and refuses any route without
 * a declared answer. Call it before the routes are registered (in buildApi, first).
 */
export function registerOpenApi(app: FastifyInstance, options: { version?: string } = {}): void {
  // Documentation only: see the note at the top of this file.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  for (const [name, schema] of Object.entries({ ...schemas, DeliveryRequest: deliveryRequestJsonSchema() })) app.addSchema({ $id: name, ...schema });
  const routes: RegisteredRoute[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    // HEAD routes are the ones Fastify adds beside each GET, with its schema.
    if (route.method === 'HEAD') return;
    if (!route.schema?.response) {
      throw new Error(`${String(route.method)} ${route.url} has no schema: declare its answers in openapi.ts (routeSchemas), so GET /openapi.json documents it`);
    }
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'upload-fleet API',
        version: options.version ?? '1',
        description: 'Submit deliveries of rendered videos to S3, Azure Blob, YouTube, Facebook, Dropbox, HTTP and FTP destinations, and follow them.',
      },
      security: [{ bearerAuth: [] }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS.' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when the operator set one.' },
        },
      },
    },
    // Components are named by their $id ("DeliveryStatus"), not "def-0".
    refResolver: { buildLocalReference: (schema, _baseUri, _fragment, i) => (typeof schema.$id === 'string' ? schema.$id : `def-${i}`) },
    hiddenTag: 'hidden',
  });
}
