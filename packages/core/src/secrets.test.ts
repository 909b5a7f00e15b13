import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SecretBox, isWellFormedText, scrubDeep, scrubText, secret, secretFieldsOf, secretStringsOf, type EncryptedEnvelope, type EncryptionKey } from './secrets.js';

const key = (id: string, fill?: number): EncryptionKey => ({ id, key: fill === undefined ? randomBytes(32) : Buffer.alloc(32, fill) });

const SECRETS = {
  aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  headers: { Authorization: 'Bearer your-api-token' },
  password: 'pässwörd with spaces & symbols=+/',
};

describe('secret() and secretFieldsOf', () => {
  it('lists the fields marked secret, in declaration order, and nothing else', () => {
    const schema = z.strictObject({
      user: z.string(),
      password: secret(z.string().optional()),
      host: z.string(),
      token: secret(z.string().min(1)),
      headers: secret(z.record(z.string(), z.string()).default({})),
    });
    expect(secretFieldsOf(schema)).toEqual(['password', 'token', 'headers']);
  });

  it('returns the schema it marks, so it composes inside a shape', () => {
    const field = z.string();
    expect(secret(field)).toBe(field);
  });

  it('lists nothing for a schema without secrets', () => {
    expect(secretFieldsOf(z.object({ a: z.string(), b: z.number() }))).toEqual([]);
  });

  it('does not mark the inner schema when a wrapper is marked', () => {
    const inner = z.string();
    const schema = z.object({ marked: secret(inner.optional()), plain: inner });
    expect(secretFieldsOf(schema)).toEqual(['marked']);
  });
});

