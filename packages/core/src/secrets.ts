import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { pooledRandomBytes } from './random-pool.js';

/**
 * Fields marked here hold credentials. The producer encrypts them before a job reaches
 * Redis; only the adapter call sees them decrypted; loggers and error paths scrub them.
 */
export const secretFieldRegistry = z.registry<{ secret: true }>();

/** Marks a schema (usually one field of a destination) as secret. */
export function secret<T extends z.ZodType>(schema: T): T {
  secretFieldRegistry.add(schema, { secret: true });
  return schema;
}

/** Names of the secret fields of an object schema, as declared with `secret()`. */
export function secretFieldsOf(schema: z.ZodObject): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => secretFieldRegistry.has(field as z.ZodType))
    .map(([name]) => name);
}

/** AES-256-GCM envelope; `kid` names the key so keys can rotate. */
export interface EncryptedEnvelope {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  data: string;
}

const AUTH_TAG_BYTES = 16;

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/**
 * A set of keys: the first encrypts, every one decrypts. Rotation: put the new key first,
 * keep the old ones until no job encrypted with them is left.
 */
export class SecretBox {
  // KeyObjects, made once: given a Buffer, every createCipheriv would check and wrap the raw
  // key again, which costs more than the AES-GCM of a few secrets (a third of encrypt's CPU).
  // createSecretKey copies the bytes, so a caller that reuses its Buffer changes no key here.
  private readonly keys: Map<string, KeyObject>;
  private readonly current: { id: string; key: KeyObject };

  constructor(keys: EncryptionKey[]) {
    const [first] = keys;
    if (!first) throw new Error('SecretBox needs at least one encryption key.');
    const ids = new Set<string>();
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`Encryption key "${k.id}" must be 32 bytes (256 bits), got ${k.key.length}.`);
      // Two keys under one id would encrypt with one and try to decrypt with the other.
      if (ids.has(k.id)) throw new Error(`Encryption key id "${k.id}" is given twice; give each key its own id.`);
      ids.add(k.id);
    }
    this.keys = new Map(keys.map((k) => [k.id, createSecretKey(k.key)]));
    this.current = { id: first.id, key: this.keys.get(first.id)! };
  }

  /**
   * Parses `ENCRYPTION_KEYS`: comma-separated `id:base64key` pairs, newest first.
   * Example: `2026-11:3q2+7w...=,2026-05:q83v...=`.
   */
  static fromConfig(value: string): SecretBox {
    const keys = value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part, index) => {
        const colon = part.indexOf(':');
        if (colon <= 0) throw new Error(`ENCRYPTION_KEYS entry ${index + 1} must look like "id:base64key".`);
        return { id: part.slice(0, colon), key: Buffer.from(part.slice(colon + 1), 'base64') };
      });
    return new SecretBox(keys);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  encrypt(plaintext: unknown): EncryptedEnvelope {
    const iv = pooledRandomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: AUTH_TAG_BYTES });
    const data = Buffer.concat([cipher.update(JSON.stringify(plaintext), 'utf8'), cipher.final()]);
    return {
      v: 1,
      kid: this.current.id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  decrypt<T = unknown>(envelope: EncryptedEnvelope): T {
    const key = this.keys.get(envelope.kid);
    if (!key) {
      throw new Error(`No encryption key "${envelope.kid}" is configured; add it back to ENCRYPTION_KEYS to read jobs encrypted with it.`);
    }
    // A fixed tag length: without it Node accepts a tag truncated to 4 bytes (DEP0182),
    // which makes forging a ciphertext far easier.
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'), { authTagLength: AUTH_TAG_BYTES });
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    const plaintext = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]);
    return JSON.parse(plaintext.toString('utf8')) as T;
  }
}

/** Every string inside a value (deeply), for scrubbing: the secret values of a job. */
export function secretStringsOf(value: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= 4) out.push(v);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return out;
}

/**
 * Replaces every occurrence of the given secret values in text, and of the forms they take
 * on the wire: base64, percent-encoded as in a URL (either hex case) and
 * form-encoded (spaces as "+", as URLSearchParams writes them).
 */
export function scrubText(text: string, secrets: readonly string[]): string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    const b64 = Buffer.from(s).toString('base64');
    if (b64.length >= 8) forms.add(b64);
    // encodeURIComponent throws URIError on a lone surrogate, and scrubbing runs inside
    // error handlers, where a throw turns any failure into a 500. On the wire (UTF-8) a lone
    // surrogate becomes U+FFFD, as Buffer.from and URLSearchParams write it: encode that form.
    const encoded = encodeURIComponent(toWellFormed(s));
    forms.add(encoded);
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
    forms.add(new URLSearchParams({ s }).toString().slice(2));
  }
  // Longest first: a secret that contains another must not be left half replaced.
  let out = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join('[REDACTED]');
  return out;
}

/** A lone UTF-16 surrogate: one not paired with its other half (the `u` flag matches by code point). */
const LONE_SURROGATE = /\p{Surrogate}/gu;

/** True when a string is well-formed Unicode: no lone surrogate (String.prototype.isWellFormed, ES2024). */
export function isWellFormedText(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

/** The string with every lone surrogate replaced by U+FFFD, as UTF-8 encoders write it (String.prototype.toWellFormed). */
function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * A copy of a value (a result, an answer's headers) with every secret replaced in every
 * string, deeply (`scrubText` on each; keys are kept). For what a destination sent back:
 * an endpoint may echo the request's credentials in its body or headers.
 */
export function scrubDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubText(v, secrets);
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([key, child]) => [key, visit(child)]));
    }
    return v;
  };
  return visit(value) as T;
}
