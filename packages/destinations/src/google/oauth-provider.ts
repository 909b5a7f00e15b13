import type { OAuthProviderDefinition } from '../definition.js';

/**
 * Google's OAuth 2.0 web-server flow (https://developers.google.com/identity/protocols/oauth2/web-server).
 * Shared by every Google destination; each asks for its own scopes.
 *
 * The client sends client_id and client_secret in the form body. The consent URL carries
 * access_type=offline, and prompt=consent because Google returns a refresh token only on
 * a consent: a user who connects a second time would otherwise get none.
 */
export const googleOAuthProvider: OAuthProviderDefinition = {
  id: 'google',
  label: 'Google',
  env: 'GOOGLE_OAUTH',
  authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  clientAuth: 'body',
  offlineParams: { access_type: 'offline', prompt: 'consent' },
};