describe('SecretBox', () => {
  it('round-trips values of every JSON shape', () => {
    const box = new SecretBox([key('2026-05')]);
    for (const value of [SECRETS, 'just a string', 42, true, null, ['a', { b: '🔑' }], {}]) {
      expect(box.decrypt(box.encrypt(value))).toEqual(value);
    }
  });

  it('writes a versioned envelope with the key id, a 12-byte IV and a 16-byte tag, and no plaintext', () => {
    const box = new SecretBox([key('2026-05')]);
    const envelope = box.encrypt(SECRETS);
    expect(envelope).toEqual({ v: 1, kid: '2026-05', iv: expect.any(String), tag: expect.any(String), data: expect.any(String) });
    expect(Buffer.from(envelope.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(envelope.tag, 'base64')).toHaveLength(16);
    const serialized = JSON.stringify(envelope);
    for (const plain of secretStringsOf(SECRETS)) expect(serialized).not.toContain(plain);
  });

  it('uses a fresh IV for every encryption, so equal plaintexts give different ciphertexts', () => {
    const box = new SecretBox([key('k')]);
    const envelopes = Array.from({ length: 200 }, () => box.encrypt(SECRETS));
    expect(new Set(envelopes.map((e) => e.iv)).size).toBe(200);
    expect(new Set(envelopes.map((e) => e.data)).size).toBe(200);
  });


  it('prepares its keys once and keeps its own copy: envelopes stay readable by any box with the same key bytes, and a caller reusing its Buffer changes nothing', () => {
    const bytes = randomBytes(32);
    const original = Buffer.from(bytes);
    const box = new SecretBox([{ id: 'k', key: bytes }]);
    const first = box.encrypt(SECRETS);
    bytes.fill(0);
    const second = box.encrypt(SECRETS);
    const sameKey = new SecretBox([{ id: 'k', key: original }]);
    expect(sameKey.decrypt(first)).toEqual(SECRETS);
    expect(sameKey.decrypt(second)).toEqual(SECRETS);
    expect(box.decrypt(sameKey.encrypt(SECRETS))).toEqual(SECRETS);
    // A key that really were the zeroed Buffer could not read them.
    expect(() => new SecretBox([{ id: 'k', key: Buffer.alloc(32) }]).decrypt(second)).toThrow();
  });
  describe('detects tampering', () => {
    const box = new SecretBox([key('k1'), key('k2')]);
    const envelope = box.encrypt(SECRETS);
    const flip = (b64: string, index = 0) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[index] = bytes[index]! ^ 0x01;
      return bytes.toString('base64');
    };
    const cases: [string, EncryptedEnvelope][] = [
      ['a flipped ciphertext bit', { ...envelope, data: flip(envelope.data) }],
      ['a flipped last ciphertext bit', { ...envelope, data: flip(envelope.data, Buffer.from(envelope.data, 'base64').length - 1) }],
      ['a changed IV', { ...envelope, iv: flip(envelope.iv) }],
      ['a changed tag', { ...envelope, tag: flip(envelope.tag) }],
      ['a tag truncated to 4 bytes', { ...envelope, tag: Buffer.from(envelope.tag, 'base64').subarray(0, 4).toString('base64') }],
      ['a tag truncated to 12 bytes', { ...envelope, tag: Buffer.from(envelope.tag, 'base64').subarray(0, 12).toString('base64') }],
      ['an empty tag', { ...envelope, tag: '' }],
      ['a ciphertext cut short', { ...envelope, data: Buffer.from(envelope.data, 'base64').subarray(1).toString('base64') }],
      ['the key id of another configured key', { ...envelope, kid: 'k2' }],
    ];
    it.each(cases)('refuses %s', (_label, tampered) => {
      expect(() => box.decrypt(tampered)).toThrow();
    });

    it('still decrypts the untouched envelope', () => {
      expect(box.decrypt(envelope)).toEqual(SECRETS);
    });
  });

  describe('key rotation', () => {
    const old = key('2026-05');
    const current = key('2026-11');
    const before = new SecretBox([old]);
    const after = new SecretBox([current, old]);

    it('decrypts with an older key after rotation', () => {
      const envelope = before.encrypt(SECRETS);
      expect(envelope.kid).toBe('2026-05');
      expect(after.decrypt(envelope)).toEqual(SECRETS);
    });

    it('encrypts with the first (newest) key', () => {
      expect(after.encrypt(SECRETS).kid).toBe('2026-11');
    });

    it('refuses an unknown key id, naming it and saying how to fix it', () => {
      const envelope = after.encrypt(SECRETS);
      expect(() => before.decrypt(envelope)).toThrow(/No encryption key "2026-11" is configured; add it back to ENCRYPTION_KEYS/);
    });

    it('refuses an envelope once its key was removed', () => {
      const envelope = before.encrypt(SECRETS);
      expect(() => new SecretBox([current]).decrypt(envelope)).toThrow(/"2026-05"/);
    });
  });

  describe('keys', () => {
    it.each([0, 16, 24, 31, 33, 64])('rejects a %i-byte key, naming the key and the required length', (length) => {
      expect(() => new SecretBox([{ id: 'short', key: Buffer.alloc(length, 7) }])).toThrow(`Encryption key "short" must be 32 bytes (256 bits), got ${length}.`);
    });

    it('checks every key, not only the first', () => {
      expect(() => new SecretBox([key('good'), { id: 'old', key: Buffer.alloc(16) }])).toThrow(/"old"/);
    });

    it('needs at least one key', () => {
      expect(() => new SecretBox([])).toThrow(/at least one encryption key/);
    });

    it('refuses two keys under one id', () => {
      expect(() => new SecretBox([key('2026-05', 1), key('2026-05', 2)])).toThrow(/"2026-05" is given twice/);
    });

    it('generateKey gives distinct base64 keys of 32 bytes', () => {
      const a = SecretBox.generateKey();
      const b = SecretBox.generateKey();
      expect(Buffer.from(a, 'base64')).toHaveLength(32);
      expect(a).not.toBe(b);
    });
  });

  describe('fromConfig (ENCRYPTION_KEYS)', () => {
    const k1 = SecretBox.generateKey();
    const k2 = SecretBox.generateKey();

    it('parses id:base64 pairs, newest first, ignoring blanks and a trailing comma', () => {
      const oldBox = SecretBox.fromConfig(`2026-05:${k2}`);
      const box = SecretBox.fromConfig(` 2026-11:${k1} , 2026-05:${k2},`);
      expect(box.encrypt('x').kid).toBe('2026-11');
      expect(box.decrypt(oldBox.encrypt('from the old key'))).toBe('from the old key');
    });

    it('rejects an entry without an id, naming its position but not its value', () => {
      let message = '';
      try {
        SecretBox.fromConfig(`2026-11:${k1},${k2}`);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe('ENCRYPTION_KEYS entry 2 must look like "id:base64key".');
      expect(message).not.toContain(k2);
    });

    it('rejects a key that does not decode to 32 bytes without printing it', () => {
      const short = randomBytes(16).toString('base64');
      expect(() => SecretBox.fromConfig(`k:${short}`)).toThrow(/must be 32 bytes/);
      expect(() => SecretBox.fromConfig(`k:${short}`)).not.toThrow(short);
    });

    it('rejects an empty value', () => {
      expect(() => SecretBox.fromConfig('')).toThrow(/at least one encryption key/);
      expect(() => SecretBox.fromConfig(' , ')).toThrow(/at least one encryption key/);
    });
  });
});

describe('secretStringsOf', () => {
  it('collects every string of 4 characters or more, deeply', () => {
    expect(secretStringsOf({ a: 'abcd', b: { c: ['efghi', 'xyz', { d: 'jklmn' }] }, e: 12345, f: null, g: true }).sort()).toEqual(['abcd', 'efghi', 'jklmn']);
  });

  it('handles a plain string and empty values', () => {
    expect(secretStringsOf('ya29.token')).toEqual(['ya29.token']);
    expect(secretStringsOf(undefined)).toEqual([]);
    expect(secretStringsOf({})).toEqual([]);
  });
});

describe('scrubText', () => {
  const token = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const password = 'p@ss word~!*(x)+=';

  it.each([
    ['raw', `secret=${token}`],
    ['raw, several times', `${token} and again ${token}`],
    ['base64', `blob ${Buffer.from(token).toString('base64')}`],
    ['percent-encoded (encodeURIComponent)', `https://h.example.com/cb?token=${encodeURIComponent(token)}`],
    ['percent-encoded with lower-case hex', `token=${encodeURIComponent(token).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())}`],
    ['form-encoded (URLSearchParams)', `POST body: ${new URLSearchParams({ token }).toString()}`],
  ])('removes a secret written %s', (_label, text) => {
    const out = scrubText(text, [token]);
    expect(out).toContain('[REDACTED]');
    expect(out).not.toContain(token);
    expect(out).not.toContain(encodeURIComponent(token));
    expect(out).not.toMatch(/K7MDENG/i);
  });

  it.each([
    ['encodeURIComponent', encodeURIComponent(password)],
    ['URLSearchParams', new URLSearchParams({ password }).toString().slice('password='.length)],
    ['a URL query', new URL(`https://h.example.com/?password=${encodeURIComponent(password)}`).search.slice('?password='.length)],
    ['base64', Buffer.from(password).toString('base64')],
  ])('removes a password with spaces and symbols, %s', (_label, form) => {
    expect(form).not.toBe(password);
    expect(scrubText(`before ${form} after`, [password])).toBe('before [REDACTED] after');
  });

  it('removes a secret that contains another secret whole, whatever their order', () => {
    for (const secrets of [['abcd', 'abcdefgh'], ['abcdefgh', 'abcd']]) {
      expect(scrubText('x abcdefgh y abcd z', secrets)).toBe('x [REDACTED] y [REDACTED] z');
    }
  });

  it('treats secrets as text, not as patterns', () => {
    expect(scrubText('a.b*c and aXbbc', ['a.b*c'])).toBe('[REDACTED] and aXbbc');
  });

  it('leaves text without secrets alone and ignores empty secrets', () => {
    expect(scrubText('nothing to hide here', [token, ''])).toBe('nothing to hide here');
    expect(scrubText('text', [])).toBe('text');
  });

  it('removes every one of several secrets', () => {
    const out = scrubText(`key=${token}; auth=Bearer ya29.abc; pw=${encodeURIComponent(password)}`, [token, 'ya29.abc', password]);
    expect(out).toBe('key=[REDACTED]; auth=Bearer [REDACTED]; pw=[REDACTED]');
  });

  it('never throws: a secret or a text with a lone surrogate is scrubbed like any other', () => {
    const lone = 'pass\ud800word';
    expect(() => encodeURIComponent(lone)).toThrow(URIError);
    expect(scrubText(`a ${lone} b`, [lone])).toBe('a [REDACTED] b');
    // UTF-8 turns the lone surrogate into U+FFFD: that wire form is scrubbed too.
    expect(scrubText(`q=${encodeURIComponent('pass\ufffdword')}`, [lone])).toBe('q=[REDACTED]');
    expect(scrubText('text \udc00 alone', ['other-secret'])).toBe('text \udc00 alone');
  });
});

describe('isWellFormedText', () => {
  it('refuses lone surrogates only', () => {
    expect(isWellFormedText('plain, é, 😀')).toBe(true);
    expect(isWellFormedText('\ud83d')).toBe(false);
    expect(isWellFormedText('x\ude00y')).toBe(false);
  });
});

describe('scrubDeep', () => {
  it('scrubs every string of a result, deeply, keeping keys and other values', () => {
    const result = { url: 'https://h/x', status: 200, headers: { 'x-echo': 'Bearer tok-12345', list: ['a', 'tok-12345'] }, body: '{"auth":"tok-12345"}', ok: true };
    expect(scrubDeep(result, ['tok-12345'])).toEqual({ url: 'https://h/x', status: 200, headers: { 'x-echo': 'Bearer [REDACTED]', list: ['a', '[REDACTED]'] }, body: '{"auth":"[REDACTED]"}', ok: true });
    expect(result.body).toContain('tok-12345');
  });
});
