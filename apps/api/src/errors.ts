import { redactedFieldNames, scrubText, secretStringsOf, type ValidationProblem } from '@upload-fleet/core';
import { SECRET_FIELD_NAMES as DESTINATION_SECRET_FIELDS } from '@upload-fleet/destinations/definitions';
import {
  DeliveryForbiddenError,
  DeliveryNotFoundError,
  IdempotencyConflictError,
  ValidationFailedError,
  WebhookReplayRefusedError,
} from '@upload-fleet/producer';

/**
 * The API's error codes. Each answer carries one; clients branch on the code, people read
 * the message (which says what to do next). The UF_ prefix is shared with the worker's
 * error taxonomy (packages/core/src/errors.ts).
 */
export const API_ERROR_CODES = [
  'UF_INVALID_REQUEST',
  'UF_UNAUTHORIZED',
  'UF_DELIVERY_FORBIDDEN',
  'UF_DELIVERY_NOT_FOUND',
  'UF_NOT_FOUND',
  'UF_IDEMPOTENCY_CONFLICT',
  'UF_NO_CALLBACK_URL',
  'UF_DELIVERY_NOT_FINISHED',
  'UF_PAYLOAD_TOO_LARGE',
  'UF_UNSUPPORTED_MEDIA_TYPE',
  'UF_BAD_REQUEST',
  'UF_CONNECT_NOT_CONFIGURED',
  'UF_CONNECT_FAILED',
  'UF_CREDENTIAL_NOT_FOUND',
  'UF_CREDENTIAL_FORBIDDEN',
  'UF_SERVICE_UNAVAILABLE',
  'UF_INTERNAL',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Every error answer: `{ "error": { "code", "message", ... } }`. */
export interface ApiErrorBody {
  error: {
    code: ApiErrorCode;
    message: string;
    /** For UF_INVALID_REQUEST: every problem, by field path. */
    problems?: ValidationProblem[];
    /** For UF_IDEMPOTENCY_CONFLICT: the delivery that holds the key. */
    token?: string;
    /** For UF_INTERNAL: quote it when reporting the failure; the log has the details. */
    request_id?: string;
    /** For UF_CONNECT_FAILED: why, like "access_denied" or "invalid_state". */
    reason?: string;
  };
}

/** An error the API raises itself, with its status and answer already decided. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: Omit<ApiErrorBody['error'], 'code' | 'message'> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

export function invalidRequest(problems: ValidationProblem[]): ApiError {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return new ApiError(400, 'UF_INVALID_REQUEST', `The request is invalid (${count}, listed in "problems" by field path). Fix them and submit again; nothing was enqueued.`, { problems });
}

export interface ErrorContext {
  bodyLimitBytes: number;
  requestId: string;
  /** The parsed request body, so that secret values in it are kept out of every message. */
  body: unknown;
  /** False while the API's Redis connection is down: a failure then answers 503, not 500. */
  redisAvailable?: boolean;
}

/** Seconds a client is told to wait (Retry-After) while Redis is unreachable. */
export const REDIS_RETRY_AFTER_SECONDS = 2;

/** The answer while Redis is unreachable; the route sets Retry-After. */
export function redisUnavailable(): ApiError {
  return new ApiError(
    503,
    'UF_SERVICE_UNAVAILABLE',
    `The service cannot reach its queue store (Redis) right now; nothing was done. Retry in ${REDIS_RETRY_AFTER_SECONDS} s or later, with the same idempotency_key for a POST so a retry can never create a second delivery.`,
  );
}

/**
 * Errors of a Redis client that fails fast (packages/redis, role "client"): no connection,
 * a command refused because the offline queue is off, a command past its deadline, or a
 * connection that closed with the command in flight. Also found as a cause.
 */
function isRedisUnavailableError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ConnectionClosedError') return true;
    if (/enableOfflineQueue|Connection is closed|Command timed out|Stream isn't writeable/.test(e.message)) return true;
  }
  return false;
}

/**
 * Maps any error to the answer the client gets. Client mistakes (the producer's
 * validation, Fastify's own 4xx errors) keep their 4xx status; everything else is a 500
 * that says nothing about internals (`unexpected` tells the caller to log it).
 */
