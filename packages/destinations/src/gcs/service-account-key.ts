/**
 * A service account's JSON key (https://cloud.google.com/iam/docs/keys-create-delete), as
 * the destination's `credentials` carry it: the object of the downloaded key file, or its
 * text. Only the fields the JWT grant needs are read. No SDK and no crypto here: the
 * definition (which the API imports) checks keys with it at submit time.
 */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id: string | undefined;
  /** Where the signed JWT is exchanged for an access token (the key's own, else Google's). */
  token_uri: string;
}

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export type KeyReading = { ok: true; key: ServiceAccountKey } | { ok: false; problem: string };

/** Reads a key; the problem names the field and says what to send. Never quotes the key. */
export function readServiceAccountKey(credentials: unknown): KeyReading {
  let value = credentials;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return { ok: false, problem: 'credentials is not JSON: send the service account key file\'s content (an object with type "service_account", client_email and private_key), as an object or as its text' };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'credentials must be a service account key object (type "service_account", client_email, private_key)' };
  }
  const key = value as Record<string, unknown>;
  if (key.type !== 'service_account') {
    return {
      ok: false,
      problem: `credentials.type must be "service_account"${typeof key.type === 'string' ? ` (this key is "${key.type.slice(0, 40)}")` : ''}: create a key for a service account in the Google Cloud console (IAM > Service accounts > Keys) and send its JSON`,
    };
  }
  if (typeof key.client_email !== 'string' || !key.client_email.includes('@')) return { ok: false, problem: 'credentials.client_email is missing: send the whole JSON key file of the service account' };
  if (typeof key.private_key !== 'string' || !/-----BEGIN (RSA )?PRIVATE KEY-----/.test(key.private_key)) {
    return { ok: false, problem: 'credentials.private_key is missing or not a PEM private key: send the whole JSON key file of the service account' };
  }
  let tokenUri = GOOGLE_TOKEN_URI;
  if (key.token_uri !== undefined) {
    if (typeof key.token_uri !== 'string' || !/^https?:\/\//.test(key.token_uri) || !URL.canParse(key.token_uri)) {
      return { ok: false, problem: 'credentials.token_uri must be an http(s) URL (Google\'s keys carry https://oauth2.googleapis.com/token)' };
    }
    tokenUri = key.token_uri;
  }
  return {
    ok: true,
    key: {
      client_email: key.client_email,
      private_key: key.private_key,
      private_key_id: typeof key.private_key_id === 'string' ? key.private_key_id : undefined,
      token_uri: tokenUri,
    },
  };
}

/**
 * The key as the job keeps it: only the fields the grant uses. A key file also holds public
 * strings (project_id, client_id, Google's URLs, "googleapis.com"); the runtime scrubs every
 * string of a job's secrets from its messages and results, so keeping those would turn a
 * bucket named like its project, or a storage.googleapis.com URL, into "[redacted]". And a
 * key sent as JSON text is scrubbed part by part only once it is an object.
 */
export function serviceAccountKeyFields(key: ServiceAccountKey): Record<string, string> {
  return {
    type: 'service_account',
    client_email: key.client_email,
    private_key: key.private_key,
    ...(key.private_key_id ? { private_key_id: key.private_key_id } : {}),
    token_uri: key.token_uri,
  };
}
