import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { FleetError } from '@upload-fleet/core';
import { SFTP_HOST_PATTERN, SFTP_PORT } from './definition.js';

/**
 * The SFTP server a destination names (`host`, "sftp.example.com", "sftp.example.com:2222",
 * "[2001:db8::1]:22"), the URL of an uploaded file, and host key fingerprints.
 */
export interface SftpServerAddress {
  /** Host name or IP literal without brackets: what DNS and the network guard are asked about. */
  hostname: string;
  port: number;
  /** For URLs and messages: IPv6 in brackets, `:port` only when not 22. */
  display: string;
}

export function parseSftpHost(host: string): SftpServerAddress {
  const match = SFTP_HOST_PATTERN.exec(host.trim());
  const port = match?.[2] === undefined ? SFTP_PORT : Number(match[2].slice(1));
  if (!match || port < 1 || port > 65_535) {
    throw new FleetError('UF_INVALID_REQUEST', `The SFTP host "${host}" is not a host name with an optional :port (1-65535), like "sftp.example.com:2222"`, {
      destination: 'sftp',
    });
  }
  const hostname = match[1]!.replace(/^\[|\]$/g, '').toLowerCase();
  const urlHost = isIP(hostname) === 6 ? `[${hostname}]` : hostname;
  return { hostname, port, display: port === SFTP_PORT ? urlHost : `${urlHost}:${port}` };
}

/**
 * `sftp://host[:port]/path`, as the SSH URI draft (draft-ietf-secsh-scp-sftp-ssh-uri-04)
 * writes it: an absolute path as it is, a path relative to the login folder under `/~/`.
 * Never a user or password; each segment percent-encoded.
 */
export function resultUrl(server: SftpServerAddress, filename: string): string {
  const absolute = filename.startsWith('/');
  const segments = filename.split('/').filter((segment, index) => index > 0 || segment !== '');
  return `sftp://${server.display}/${absolute ? '' : '~/'}${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}

/** The fingerprint OpenSSH prints for a host key blob: "SHA256:" and the unpadded base64 of its SHA-256. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

function md5Fingerprint(keyBlob: Buffer): string {
  return `MD5:${createHash('md5').update(keyBlob).digest('hex').replace(/(..)(?!$)/g, '$1:')}`;
}

/** Does the key match the pinned fingerprint (SHA256 as printed, base64 padding optional; MD5 in any case)? */
export function matchesHostKey(keyBlob: Buffer, pinned: string): boolean {
  const expected = pinned.trim();
  const actual = expected.toUpperCase().startsWith('MD5:') ? md5Fingerprint(keyBlob).toLowerCase() : sha256Fingerprint(keyBlob);
  const given = expected.toUpperCase().startsWith('MD5:') ? expected.toLowerCase() : expected.replace(/=+$/, '');
  const a = Buffer.from(actual);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