export function toApiError(error: unknown, context: ErrorContext): { error: ApiError; unexpected: boolean } {
  const known = (apiError: ApiError) => ({ error: apiError, unexpected: false });
  if (error instanceof ApiError) return known(error);
  if (error instanceof ValidationFailedError) return known(invalidRequest(scrubProblems(error.problems, context.body)));
  if (error instanceof DeliveryNotFoundError) return known(new ApiError(404, 'UF_DELIVERY_NOT_FOUND', error.message));
  if (error instanceof DeliveryForbiddenError) return known(new ApiError(403, 'UF_DELIVERY_FORBIDDEN', error.message));
  if (error instanceof WebhookReplayRefusedError) return known(new ApiError(409, error.code, error.message));
  if (error instanceof IdempotencyConflictError) {
    return known(new ApiError(409, 'UF_IDEMPOTENCY_CONFLICT', error.message, { token: error.token }));
  }
  const fastifyError = asFastifyClientError(error);
  if (fastifyError) return known(fromFastifyError(fastifyError, context));
  if (context.redisAvailable === false || isRedisUnavailableError(error)) return known(redisUnavailable());
  return {
    error: new ApiError(500, 'UF_INTERNAL', `An unexpected error occurred; it was logged with request id "${context.requestId}". Try again later, or report it with that id.`, {
      request_id: context.requestId,
    }),
    unexpected: true,
  };
}

interface FastifyClientError {
  code: string;
  statusCode: number;
  message: string;
  validation?: { instancePath?: string; message?: string }[];
}

/** Fastify's own errors (FST_ERR_*) with a 4xx status, and schema validation errors. */
function asFastifyClientError(error: unknown): FastifyClientError | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { code, statusCode, validation } = error as Partial<FastifyClientError>;
  const isFastify = typeof code === 'string' && code.startsWith('FST_');
  if (!isFastify && !Array.isArray(validation)) return undefined;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return undefined;
  return error as FastifyClientError;
}

function fromFastifyError(error: FastifyClientError, context: ErrorContext): ApiError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'UF_PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${context.bodyLimitBytes} bytes. Send a smaller body (a delivery request is only JSON; the video itself is read from its source).`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UF_UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON: send it with "Content-Type: application/json".');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(414, 'UF_BAD_REQUEST', 'A path parameter is longer than 100 characters; check the delivery token.');
    case 'FST_ERR_BAD_URL':
      return new ApiError(400, 'UF_BAD_REQUEST', 'The URL is not valid (bad percent-encoding); check the path.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalidRequest([{ path: '(body)', message: 'the body is not valid JSON' }]);
  }
  if (Array.isArray(error.validation)) {
    return invalidRequest(
      error.validation.map((v) => ({ path: (v.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || '(body)', message: v.message ?? 'invalid' })),
    );
  }
  if (error.statusCode === 404) return new ApiError(404, 'UF_NOT_FOUND', error.message);
  // Fastify's own messages describe the protocol problem; none of them repeats the body.
  return new ApiError(error.statusCode, 'UF_BAD_REQUEST', error.message);
}

/** Field names whose values are credentials, wherever they appear in a request body. */
const SECRET_FIELD_NAMES = new Set([...redactedFieldNames(), ...DESTINATION_SECRET_FIELDS.map((n) => n.toLowerCase())]);

/**
 * Validation messages come from our schemas and never quote values, but a problem list is
 * the one place where request content meets an answer: as a second line of defence, any
 * value of a secret field of the body is replaced should it ever appear.
 */
function scrubProblems(problems: ValidationProblem[], body: unknown): ValidationProblem[] {
  const secrets = secretValuesOf(body);
  if (secrets.length === 0) return problems;
  return problems.map((p) => ({ path: scrubText(p.path, secrets), message: scrubText(p.message, secrets) }));
}

function secretValuesOf(value: unknown, depth = 0): string[] {
  if (!value || typeof value !== 'object' || depth > 10) return [];
  const out: string[] = [];
  for (const [name, child] of Object.entries(value)) {
    if (SECRET_FIELD_NAMES.has(name.toLowerCase())) out.push(...secretStringsOf(child));
    else out.push(...secretValuesOf(child, depth + 1));
  }
  return out;
}
