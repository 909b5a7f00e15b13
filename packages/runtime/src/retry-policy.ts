
export interface BackoffOptions {
  /** Delay before the second attempt; doubles with every further attempt. */
  baseDelayMs: number;
  /** No retry waits longer than this (unless the destination's Retry-After asks for more). */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 5_000, maxDelayMs: 10 * 60_000 };

/**
 * Exponential backoff with "full jitter" (a random delay between half and all of the
 * exponential value), so that many jobs failing together do not retry together. A
 * Retry-After from the destination is a floor: we never come back earlier than asked.
 * `attemptsMade` is the number of attempts that have failed so far (>= 1).
 */
export function retryDelayMs(attemptsMade: number, error: { retryAfterMs?: number | undefined }, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const exponential = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
  return Math.max(jittered, error.retryAfterMs ?? 0);
}

/** Spreads jobs deferred to the same moment over a short window (10% of the wait, at most 30 s). */
export function withJitter(delayMs: number, random = Math.random): number {
  return Math.round(delayMs + random() * Math.min(30_000, delayMs * 0.1));
}
