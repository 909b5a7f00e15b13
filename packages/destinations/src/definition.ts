import { z } from 'zod';
import { registerSecretFieldNames, secretFieldsOf, type SettingGroup, type ValuesOf } from '@upload-fleet/core';
import type { DestinationAdapter } from './adapter.js';

/**
 * The destination definition: everything the rest of the system knows about one
 * destination type, declared once in the type's folder (`<type>/definition.ts`) and
 * listed once in `all.ts`. Type lists, the OpenAPI enum, the logger's redaction list,
 * limit keys and default limits, operator settings, dashboard descriptions and the
 * connect routes are all derived from these objects (`definitions.ts`).
 *
 * A definition imports no platform SDK: the API and the producer validate every type by
 * importing definitions alone. The adapter, which does load the SDK, is reached through
 * `loadAdapter`, a dynamic import that only worker processes call.
 */
export interface DestinationDefinition<
  Type extends string = string,
  Schema extends z.ZodObject = z.ZodObject,
  Settings = unknown,
> {
  readonly type: Type;
  /** For people: "Amazon S3". */
  readonly label: string;
  /** One line for the dashboard's queue list: what the pool uploads to. */
  readonly description: string;
  /**
   * The destination object users send, `{ type, ...parameters }`, with the spec's
   * defaults and enums. Secret fields are wrapped in `secret()`: the producer encrypts
   * them, and the logger hides them by name.
   */
  readonly schema: Schema;
  /**
   * A destination as a user would send it (placeholder credentials): the docs show it,
   * and the registry's tests validate it and derive its limit key.
   */
  readonly example: Readonly<Record<string, unknown>>;
  /**
   * The field that names where the file lands (object key, blob name, remote path), or null
   * for a destination that names none (a video platform). Its value may use filename
   * templates (`${token}`, `${date:YYYY/MM/DD}`...; `filename-templates.ts`), expanded once
   * per upload at submit time.
   */
  readonly targetPath: (keyof z.output<Schema> & string) | null;
  /** What a completed upload's `result` holds (beyond `url` and `bytes`, which all have). */
  readonly result: z.ZodObject;
  readonly limits: LimitDefinition<z.output<Schema>>;
  /**
   * Checks that hold at the moment a request is submitted, not when a worker reads the job
   * later: YouTube's `publish_at` must lie in the future when it is submitted, but a job
   * that waited (rate limits, retries) must not fail the worker's own parse for it. Each
   * problem's `path` is relative to the destination object. Optional.
   */
  readonly submitProblems?: (destination: z.output<Schema>, now: Date) => { path: string; message: string }[];
  /**
   * The operator's settings for this type (endpoints, parts in flight, timeouts), read from
   * the environment with the fleet's setting builders (`@upload-fleet/core`: one meaning of
   * empty, malformed and out-of-range values in every process), and what the adapter gets.
   */
  readonly settings: DestinationSettings<Settings>;
  /** Where users connect an account once and send `auth_secret` instead of a token. */
  readonly connect?: ConnectDefinition;
  /** The adapter, built from the settings. Loads the platform SDK: workers only. */
  readonly loadAdapter: (settings: Settings) => Promise<DestinationAdapter>;
}

/** A type's operator settings: the variables (`<TYPE>_...`, unit in the name) and the adapter's config built from them. */
export interface DestinationSettings<Settings> {
  readonly variables: SettingGroup;
  build(values: ValuesOf<SettingGroup>): Settings;
}

/** Declares a type's settings; `build` sees the variables' parsed values, typed. */
export function destinationSettings<const G extends SettingGroup, Settings>(variables: G, build: (values: ValuesOf<G>) => Settings): DestinationSettings<Settings> {
  return { variables, build: build as (values: ValuesOf<SettingGroup>) => Settings };
}

