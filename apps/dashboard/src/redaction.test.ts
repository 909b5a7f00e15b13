import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretFieldName, redactText, redactValue } from './redaction.js';

describe('redactText', () => {
  const cases: [string, string, string][] = [
    ['a bearer token', 'Authorization: Bearer abc123secret', 'Authorization: Bearer [REDACTED]'],
    ['a basic credential', 'sent Basic dXNlcjpodW50ZXIy', 'sent Basic [REDACTED]'],
    ['name: value', 'password: hunter2-secret', 'password: [REDACTED]'],
    ['name=value', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key=[REDACTED]'],
    ['JSON in text', '{"oauth_token":"ya29.abc","filename":"a.mp4"}', '{"oauth_token":"[REDACTED]","filename":"a.mp4"}'],
    ['escaped JSON in text', '{\\"password\\":\\"pw-123\\"}', '{\\"password\\":\\"[REDACTED]\\"}'],
    ['URL userinfo', 'ftp://bob:pw-123@ftp.example.com/a.mp4', 'ftp://[REDACTED]@ftp.example.com/a.mp4'],
    ['S3 presigned query', 'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab12&X-Amz-Expires=60', 'https://b.s3.amazonaws.com/k?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-Expires=60'],
    ['Azure SAS', 'https://a.blob.core.windows.net/c/b?sv=2024&sig=abc%2Bdef&se=2030', 'https://a.blob.core.windows.net/c/b?sv=2024&sig=[REDACTED]&se=2030'],
    ['OAuth code and token in a query', '/cb?code=4/0Ab&state=s&access_token=tok', '/cb?code=[REDACTED]&state=s&access_token=[REDACTED]'],
    ['a bare AWS-shaped access key id', 'InvalidAccessKeyId: AKIAIOSFODNN7EXAMPLE is not known', 'InvalidAccessKeyId: [REDACTED] is not known'],
    ['an access key id by name', 'aws_access_key_id=AKIA1', 'aws_access_key_id=[REDACTED]'],
    ['a bare AWS-shaped secret key', 'key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY used', 'key [REDACTED] used'],
    ['a JWT', 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig_part-1', 'token [REDACTED]'],
    ['a PEM private key', 'k=-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- end', 'k=[REDACTED] end'],
  ];
  for (const [name, input, expected] of cases) {
    it(`hides ${name}`, () => expect(redactText(input)).toBe(expected));
  }

  const untouched = [
    'Error: connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16)',
    '[UF_DESTINATION_REJECTED] The server answered 403 Forbidden; check the bucket policy.',
    'delivery token: dlv_AbC123_-x',
    'sha1 0123456789abcdef0123456789abcdef01234567',
    'https://files.example.com/v.mp4?sv=2024&part=3',
    'limit key upload-fleet:limits:youtube:channel:UC123',
    'Basic auth failed',
  ];
  for (const text of untouched) {
    it(`leaves ordinary text alone: ${text.slice(0, 40)}`, () => expect(redactText(text)).toBe(text));
  }
});

describe('redactValue', () => {
  it('hides secret-named fields at any depth and the encrypted envelope, keeps the rest', () => {
    const job = {
      token: 'dlv_abc',
      index: 0,
      secrets: { v: 1, kid: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'Y2lwaGVy' },
      destination: { type: 'http', url: 'https://x.example.com/in', user: 'bob', password: 'pw', headers: { Authorization: 'Bearer t' }, aws_access_key_id: 'AKIA1', region: 'eu-west-1' },
      result: [{ status: 200, body: 'password=hunter2&ok=1', error: { code: 'UF_X', message: 'fine' } }],
      empty: { password: '', refresh_token: null },
    };
    expect(redactValue(job)).toEqual({
      token: 'dlv_abc',
      index: 0,
      secrets: REDACTED,
      destination: { type: 'http', url: 'https://x.example.com/in', user: 'bob', password: REDACTED, headers: REDACTED, aws_access_key_id: REDACTED, region: 'eu-west-1' },
      result: [{ status: 200, body: 'password=[REDACTED]&ok=1', error: { code: 'UF_X', message: 'fine' } }],
      empty: { password: '', refresh_token: null },
    });
  });

  it('hides a field named token unless it holds a delivery token, and survives cycles', () => {
    const cyclic: Record<string, unknown> = { token: 'ya29.secret' };
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toEqual({ token: REDACTED, self: '[Circular]' });
  });

  it('knows secret field names, and leaves ordinary ones', () => {
    for (const name of ['password', 'aws_secret_access_key', 'oauth_access_token', 'oauth_token', 'auth_secret', 'key', 'Authorization', 'x-api-key', 'client_secret', 'refresh_token', 'AccountKey', 'sig', 'session_uri', 'Cookie', 'aws_access_key_id']) {
      expect(isSecretFieldName(name), name).toBe(true);
    }
    for (const name of ['filename', 'bucket', 'limit_key', 'repeatJobKey', 'keywords', 'url', 'code', 'signal', 'description']) {
      expect(isSecretFieldName(name), name).toBe(false);
    }
  });
});
