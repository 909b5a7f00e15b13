import { z } from 'zod';
import type { OAuthProvider } from '@upload-fleet/destinations';

export type { OAuthProvider } from '@upload-fleet/destinations';

/**
 * The fleet's OAuth clients: one per provider whose refresh tokens it can hold. They belong
 * to the operator (registered in the Google Cloud console and the Dropbox App Console) and
 * come from the environment; tests point the URLs at local fakes.
 */
export interface OAuthClientSettings {
  clientId: string;
  clientSecret: string;
  /** The consent page users are sent to (authorization endpoint). */
  authUrl: string;
  /** Where codes and refresh tokens are exchanged for access tokens. */
  tokenUrl: string;
  /** Scopes asked for at consent; empty means the provider's default (Dropbox: the app's permissions). */
  scopes: string[];
}

export interface OAuthSettings {
  /** Set only when GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET are. Used for YouTube. */
  google?: OAuthClientSettings;
  /** Set only when DROPBOX_OAUTH_CLIENT_ID and DROPBOX_OAUTH_CLIENT_SECRET are. */
  dropbox?: OAuthClientSettings;
  /**
   * The API's external base URL (scheme, host and any path prefix), for the redirect URIs
   * registered with the providers: `<publicBaseUrl>/v1/connect/<platform>/callback`.
   * Only the API needs it.
   */
  publicBaseUrl?: string;
}

export const OAUTH_PROVIDERS = ['google', 'dropbox'] as const satisfies readonly OAuthProvider[];

/** The platform names users see (URL path of the connect flow, destination type) for each provider. */
export type ConnectPlatform = 'youtube' | 'dropbox';

interface ProviderTraits {
  platform: ConnectPlatform;
  /** For messages: "YouTube (Google)". */
  label: string;
  /** Prefix of the provider's environment variables. */
  env: string;
  /**
   * How the client authenticates at the token endpoint. Google's web-server guide sends
   * client_id and client_secret in the form body; Dropbox's OAuth guide uses HTTP Basic
   * with the app key and secret (both accept either, as RFC 6749 section 2.3.1 allows).
   */
  clientAuth: 'body' | 'basic';
  /**
   * What the consent URL needs so the token answer carries a refresh token. Google:
   * access_type=offline, and prompt=consent because Google returns a refresh token only on
   * a consent (a user who connects a second time would otherwise get none). Dropbox:
   * token_access_type=offline.
   */
  offlineParams: Record<string, string>;
}

export const PROVIDER_TRAITS: Record<OAuthProvider, ProviderTraits> = {
  google: {
    platform: 'youtube',
    label: 'YouTube (Google)',
    env: 'GOOGLE_OAUTH',
    clientAuth: 'body',
    offlineParams: { access_type: 'offline', prompt: 'consent' },
  },
  dropbox: {
    platform: 'dropbox',
    label: 'Dropbox',
    env: 'DROPBOX_OAUTH',
    clientAuth: 'basic',
    offlineParams: { token_access_type: 'offline' },
  },
};

/** `youtube` -> `google`, `dropbox` -> `dropbox`; undefined for anything else. */
export function providerOfPlatform(platform: string): OAuthProvider | undefined {
  return OAUTH_PROVIDERS.find((p) => PROVIDER_TRAITS[p].platform === platform);
}

/** The providers with a client configured. */
export function enabledOAuthProviders(settings: OAuthSettings | undefined): OAuthProvider[] {
  return OAUTH_PROVIDERS.filter((p) => settings?.[p] !== undefined);
}

export const DEFAULT_GOOGLE_SCOPES = ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube'];

/** An empty variable counts as unset. */
const unsetIfEmpty = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalText = z.preprocess(unsetIfEmpty, z.string().trim().optional());
const url = (name: string, fallback: string) =>
  z.preprocess(unsetIfEmpty, z.string().trim().default(fallback).refine((v) => /^https?:\/\/[^\s/]+/.test(v), `${name} must be an http(s) URL`));
const scopes = (fallback: string) => z.preprocess(unsetIfEmpty, z.string().default(fallback)).transform((v) => v.split(/[\s,]+/).filter(Boolean));

/**
 * The OAuth variables, shared by the API (connect flow) and the workers (refresh). Spread
 * it into an app's own schema, or use `oauthEnvSchema`.
 */
