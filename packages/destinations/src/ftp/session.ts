import { isIP, type LookupFunction } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { LookupAddress } from 'node:dns';
import type { Client } from 'basic-ftp';
import type { NetworkGuard } from '@upload-fleet/core';
import type { FtpStep } from './errors.js';
import type { FtpServerAddress } from './url.js';

/**
 * Opening the control connection: network policy, TCP, TLS, login. Each phase reports
 * the step it is in, so a failure names what was being done.
 */

/**
 * FTPS, beyond the spec (a field the core schema does not have yet, see
 * docs/destinations/ftp.md): false for plain FTP, true for explicit TLS (AUTH TLS on
 * the usual connection, RFC 4217), "implicit" for TLS from the first byte (port 990).
 */
export type FtpSecureMode = boolean | 'implicit';

export interface SessionOptions {
  server: FtpServerAddress;
  user: string | undefined;
  password: string | undefined;
  secure: FtpSecureMode;
  /** Extra TLS settings from the operator (trusted CAs for servers with a private CA). */
  tls: Pick<ConnectionOptions, 'ca'>;
  network: NetworkGuard;
  /** Called as each phase starts, so the caller can classify a failure by its step. */
  onStep(step: FtpStep): void;
}

/** The user name for an anonymous login (RFC 1635), and the password it conventionally sends. */
export const ANONYMOUS_USER = 'anonymous';
export const ANONYMOUS_PASSWORD = 'anonymous@';

export async function openSession(client: Client, options: SessionOptions): Promise<void> {
  const { server, secure } = options;
  options.onStep('connect');
  // The guard parses http(s) URLs only; it judges the host alone, so the scheme does not
  // matter. assertAllowed gives the clear error early; resolving through `lookup` below
  // checks again, and the connection goes to exactly the address that was checked.
  await options.network.assertAllowed(`ftp://${server.urlHost}:${server.port}/`);
  const addresses = await resolveAllowed(options.network.lookup, server.hostname);

  // TLS checks the certificate against the name the destination gave, not the address
  // connected to. servername (SNI) may not be an IP literal (RFC 6066): then `host` is.
  const tlsOptions: ConnectionOptions = { ...options.tls, ...(isIP(server.hostname) ? { host: server.hostname } : { servername: server.hostname }) };

  // Every address DNS gave, in its order, until one accepts the connection: a name with a
  // broken IPv6 (or IPv4) address still works, as it would for Node's own connect.
  let failure: unknown = Object.assign(new Error(`${server.hostname} has no address`), { code: 'ENOTFOUND' });
  for (const address of addresses) {
    try {
      if (secure === 'implicit') await client.connectImplicitTLS(address, server.port, tlsOptions);
      else await client.connect(address, server.port);
      failure = undefined;
      break;
    } catch (error) {
      failure = error;
      if (!isConnectFailure(error)) break;
    }
  }
  if (failure !== undefined) throw failure;

  if (secure === true) {
    options.onStep('secure');
    await client.useTLS(tlsOptions);
  }
  options.onStep('login');
  // UTF-8 before login, for non-ASCII user names; servers that want it after login get it
  // again from useDefaultSettings. The answer does not matter.
  await client.sendIgnoringError('OPTS UTF8 ON');
  const anonymous = options.user === undefined;
  await client.login(anonymous ? ANONYMOUS_USER : options.user, anonymous ? ANONYMOUS_PASSWORD : (options.password ?? ''));
  // TYPE I (binary), STRU F, and for FTPS: PBSZ 0 and PROT P, so the data is encrypted too.
  await client.useDefaultSettings();
}

/** Errors of the TCP connect itself, after which another address may do better. */
function isConnectFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT'].includes(code);
}

/** The host's addresses, each accepted by the network guard (its lookup refuses blocked ones). */
export function resolveAllowed(lookup: LookupFunction, hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve((addresses as LookupAddress[]).map((entry) => entry.address));
    });
  });
}
