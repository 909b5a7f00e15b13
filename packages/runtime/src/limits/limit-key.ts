import { createHash } from 'node:crypto';
import type { Destination } from '@upload-fleet/core';

/**
 * Which account a destination's limits belong to. Keys never contain secrets: where the
 * account is only known through a credential, the key is a short hash of it.
 *
 * | type      | key                                           |
 * |-----------|-----------------------------------------------|
 * | youtube   | `channel:<id>` resolved by the adapter (`accountOf`), else the credential's hash |
 * | facebook  | the credential's hash (the token decides page or user) |
 * | dropbox   | the credential's hash                          |
 * | ftp       | host[:port]                                   |
 * | http      | host[:port] of the URL                        |
 * | s3        | bucket (on its endpoint)                      |
 * | azureblob | storage account                               |
 */
export function defaultLimitKey(destination: Destination): string {
  switch (destination.type) {
    case 'youtube':
      return `credential:${hashOf(destination.auth_secret ?? destination.oauth_access_token ?? '')}`;
    case 'facebook':
      return `credential:${hashOf(destination.oauth_access_token ?? '')}`;
    case 'dropbox':
      return `credential:${hashOf(destination.auth_secret ?? destination.oauth_token ?? '')}`;
    case 'ftp':
      return destination.host.toLowerCase();
    case 'http':
      return new URL(destination.url).host.toLowerCase();
    case 's3':
      return destination.s3host ? `${destination.s3host.toLowerCase()}/${destination.bucket}` : destination.bucket;
    case 'azureblob':
      return destination.account.toLowerCase();
  }
}

/** The credential part of a key (`credential:<hash>`), when the key is one. */
export function isCredentialKey(key: string): boolean {
  return key.startsWith('credential:');
}

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}
