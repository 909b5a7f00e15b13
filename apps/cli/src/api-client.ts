import type { DeliveryStatus, ValidationProblem } from '@upload-fleet/core';

/**
 * The answers of the HTTP API the CLI reads. Types only: the CLI has no runtime dependency
 * on the workspace, so the built `upload-fleet` binary runs on its own.
 */
export type { DeliveryStatus, UploadStatus, ValidationProblem } from '@upload-fleet/core';

export interface DeliveryAccepted {
  token: string;
  created: boolean;
  uploads: { index: number; type: string; job_id: string; state: string }[];
  status_url: string;
}

export interface CancelAnswer {
  cancelled: number[];
  not_cancelled: { index: number; state: string }[];
}

export interface RetryAnswer {
  retried: number[];
  not_retried: { index: number; state: string; reason?: string }[];
}

export interface DeliveryListAnswer {
  deliveries: DeliveryStatus[];
  /** Present when more may follow: the `cursor` of the next page. */
  next_cursor?: string;
}

/** The filters and page of `GET /v1/deliveries`, as its query parameters. */
export interface DeliveryListQuery {
  state?: string;
  type?: string;
  created_after?: string;
  created_before?: string;
  limit?: string;
  cursor?: string;
}

export interface WebhookReplayAnswer {
  token: string;
  webhook_job_id: string;
}

/** An error answer of the API: `{ "error": { "code", "message", "problems"? } }`. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: ValidationProblem[] = [],
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

/** The API could not be reached at all (refused, reset, timed out, DNS). */
export class ApiUnreachableError extends Error {
  constructor(
    readonly apiUrl: string,
    readonly reason: string,
  ) {
    super(`Cannot reach the upload-fleet API at ${apiUrl} (${reason}). Is it running (\`pnpm start\`)? Point the CLI at it with --api-url or UPLOAD_FLEET_API_URL.`);
    this.name = 'ApiUnreachableError';
  }
}

export interface ApiClientOptions {
  /** Like `http://localhost:8080`. */
  apiUrl: string;
  /** Sent as `Authorization: Bearer <key>`; without one the API answers 401. */
  apiKey: string | undefined;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A thin client of the API's delivery routes, on Node's fetch. */
export class ApiClient {
  private readonly base: string;

  constructor(private readonly options: ApiClientOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
  }

  submit(request: unknown): Promise<DeliveryAccepted> {
    return this.call('POST', '/v1/deliveries', request);
  }

  get(token: string): Promise<DeliveryStatus> {
    return this.call('GET', deliveryPath(token));
  }

  cancel(token: string): Promise<CancelAnswer> {
    return this.call('DELETE', deliveryPath(token));
  }

  retry(token: string): Promise<RetryAnswer> {
    return this.call('POST', `${deliveryPath(token)}/retry`);
  }

  list(query: DeliveryListQuery): Promise<DeliveryListAnswer> {
    const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
    return this.call('GET', `/v1/deliveries${params.size > 0 ? `?${params}` : ''}`);
  }

  replayWebhook(token: string): Promise<WebhookReplayAnswer> {
    return this.call('POST', `${deliveryPath(token)}/webhook`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ApiUnreachableError(this.base, reasonOf(error));
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.ok) return parsed as T;
    const error = (parsed as { error?: { code?: unknown; message?: unknown; problems?: unknown } } | undefined)?.error;
    if (error && typeof error.message === 'string') {
      throw new ApiRequestError(response.status, String(error.code ?? 'UF_UNKNOWN'), error.message, Array.isArray(error.problems) ? (error.problems as ValidationProblem[]) : []);
    }
    throw new ApiRequestError(response.status, 'UF_UNEXPECTED_ANSWER', `The API answered ${response.status} ${response.statusText} without an error message; is ${this.base} the upload-fleet API?`);
  }
}

function deliveryPath(token: string): string {
  return `/v1/deliveries/${encodeURIComponent(token)}`;
}

/** The useful part of a fetch failure: undici hides the system error in `cause`. */
function reasonOf(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
