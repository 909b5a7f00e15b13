import {
  defineConfig,
  listSetting,
  stringSetting,
  urlSetting,
  type AnySetting,
  type ConfigProblem,
  type SettingGroup,
} from '@upload-fleet/core';
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

const clientUrl = <const N extends string>(name: N, fallback: string) => urlSetting(name, { protocols: ['http', 'https'], default: fallback });

/**
 * The OAuth clients, shared by the API (connect flow) and the workers (refresh). Spread
 * them into a process's settings group, add `oauthProblems` to its checks and build with
 * `oauthSettingsOf`; or use `oauthEnvConfig` on its own.
 */
export const oauthClientSettings: SettingGroup = Object.fromEntries(
  PROVIDER_DEFINITIONS.flatMap((provider): AnySetting[] => [
    stringSetting(`${provider.env}_CLIENT_ID`, {}),
    stringSetting(`${provider.env}_CLIENT_SECRET`, { secret: true }),
    clientUrl(`${provider.env}_AUTH_URL`, provider.authUrl),
    clientUrl(`${provider.env}_TOKEN_URL`, provider.tokenUrl),
    // Empty: the provider's default (Dropbox: the app's permissions).
    listSetting(`${provider.env}_SCOPES`, { separator: 'comma-or-space', default: defaultScopesOf(provider) }),
  ]).map((setting) => [setting.name, setting]),
);

/** The API's external URL, for the connect flow's redirect URIs: read by the API and `pnpm start`, not by workers. */
export const PUBLIC_BASE_URL = urlSetting('PUBLIC_BASE_URL', { protocols: ['http', 'https'], baseOnly: true, stripTrailingSlash: true, example: 'https://uploads.example.com' });

/** The clients and PUBLIC_BASE_URL: what the API reads. */
export const oauthEnvSettings = { ...oauthClientSettings, PUBLIC_BASE_URL };

type OAuthEnv = Record<string, unknown>;

/** Problems of one setting alone cannot show: a client id without its secret, or the reverse. */
export function oauthProblems(env: Partial<OAuthEnv>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const provider of OAUTH_PROVIDERS) {
    const prefix = traitsOf(provider).env;
    const id = env[`${prefix}_CLIENT_ID`];
    const secret = env[`${prefix}_CLIENT_SECRET`];
    if (Boolean(id) === Boolean(secret)) continue;
    const [missing, present] = id ? [`${prefix}_CLIENT_SECRET`, `${prefix}_CLIENT_ID`] : [`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`];
    problems.push({
      setting: missing,
      message: `${missing} is required when ${present} is set (set both to enable ${traitsOf(provider).label} connections, or neither)`,
    });
  }
  return problems;
}

/** The settings from read values (after `oauthProblems` found nothing). */
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

/** The OAuth variables on their own (the workers read them so). */
export const oauthEnvConfig = defineConfig({ label: 'OAuth', settings: oauthEnvSettings, check: oauthProblems, build: oauthSettingsOf });

/** `oauthEnvConfig` as a zod schema: `.safeParse(env)`. */
export const oauthEnvSchema = oauthEnvConfig.schema;

/** Parses the OAuth variables; throws one Error listing every problem (never a value). */
export function loadOAuthSettings(env: Record<string, string | undefined>): OAuthSettings {
  return oauthEnvConfig.load(env);
}
