import { describe, expect, it } from 'vitest';
import { enabledOAuthProviders, loadOAuthSettings, providerOfPlatform } from './oauth-settings.js';

describe('loadOAuthSettings', () => {
  it('enables nothing by default', () => {
    expect(loadOAuthSettings({})).toEqual({});
    expect(enabledOAuthProviders(loadOAuthSettings({ GOOGLE_OAUTH_CLIENT_ID: '', DROPBOX_OAUTH_CLIENT_SECRET: ' ' }))).toEqual([]);
  });

  it('enables a provider when its client id and secret are set, with the providers\' real endpoints and scopes by default', () => {
    const settings = loadOAuthSettings({
      GOOGLE_OAUTH_CLIENT_ID: 'id.apps.googleusercontent.com',
      GOOGLE_OAUTH_CLIENT_SECRET: 'google-secret',
      DROPBOX_OAUTH_CLIENT_ID: 'appkey',
      DROPBOX_OAUTH_CLIENT_SECRET: 'appsecret',
      DROPBOX_OAUTH_SCOPES: 'files.content.write, account_info.read',
      PUBLIC_BASE_URL: 'https://uploads.example.com/fleet/',
    });
    expect(settings).toEqual({
      publicBaseUrl: 'https://uploads.example.com/fleet',
      google: {
        clientId: 'id.apps.googleusercontent.com',
        clientSecret: 'google-secret',
        authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenUrl: 'https://oauth2.googleapis.com/token',
        scopes: ['https://www.googleapis.com/auth/drive.file', 'https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube', 'https://www.googleapis.com/auth/youtube.force-ssl'],
      },
      dropbox: {
        clientId: 'appkey',
        clientSecret: 'appsecret',
        authUrl: 'https://www.dropbox.com/oauth2/authorize',
        tokenUrl: 'https://api.dropboxapi.com/oauth2/token',
        scopes: ['files.content.write', 'account_info.read'],
      },
    });
    expect([...enabledOAuthProviders(settings)].sort()).toEqual(['dropbox', 'google']);
  });

  it('reports a half-configured client and bad URLs together, without values', () => {
    let message = '';
    try {
      loadOAuthSettings({ GOOGLE_OAUTH_CLIENT_SECRET: 'only-the-secret', DROPBOX_OAUTH_TOKEN_URL: 'ftp://x', PUBLIC_BASE_URL: 'uploads.example.com' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('GOOGLE_OAUTH_CLIENT_ID is required when GOOGLE_OAUTH_CLIENT_SECRET is set');
    expect(message).toContain('DROPBOX_OAUTH_TOKEN_URL must be an http(s) URL');
    expect(message).toContain('PUBLIC_BASE_URL must be');
    expect(message).not.toContain('only-the-secret');
  });

  it('maps the platforms of the connect routes to providers', () => {
    expect(providerOfPlatform('youtube')).toBe('google');
    expect(providerOfPlatform('dropbox')).toBe('dropbox');
    expect(providerOfPlatform('google')).toBeUndefined();
  });
});
