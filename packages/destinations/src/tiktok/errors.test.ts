import { describe, expect, it } from 'vitest';
import { POSTING_CAP_RETRY_MS, RATE_LIMIT_FALLBACK_MS, errorForAnswer, isOk, isTokenRejection, type TikTokAnswer } from './errors.js';

const answer = (status: number, code: string, headers: Record<string, string> = {}): TikTokAnswer => ({
  status,
  headers,
  body: JSON.stringify({ data: {}, error: { code, message: `TikTok says ${code}.`, log_id: '202612031200001234ABCD' } }),
});

describe('errorForAnswer', () => {
  it.each([
    [answer(429, 'rate_limit_exceeded'), 'UF_RATE_LIMITED', 'rate_limited', RATE_LIMIT_FALLBACK_MS],
    [answer(429, 'rate_limit_exceeded', { 'retry-after': '7' }), 'UF_RATE_LIMITED', 'rate_limited', 7000],
    [answer(403, 'spam_risk_too_many_posts'), 'UF_RATE_LIMITED', 'rate_limited', POSTING_CAP_RETRY_MS],
    [answer(403, 'reached_active_user_cap'), 'UF_RATE_LIMITED', 'rate_limited', POSTING_CAP_RETRY_MS],
    [answer(403, 'unaudited_client_can_only_post_to_private_accounts'), 'UF_DESTINATION_REJECTED', 'permanent', undefined],
    [answer(403, 'privacy_level_option_mismatch'), 'UF_DESTINATION_REJECTED', 'permanent', undefined],
    [answer(403, 'spam_risk_user_banned_from_posting'), 'UF_PERMISSION_DENIED', 'permanent', undefined],
    [answer(403, 'spam_risk_text'), 'UF_DESTINATION_REJECTED', 'permanent', undefined],
    [answer(401, 'access_token_invalid'), 'UF_RECONNECT_REQUIRED', 'auth', undefined],
    [answer(401, 'scope_not_authorized'), 'UF_RECONNECT_REQUIRED', 'auth', undefined],
    [answer(400, 'invalid_param'), 'UF_DESTINATION_REJECTED', 'permanent', undefined],
    [answer(500, 'internal_error'), 'UF_DESTINATION_UNAVAILABLE', 'transient', undefined],
    [answer(503, 'something_new', { 'retry-after': '2' }), 'UF_DESTINATION_UNAVAILABLE', 'transient', 2000],
    [answer(429, 'something_new'), 'UF_RATE_LIMITED', 'rate_limited', RATE_LIMIT_FALLBACK_MS],
    [answer(200, 'something_new'), 'UF_DESTINATION_UNAVAILABLE', 'transient', undefined],
    [{ status: 502, headers: {}, body: '<html>Bad Gateway</html>' }, 'UF_DESTINATION_UNAVAILABLE', 'transient', undefined],
  ])('%j is %s (%s)', (given, code, category, retryAfterMs) => {
    const error = errorForAnswer(given, 'init');
    expect({ code: error.code, category: error.category, retryAfterMs: error.retryAfterMs }).toEqual({ code, category, retryAfterMs });
  });

  it("names TikTok's code, message and log_id, and says what to do", () => {
    const error = errorForAnswer(answer(403, 'unaudited_client_can_only_post_to_private_accounts'), 'init');
    expect(error.message).toContain('"TikTok says unaudited_client_can_only_post_to_private_accounts" (unaudited_client_can_only_post_to_private_accounts, log_id 202612031200001234ABCD)');
    expect(error.message).toMatch(/Set privacy_level to SELF_ONLY, or have the operator get the app audited/);
  });
});

describe('isOk and isTokenRejection', () => {
  it('reads success from the status and error.code "ok", and a 401 without a body as a token rejection', () => {
    expect(isOk(answer(200, 'ok'))).toBe(true);
    expect(isOk({ status: 206, headers: {}, body: '' })).toBe(true);
    expect(isOk(answer(200, 'invalid_param'))).toBe(false);
    expect(isTokenRejection(answer(401, 'access_token_invalid'))).toBe(true);
    expect(isTokenRejection({ status: 401, headers: {}, body: '' })).toBe(true);
    expect(isTokenRejection(answer(401, 'scope_not_authorized'))).toBe(false);
  });
});