/** Fleet-wide limits of a type, per destination account (docs/rate-limits.md). */
export interface LimitDefinition<Destination> {
  /**
   * The account a destination's uploads count against: never a secret (use
   * `credentialKey` for an account known only through a token). Adapters that can name
   * the real account (YouTube's channel) do so in `accountOf`; this is the fallback.
   */
  key(destination: Destination): string;
  /** The platform's published limits, the defaults `RATE_LIMITS` can change. */
  defaults: LimitDefaults;
}

export interface LimitDefaults {
  /** Rolling windows, like YouTube's 50 uploads per hour: `{ limit: 50, windowMs: HOUR }`. */
  windows: { limit: number; windowMs: number }[];
  /** Uploads of one account at once across the fleet; undefined means no cap. */
  concurrency: number | undefined;
}

export const NO_LIMITS: LimitDefaults = { windows: [], concurrency: undefined };

/** An OAuth provider the fleet holds refresh tokens for (one client per provider). */
export interface OAuthProviderDefinition {
  /** Stored with each credential: "google", "dropbox". */
  readonly id: string;
  /** For messages: "Google", "Dropbox". */
  readonly label: string;
  /** Prefix of the operator's variables: `<env>_CLIENT_ID`, `_CLIENT_SECRET`, `_AUTH_URL`, `_TOKEN_URL`, `_SCOPES`. */
  readonly env: string;
  readonly authUrl: string;
  readonly tokenUrl: string;
  /**
   * How the client authenticates at the token endpoint: in the form body, or with HTTP
   * Basic (RFC 6749 section 2.3.1 allows either; each provider documents one).
   */
  readonly clientAuth: 'body' | 'basic';
  /** What the consent URL needs so that the token answer carries a refresh token. */
  readonly offlineParams: Readonly<Record<string, string>>;
  /**
   * `expiring` (the default): access tokens expire and the consent yields a refresh token,
   * which the fleet holds and refreshes with. `long-lived`: the provider's user tokens do
   * not expire until revoked and it issues no refresh token (Vimeo); the fleet holds the
   * access token itself, and a 401 for it marks the credential `reconnect_required`.
   */
  readonly accessTokens?: 'expiring' | 'long-lived';
  /**
   * The name of the client id in the consent URL and the token request body; default
   * `client_id` (RFC 6749). TikTok calls it `client_key`.
   */
  readonly clientIdParam?: string;
  /** How the consent URL joins scopes; default ' ' (RFC 6749 section 3.3). TikTok joins them with ','. */
  readonly scopeSeparator?: ' ' | ',';
  /** The token answer's field naming the account; default `account_id` (Dropbox). TikTok's is `open_id`. */
  readonly accountIdField?: string;
}

/** The connect flow of a type: `POST /v1/connect/<type>`. */
export interface ConnectDefinition {
  readonly provider: OAuthProviderDefinition;
  /**
   * Scopes asked for at consent (when the operator's `<env>_SCOPES` is unset, the
   * provider asks for the scopes of all its destinations); empty: the provider's default.
   */
  readonly scopes: readonly string[];
  /** A destination to show on the success page, without its `type` and `auth_secret`. */
  readonly example: Readonly<Record<string, unknown>>;
}

/**
 * Declares a definition. The names of its secret fields join the logger's redaction list
 * here, so a secret field of a new destination is hidden in logs without anyone having
 * to remember a second list.
 */
export function defineDestination<Type extends string, Schema extends z.ZodObject, Settings>(
  definition: DestinationDefinition<Type, Schema, Settings>,
): DestinationDefinition<Type, Schema, Settings> {
  registerSecretFieldNames(secretFieldsOf(definition.schema));
  return definition;
}

/** The result fields every destination reports. */
export const baseResultSchema = z.object({
  /** Where the file now lives; null when the destination has no URL for it. */
  url: z.string().nullable(),
  /** Bytes the destination received. */
  bytes: z.number().int().nonnegative(),
  /** The whole file's SHA-256 (hex), computed by the worker while the file streamed; compare it with your own. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
