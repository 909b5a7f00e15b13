import { defineConfig, listSetting, settingGroup, stringSetting, urlSetting, type ConfigProblem, type ValuesOf } from '@upload-fleet/core/settings';
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

const clientUrl = <const N extends string>(name: N, fallback: string) => urlSetting(name, { protocols: ['http', 'https'], default: fallback });

/**
 * The OAuth clients, shared by the API (connect flow) and the workers (refresh). Spread
 * them into a process's settings group, add `oauthProblems` to its checks and build with
 * `oauthSettingsOf`; or use `oauthEnvConfig` on its own.
 */
export const oauthClientSettings = settingGroup(
  stringSetting('GOOGLE_OAUTH_CLIENT_ID', {}),
  stringSetting('GOOGLE_OAUTH_CLIENT_SECRET', { secret: true }),
  clientUrl('GOOGLE_OAUTH_AUTH_URL', 'https://accounts.google.com/o/oauth2/v2/auth'),
  clientUrl('GOOGLE_OAUTH_TOKEN_URL', 'https://oauth2.googleapis.com/token'),
  listSetting('GOOGLE_OAUTH_SCOPES', { separator: 'comma-or-space', default: DEFAULT_GOOGLE_SCOPES }),
  stringSetting('DROPBOX_OAUTH_CLIENT_ID', {}),
  stringSetting('DROPBOX_OAUTH_CLIENT_SECRET', { secret: true }),
  clientUrl('DROPBOX_OAUTH_AUTH_URL', 'https://www.dropbox.com/oauth2/authorize'),
  clientUrl('DROPBOX_OAUTH_TOKEN_URL', 'https://api.dropboxapi.com/oauth2/token'),
  // Empty: the scopes of the app's permissions.
  listSetting('DROPBOX_OAUTH_SCOPES', { separator: 'comma-or-space', default: [] }),
);

/** The API's external URL, for the connect flow's redirect URIs: read by the API and `pnpm start`, not by workers. */
export const PUBLIC_BASE_URL = urlSetting('PUBLIC_BASE_URL', { protocols: ['http', 'https'], baseOnly: true, stripTrailingSlash: true, example: 'https://uploads.example.com' });

/** The clients and PUBLIC_BASE_URL: what the API reads. */
export const oauthEnvSettings = { ...oauthClientSettings, PUBLIC_BASE_URL };

type OAuthEnv = ValuesOf<typeof oauthClientSettings> & { PUBLIC_BASE_URL?: string | undefined };

/** Problems of one setting alone cannot show: a client id without its secret, or the reverse. */
export function oauthProblems(env: Partial<OAuthEnv>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const provider of OAUTH_PROVIDERS) {
    const prefix = PROVIDER_TRAITS[provider].env;
    const id = env[`${prefix}_CLIENT_ID` as keyof OAuthEnv];
    const secret = env[`${prefix}_CLIENT_SECRET` as keyof OAuthEnv];
    if (Boolean(id) === Boolean(secret)) continue;
    const [missing, present] = id ? [`${prefix}_CLIENT_SECRET`, `${prefix}_CLIENT_ID`] : [`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`];
    problems.push({
      setting: missing,
      message: `${missing} is required when ${present} is set (set both to enable ${PROVIDER_TRAITS[provider].label} connections, or neither)`,
    });
  }
  return problems;
}

/** The settings from read values (after `oauthProblems` found nothing). */
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

/** The OAuth variables on their own (the workers read them so). */
export const oauthEnvConfig = defineConfig({ label: 'OAuth', settings: oauthEnvSettings, check: oauthProblems, build: oauthSettingsOf });

/** `oauthEnvConfig` as a zod schema: `.safeParse(env)`. */
export const oauthEnvSchema = oauthEnvConfig.schema;

/** Parses the OAuth variables; throws one Error listing every problem (never a value). */
export function loadOAuthSettings(env: Record<string, string | undefined>): OAuthSettings {
  return oauthEnvConfig.load(env);
}
