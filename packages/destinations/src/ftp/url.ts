import { isIP } from 'node:net';
import { FleetError } from '@upload-fleet/core';

/**
 * The FTP server a destination names, parsed from its `host` ("ftp.example.com",
 * "ftp.example.com:2121", "[2001:db8::1]:21"). The core schema has checked the shape
 * already; the port's range is checked here.
 */
export interface FtpServerAddress {
  /** Host name or IP literal, without IPv6 brackets: what DNS and the network guard are asked about. */
  hostname: string;
  port: number;
  /** The host as it goes into a URL: IPv6 in brackets. */
  urlHost: string;
  /** The host as it goes into URLs and messages: IPv6 in brackets, `:port` only when not the default. */
  display: string;
}

/** Port of plain FTP and explicit FTPS (AUTH TLS on the same connection). */
export const FTP_PORT = 21;
/** Port of implicit FTPS, where TLS starts before the first reply. */
export const FTPS_IMPLICIT_PORT = 990;

export function parseFtpHost(host: string, defaultPort = FTP_PORT): FtpServerAddress {
  const match = /^(\[([0-9a-fA-F:]+)\]|[^\s:/[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) {
    throw new FleetError('UF_INVALID_REQUEST', `The FTP host "${host}" is not a host name with an optional :port, like "ftp.example.com:2121"`, { destination: 'ftp' });
  }
  const hostname = (match[2] ?? match[1]!).toLowerCase();
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new FleetError('UF_INVALID_REQUEST', `The FTP host "${host}" names port ${match[3]}; ports go from 1 to 65535`, { destination: 'ftp' });
  }
  const urlHost = isIP(hostname) === 6 ? `[${hostname}]` : hostname;
  return { hostname, port, urlHost, display: port === defaultPort ? urlHost : `${urlHost}:${port}` };
}

/**
 * The URL of the uploaded file: `ftp://host[:port]/path`, never with user or password.
 * Each path segment is percent-encoded, so spaces, `#`, `?` and non-ASCII names survive.
 *
 * The path is the destination's `filename` as given, with one leading slash. RFC 1738
 * would write an absolute path as `/%2Fvideos/...` and read `/videos/...` as relative to
 * the login directory; almost nobody follows that, and most servers chroot to the login
 * directory anyway, so the URL keeps the spelling the caller used (see docs/destinations/ftp.md).
 * Implicit FTPS answers `ftps://`, the scheme curl and browsers use for it.
 */
export function resultUrl(server: FtpServerAddress, filename: string, implicitTls = false): string {
  const segments = filename.split('/').filter((segment, index) => index > 0 || segment !== '');
  const path = segments.map((segment) => encodeURIComponent(segment)).join('/');
  return `${implicitTls ? 'ftps' : 'ftp'}://${server.display}/${path}`;
}
