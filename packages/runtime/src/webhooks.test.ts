import { RequestError } from 'got';
import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { webhookFailureText } from './webhooks.js';

describe('webhookFailureText', () => {
  it('keeps the reason of a taxonomy error raised under got, without the upload hint', () => {
    const unresolved = new FleetError('UF_NETWORK', 'Could not resolve host "hooks.example.com" (ENOTFOUND)');
    expect(unresolved.message).toContain('the upload will be retried');
    const text = webhookFailureText(new RequestError(unresolved.message, unresolved, undefined as never));
    expect(text).toBe('UF_NETWORK: Could not resolve host "hooks.example.com" (ENOTFOUND)');
    expect(text).not.toMatch(/upload/);
  });

  it('names the code of a plain connection failure', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(webhookFailureText(new RequestError(refused.message, refused, undefined as never))).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9');
  });
});
