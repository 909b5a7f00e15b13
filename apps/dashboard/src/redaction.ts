import { redactedFieldNames } from '@upload-fleet/core';
import { SECRET_FIELD_NAMES as DESTINATION_SECRET_FIELDS } from '@upload-fleet/destinations/definitions';

/**
 * What the dashboard shows instead of a credential. Job data never holds a credential in
 * clear (the producer encrypts secret fields into `data.secrets`) and the worker scrubs the
 * secret values of a job out of its failure reason and logs; this is the second line of
 * defence, for anything that slipped through: a field named like a secret, an
 * Authorization header quoted in an SDK's error, a signed URL in a stack trace. It works
 * without the encryption keys on purpose: the dashboard never holds them.
 */
export const REDACTED = '[REDACTED]';

const SECRET_NAME_PARTS = [
  'secret',
  'passw(?:or)?d',
  'passphrase',
  'token',
  'authori[sz]ation',
  'cookie',
  'credential',
  'signature',
  'api[-_]?key',
  'access[-_]?key(?![-_]?id)',
  // The key id too: with its secret it names an account (issue 13, item 10). Only with
  // separators, so that the error code InvalidAccessKeyId stays readable.
  'access[-_]key[-_]id',
  'private[-_]?key',
  'account[-_]?key',
  'session[-_]?(?:id|uri|url)',
  'upload[-_]?(?:id|url)',
].join('|');

/** Names that are secret only when they are the whole name (as parts they are too common). */
const EXACT_SECRET_NAMES = ['key', 'sig', 'pwd', 'pass', 'auth', 'headers', 'secrets'];

const coreSecretNames = new Set([...redactedFieldNames(), ...DESTINATION_SECRET_FIELDS.map((name) => name.toLowerCase())]);
const secretNamePattern = new RegExp(`(?:${SECRET_NAME_PARTS})`, 'i');

/** The delivery token (`dlv_...`) names a delivery; reading it still needs an API key, so it stays visible. */
const DELIVERY_TOKEN = /^dlv_[A-Za-z0-9_-]{1,100}$/;

/** True for a field name whose value is (or may hold) a credential. */
export function isSecretFieldName(name: string): boolean {
  const lower = name.toLowerCase();
  return coreSecretNames.has(lower) || EXACT_SECRET_NAMES.includes(lower) || secretNamePattern.test(name);
}

/**
 * Text patterns, applied in this order to every string the dashboard sends:
 * - PEM private keys and JWTs, whole;
 * - the credentials of an `Authorization`-style scheme (`Bearer abc`, `Basic dXNlcjpwdw==`);
 * - the userinfo of a URL (`https://user:pw@host`);
 * - query parameters named like secrets (`?X-Amz-Signature=...`, `&sig=...`, `?access_token=...`),
 *   and OAuth's `?code=`;
 * - `name: value` / `name=value` / `"name":"value"` where the name is secret-like;
 * - strings shaped like an AWS access key id (`AKIA`/`ASIA` and 16 characters) or secret
 *   access key (40 characters of mixed-case base64).
 */
const NAME_IN_TEXT = `[\\w.-]*?(?:${SECRET_NAME_PARTS})[\\w.-]*|${EXACT_SECRET_NAMES.join('|')}`;

const TEXT_RULES: [RegExp, string | ((...groups: string[]) => string)][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b(Bearer|Digest|SharedKey|AWS4-HMAC-SHA256)(\s+)(?!\[REDACTED\])[^\s"'\\,;]+/gi, `$1$2${REDACTED}`],
  [/\b(Basic)(\s+)[A-Za-z0-9+/]{6,}={0,2}/gi, `$1$2${REDACTED}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\]+@/gi, `$1${REDACTED}@`],
  [new RegExp(`([?&;](?:${NAME_IN_TEXT}|code)=)[^&#\\s"'\\\\]+`, 'gi'), `$1${REDACTED}`],
  [
    new RegExp(`(^|[^\\w.-])(${NAME_IN_TEXT})(\\\\?["']?\\s*[:=]\\s*\\\\?["']?)(?!\\[REDACTED\\]|dlv_|(?:Bearer|Basic|Digest|SharedKey|AWS4-HMAC-SHA256)\\s+\\[REDACTED\\])([^\\s"'\\\\,;&}\\]]+)`, 'gi'),
    (_match, before, name, separator) => `${before}${name}${separator}${REDACTED}`,
  ],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  [/(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, REDACTED],
];

/** A copy of `text` with every credential-looking part replaced by [REDACTED]. */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) {
    out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement as (...groups: string[]) => string);
  }
  return out;
}

/**
 * A deep copy of a JSON-like value with the values of secret-named fields replaced (the
 * encrypted `secrets` envelope included) and every string passed through redactText.
 */
export function redactValue(value: unknown): unknown {
  return redactNode(undefined, value, new WeakSet());
}

function redactNode(name: string | undefined, value: unknown, ancestors: WeakSet<object>): unknown {
  if (name !== undefined && isSecretFieldName(name) && !(name === 'token' && typeof value === 'string' && DELIVERY_TOKEN.test(value))) {
    return value === null || value === undefined || value === '' ? value : REDACTED;
  }
  if (typeof value === 'string') return redactText(value);
  if (!value || typeof value !== 'object') return value;
  if (ancestors.has(value)) return '[Circular]';
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactNode(undefined, item, ancestors));
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return redactNode(name, toJSON.call(value), ancestors);
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redactNode(key, child, ancestors)]));
  } finally {
    ancestors.delete(value);
  }
}
