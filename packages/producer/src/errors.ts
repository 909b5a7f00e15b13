import type { ValidationProblem } from '@upload-fleet/core';

/** The request is invalid; nothing was enqueued. `problems` lists every one by field path. */
export class ValidationFailedError extends Error {
  readonly code = 'UF_INVALID_REQUEST';
  constructor(readonly problems: ValidationProblem[]) {
    super(`The delivery request is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'ValidationFailedError';
  }
}

export class DeliveryNotFoundError extends Error {
  readonly code = 'UF_DELIVERY_NOT_FOUND';
  constructor(token: string) {
    super(`No delivery with token "${token}" exists (tokens expire with the delivery record). Check the token.`);
    this.name = 'DeliveryNotFoundError';
  }
}

/** The delivery belongs to another API key. */
export class DeliveryForbiddenError extends Error {
  readonly code = 'UF_DELIVERY_FORBIDDEN';
  constructor(token: string) {
    super(`The delivery "${token}" was created with another API key; use that key to read or change it.`);
    this.name = 'DeliveryForbiddenError';
  }
}

/** The same idempotency_key was used before for a different request. */
export class IdempotencyConflictError extends Error {
  readonly code = 'UF_IDEMPOTENCY_CONFLICT';
  constructor(readonly token: string) {
    super(`idempotency_key was already used for a different request (delivery "${token}"). Use a new key for a new request.`);
    this.name = 'IdempotencyConflictError';
  }
}

/** A webhook replay was asked of a delivery that has no callback_url, or has not finished. */
export class WebhookReplayRefusedError extends Error {
  constructor(
    readonly code: 'UF_NO_CALLBACK_URL' | 'UF_DELIVERY_NOT_FINISHED',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookReplayRefusedError';
  }
}
