import { z } from 'zod';
import {
  OAUTH_PROVIDERS as PROVIDER_DEFINITIONS,
  CONNECT_PLATFORMS,
  connectPlatformOf,
  defaultScopesOf,
  type OAuthProviderDefinition,
} from '@upload-fleet/destinations/definitions';

/** The platform users see (URL path of the connect flow, destination type). */
export type ConnectPlatform = string;

/** The id of an OAuth provider the fleet holds refresh tokens for ("google", "dropbox"). */
export type OAuthProvider = string;

/**
 * The fleet's OAuth clients: one per provider whose refresh tokens it can hold. They belong
 * to the operator (registered in the provider's developer console) and come from the
 * environment; tests point the URLs at local fakes. The providers are those of the
 * destinations with a connect flow (`connect` in their definitions).
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
  /**
   * The API's external base URL (scheme, host and any path prefix), for the redirect URIs
   * registered with the providers: `<publicBaseUrl>/v1/connect/<platform>/callback`.
   * Only the API needs it.
   */
  publicBaseUrl?: string;
  /** The client of each provider id, set only when both `<ENV>_CLIENT_ID` and `<ENV>_CLIENT_SECRET` are. */
  [provider: string]: OAuthClientSettings | string | undefined;
}

/** The client configured for a provider, if any. */
export function oauthClientOf(settings: OAuthSettings | undefined, provider: OAuthProvider): OAuthClientSettings | undefined {
  const client = provider === 'publicBaseUrl' ? undefined : settings?.[provider];
  return typeof client === 'object' ? client : undefined;
}

export const OAUTH_PROVIDERS: readonly OAuthProvider[] = PROVIDER_DEFINITIONS.map((p) => p.id);

interface ProviderTraits extends OAuthProviderDefinition {
  /** The destination type whose connect flow a credential of this provider came from (the first, when several share it). */
  platform: string;
  /** For messages: "YouTube (Google)". */
  label: string;
}

/** What the connect flow and the token refresh need of each provider, derived from the destination definitions. */
export const PROVIDER_TRAITS: Record<OAuthProvider, ProviderTraits> = Object.fromEntries(
  PROVIDER_DEFINITIONS.map((provider) => {
    const platforms = CONNECT_PLATFORMS.filter((p) => p.connect.provider.id === provider.id);
    const names = platforms.map((p) => labelOf(p.platform)).join(', ');
    const label = names === provider.label ? provider.label : `${names} (${provider.label})`;
    return [provider.id, { ...provider, platform: platforms[0]!.platform, label }];
  }),
);

/** A provider's traits; throws for an id no definition declares (a credential from another build). */
export function traitsOf(provider: OAuthProvider): ProviderTraits {
  const traits = PROVIDER_TRAITS[provider];
  if (!traits) throw new Error(`"${provider}" is not an OAuth provider of this build (${OAUTH_PROVIDERS.join(', ')})`);
  return traits;
}

function labelOf(platform: string): string {
  return connectPlatformOf(platform)?.label ?? platform;
}

/** The provider behind a platform's connect flow (`youtube` -> `google`); undefined for a platform without one. */
export function providerOfPlatform(platform: string): OAuthProvider | undefined {
  return connectPlatformOf(platform)?.connect.provider.id;
}

/** The providers with a client configured. */
export function enabledOAuthProviders(settings: OAuthSettings | undefined): OAuthProvider[] {
  return OAUTH_PROVIDERS.filter((p) => oauthClientOf(settings, p) !== undefined);
}

/** An empty variable counts as unset. */
const unsetIfEmpty = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalText = z.preprocess(unsetIfEmpty, z.string().trim().optional());
const url = (name: string, fallback: string) =>
  z.preprocess(unsetIfEmpty, z.string().trim().default(fallback).refine((v) => /^https?:\/\/[^\s/]+/.test(v), `${name} must be an http(s) URL`));
const scopes = (fallback: string) => z.preprocess(unsetIfEmpty, z.string().default(fallback)).transform((v) => v.split(/[\s,]+/).filter(Boolean));

/**
 * The OAuth variables, shared by the API (connect flow) and the workers (refresh):
 * `<ENV>_CLIENT_ID`, `_CLIENT_SECRET`, `_AUTH_URL`, `_TOKEN_URL` and `_SCOPES` for each
 * provider, and PUBLIC_BASE_URL. Spread it into an app's own schema, or use `oauthEnvSchema`.
 */
export const oauthEnvShape = {
  ...Object.fromEntries(
    PROVIDER_DEFINITIONS.flatMap((provider) => [
      [`${provider.env}_CLIENT_ID`, optionalText],
      [`${provider.env}_CLIENT_SECRET`, optionalText],
      [`${provider.env}_AUTH_URL`, url(`${provider.env}_AUTH_URL`, provider.authUrl)],
      [`${provider.env}_TOKEN_URL`, url(`${provider.env}_TOKEN_URL`, provider.tokenUrl)],
      [`${provider.env}_SCOPES`, scopes(defaultScopesOf(provider).join(' '))],
    ]),
  ) as Record<string, typeof optionalText | ReturnType<typeof url> | ReturnType<typeof scopes>>,
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

type OAuthEnv = Record<string, unknown>;

/**
 * Problems zod's field checks cannot see: a client id without its secret, or the reverse.
 * Use it in a `superRefine` of any schema that spreads `oauthEnvShape` (it runs even when
 * other fields failed, so every problem is reported at once).
 */
export function addOAuthEnvIssues(env: OAuthEnv, ctx: z.RefinementCtx): void {
  for (const provider of OAUTH_PROVIDERS) {
    const prefix = traitsOf(provider).env;
    const id = env[`${prefix}_CLIENT_ID`];
    const secret = env[`${prefix}_CLIENT_SECRET`];
    if (Boolean(id) === Boolean(secret)) continue;
    const [missing, present] = id ? [`${prefix}_CLIENT_SECRET`, `${prefix}_CLIENT_ID`] : [`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`];
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: `${missing} is required when ${present} is set (set both to enable ${traitsOf(provider).label} connections, or neither)`,
    });
  }
}

/** The settings from parsed variables (after `addOAuthEnvIssues` found nothing). */
export function oauthSettingsOf(env: OAuthEnv): OAuthSettings {
  const settings: OAuthSettings = {};
  if (typeof env.PUBLIC_BASE_URL === 'string') settings.publicBaseUrl = env.PUBLIC_BASE_URL;
  for (const provider of PROVIDER_DEFINITIONS) {
    const id = env[`${provider.env}_CLIENT_ID`];
    const secret = env[`${provider.env}_CLIENT_SECRET`];
    if (typeof id !== 'string' || typeof secret !== 'string' || !id || !secret) continue;
    settings[provider.id] = {
      clientId: id,
      clientSecret: secret,
      authUrl: env[`${provider.env}_AUTH_URL`] as string,
      tokenUrl: env[`${provider.env}_TOKEN_URL`] as string,
      scopes: env[`${provider.env}_SCOPES`] as string[],
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
