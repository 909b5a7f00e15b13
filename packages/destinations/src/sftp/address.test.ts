import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { sftpDestinationSchema, sftpLimitKey } from './definition.js';
import { matchesHostKey, parseSftpHost, resultUrl, sha256Fingerprint } from './address.js';

describe('parseSftpHost', () => {
  it.each([
    ['sftp.example.com', { hostname: 'sftp.example.com', port: 22, display: 'sftp.example.com' }],
    ['SFTP.Example.com:2222', { hostname: 'sftp.example.com', port: 2222, display: 'sftp.example.com:2222' }],
    ['sftp.example.com:22', { hostname: 'sftp.example.com', port: 22, display: 'sftp.example.com' }],
    ['[2001:DB8::1]:2200', { hostname: '2001:db8::1', port: 2200, display: '[2001:db8::1]:2200' }],
  ])('%s', (host, expected) => expect(parseSftpHost(host)).toEqual(expected));

  it.each(['sftp.example.com:0', 'sftp.example.com:70000', 'user@sftp.example.com', 'sftp://sftp.example.com'])('refuses %j', (host) => {
    expect(() => parseSftpHost(host)).toThrow(FleetError);
  });
});

describe('resultUrl', () => {
  const server = parseSftpHost('sftp.example.com:2222');
  it('writes absolute paths as they are and relative ones under ~, percent-encoded, without credentials', () => {
    expect(resultUrl(server, '/videos/a b#1.mp4')).toBe('sftp://sftp.example.com:2222/videos/a%20b%231.mp4');
    expect(resultUrl(server, 'videos/a.mp4')).toBe('sftp://sftp.example.com:2222/~/videos/a.mp4');
  });
});

describe('host key fingerprints', () => {
  const blob = Buffer.from('an ssh-ed25519 public key blob');
  const sha256 = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  const md5 = `MD5:${createHash('md5').update(blob).digest('hex').match(/../g)!.join(':')}`;

  it('prints SHA256 as OpenSSH does (unpadded base64)', () => {
    expect(sha256Fingerprint(blob)).toBe(sha256);
    expect(sha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('matches SHA256 with or without padding, and MD5 in either case; nothing else', () => {
    expect(matchesHostKey(blob, sha256)).toBe(true);
    expect(matchesHostKey(blob, `${sha256}=`)).toBe(true);
    expect(matchesHostKey(blob, md5.toUpperCase().replace('MD5', 'MD5'))).toBe(true);
    expect(matchesHostKey(blob, 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8')).toBe(false);
    expect(matchesHostKey(Buffer.from('another key'), sha256)).toBe(false);
  });

  it('are accepted by the schema in those forms only', () => {
    const base = { type: 'sftp', host: 'h', filename: '/a.mp4', user: 'u', password: 'p' };
    expect(sftpDestinationSchema.safeParse({ ...base, host_key: sha256 }).success).toBe(true);
    expect(sftpDestinationSchema.safeParse({ ...base, host_key: md5 }).success).toBe(true);
    const wrong = sftpDestinationSchema.safeParse({ ...base, host_key: 'ssh-ed25519 AAAAC3Nza' });
    expect(wrong.error?.issues[0]?.path).toEqual(['host_key']);
    expect(wrong.error?.issues[0]?.message).toContain('ssh-keygen -lf');
  });
});

describe('the schema', () => {
  const base = { type: 'sftp', host: 'sftp.example.com', filename: '/a.mp4', user: 'u' };
  const paths = (value: unknown) => (sftpDestinationSchema.safeParse(value).error?.issues ?? []).map((issue) => issue.path.join('.'));

  it('needs password or private_key, and private_key for a passphrase, listing every problem at once', () => {
    expect(paths(base)).toEqual(['password']);
    expect(paths({ ...base, passphrase: 'x', file_mode: 'rw-r--r--' }).sort()).toEqual(['file_mode', 'passphrase', 'password']);
    expect(paths({ ...base, private_key: 'k', passphrase: 'x', file_mode: '0644' })).toEqual([]);
    expect(paths({ ...base, password: 'p', private_key: 'k' })).toEqual([]);
  });

  it('keys limits by host[:port] in lower case, without the default port', () => {
    expect(sftpLimitKey('SFTP.Example.com')).toBe('sftp.example.com');
    expect(sftpLimitKey('sftp.example.com:22')).toBe('sftp.example.com');
    expect(sftpLimitKey('sftp.example.com:2222')).toBe('sftp.example.com:2222');
  });
});