export const oauthEnvShape = {
  GOOGLE_OAUTH_CLIENT_ID: optionalText,
  GOOGLE_OAUTH_CLIENT_SECRET: optionalText,
  GOOGLE_OAUTH_AUTH_URL: url('GOOGLE_OAUTH_AUTH_URL', 'https://accounts.google.com/o/oauth2/v2/auth'),
  GOOGLE_OAUTH_TOKEN_URL: url('GOOGLE_OAUTH_TOKEN_URL', 'https://oauth2.googleapis.com/token'),
  GOOGLE_OAUTH_SCOPES: scopes(DEFAULT_GOOGLE_SCOPES.join(' ')),
  DROPBOX_OAUTH_CLIENT_ID: optionalText,
  DROPBOX_OAUTH_CLIENT_SECRET: optionalText,
  DROPBOX_OAUTH_AUTH_URL: url('DROPBOX_OAUTH_AUTH_URL', 'https://www.dropbox.com/oauth2/authorize'),
  DROPBOX_OAUTH_TOKEN_URL: url('DROPBOX_OAUTH_TOKEN_URL', 'https://api.dropboxapi.com/oauth2/token'),
  DROPBOX_OAUTH_SCOPES: scopes(''),
  PUBLIC_BASE_URL: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .trim()
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'PUBLIC_BASE_URL must be the API\'s external http(s) URL without query, like https://uploads.example.com')
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
  ),
};

type OAuthEnv = z.output<z.ZodObject<typeof oauthEnvShape>>;

/**
 * Problems zod's field checks cannot see: a client id without its secret, or the reverse.
 * Use it in a `superRefine` of any schema that spreads `oauthEnvShape` (it runs even when
 * other fields failed, so every problem is reported at once).
 */
export function addOAuthEnvIssues(env: Partial<Record<keyof OAuthEnv, unknown>>, ctx: z.RefinementCtx): void {
  for (const provider of OAUTH_PROVIDERS) {
    const prefix = PROVIDER_TRAITS[provider].env;
    const id = env[`${prefix}_CLIENT_ID` as keyof OAuthEnv];
    const secret = env[`${prefix}_CLIENT_SECRET` as keyof OAuthEnv];
    if (Boolean(id) === Boolean(secret)) continue;
    const [missing, present] = id ? [`${prefix}_CLIENT_SECRET`, `${prefix}_CLIENT_ID`] : [`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`];
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: `${missing} is required when ${present} is set (set both to enable ${PROVIDER_TRAITS[provider].label} connections, or neither)`,
    });
  }
}

/** The settings from parsed variables (after `addOAuthEnvIssues` found nothing). */
export function oauthSettingsOf(env: OAuthEnv): OAuthSettings {
  const settings: OAuthSettings = {};
  if (env.PUBLIC_BASE_URL) settings.publicBaseUrl = env.PUBLIC_BASE_URL;
  if (env.GOOGLE_OAUTH_CLIENT_ID && env.GOOGLE_OAUTH_CLIENT_SECRET) {
    settings.google = {
      clientId: env.GOOGLE_OAUTH_CLIENT_ID,
      clientSecret: env.GOOGLE_OAUTH_CLIENT_SECRET,
      authUrl: env.GOOGLE_OAUTH_AUTH_URL,
      tokenUrl: env.GOOGLE_OAUTH_TOKEN_URL,
      scopes: env.GOOGLE_OAUTH_SCOPES,
    };
  }
  if (env.DROPBOX_OAUTH_CLIENT_ID && env.DROPBOX_OAUTH_CLIENT_SECRET) {
    settings.dropbox = {
      clientId: env.DROPBOX_OAUTH_CLIENT_ID,
      clientSecret: env.DROPBOX_OAUTH_CLIENT_SECRET,
      authUrl: env.DROPBOX_OAUTH_AUTH_URL,
      tokenUrl: env.DROPBOX_OAUTH_TOKEN_URL,
      scopes: env.DROPBOX_OAUTH_SCOPES,
    };
  }
  return settings;
}

/** The OAuth variables on their own; `.safeParse(env)` in an entrypoint. */
export const oauthEnvSchema = z.object(oauthEnvShape).superRefine(addOAuthEnvIssues).transform(oauthSettingsOf);

/** Parses the OAuth variables; throws one Error listing every problem (never a value). */
export function loadOAuthSettings(env: Record<string, string | undefined>): OAuthSettings {
  const parsed = oauthEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  - ${issue.path.map(String).join('.') || '(env)'}: ${issue.message}`);
  throw new Error(`Invalid OAuth configuration:\n${lines.join('\n')}`);
}
