import { enterPassiveModeIPv6, type FTPContext, type FTPResponse } from 'basic-ftp';
// Not re-exported by basic-ftp's index, but public functions of its transfer module:
// pinned by the version range in package.json and checked by transfer-mode.test.ts.
import { connectForPassiveTransfer, parsePasvResponse } from 'basic-ftp/dist/transfer.js';

/**
 * How data connections are opened: the destination's `passive` and `epsv` flags.
 *
 * basic-ftp only does passive transfers (the client connects to the server), so the
 * spec's `passive: false` cannot mean active mode (PORT/EPRT). It means "no preference":
 *
 * | passive | epsv  | data connection                                   |
 * |---------|-------|---------------------------------------------------|
 * | false   | false | EPSV, falling back to PASV (basic-ftp's default)  |
 * | true    | false | PASV only                                         |
 * | false   | true  | EPSV only                                         |
 * | true    | true  | EPSV, falling back to PASV                        |
 *
 * Every mode connects to the address of the control connection, never to an address the
 * server names: EPSV names only a port by design, and PASV's address is ignored (as curl
 * does by default). A PASV answer pointing elsewhere is the FTP bounce attack; here it
 * could make a worker connect to any host inside the cluster (SSRF) past the network
 * guard, which only checked the control connection's address.
 */
export type TransferStrategy = (ftp: FTPContext) => Promise<FTPResponse>;

export interface TransferModeFlags {
  passive: boolean;
  epsv: boolean;
}

export type TransferModeName = 'EPSV' | 'PASV' | 'EPSV, then PASV';

export function transferModeName({ passive, epsv }: TransferModeFlags): TransferModeName {
  if (epsv && !passive) return 'EPSV';
  if (passive && !epsv) return 'PASV';
  return 'EPSV, then PASV';
}

/**
 * The strategy for a destination. `onForeignPasvHost` is told when a PASV answer named
 * another host than the control connection's (logged: it is a misconfigured NAT far more
 * often than an attack, and either way the address is not used).
 */
export function transferStrategyFor(flags: TransferModeFlags, onForeignPasvHost: (named: string, used: string) => void = () => undefined): TransferStrategy {
  const pasv = pasvToControlHost(onForeignPasvHost);
  switch (transferModeName(flags)) {
    case 'EPSV':
      return enterPassiveModeIPv6;
    case 'PASV':
      return pasv;
    default:
      return firstThatWorks([enterPassiveModeIPv6, pasv]);
  }
}

/** PASV, then a data connection to the control connection's host at the port PASV named. */
export function pasvToControlHost(onForeignHost: (named: string, used: string) => void): TransferStrategy {
  return async (ftp) => {
    const response = await ftp.request('PASV');
    const { host, port } = parsePasvResponse(response.message);
    const remote = ftp.socket.remoteAddress;
    if (remote === undefined) throw new Error("Control socket is disconnected, can't get remote address.");
    // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d; PASV names a.b.c.d.
    const controlHost = remote.replace(/^::ffff:/i, '');
    if (host !== controlHost) onForeignHost(host, controlHost);
    await connectForPassiveTransfer(controlHost, port, ftp);
    return response;
  };
}

/**
 * Tries each strategy in turn and keeps the first that works for the rest of the session,
 * as basic-ftp's own default does (a server may answer EPSV with 500 or with an address
 * the data connection cannot reach).
 */
export function firstThatWorks(strategies: TransferStrategy[]): TransferStrategy {
  let chosen: TransferStrategy | undefined;
  return async (ftp) => {
    if (chosen) return chosen(ftp);
    let lastError: unknown;
    for (const strategy of strategies) {
      try {
        const response = await strategy(ftp);
        chosen = strategy;
        return response;
      } catch (error) {
        // A closed client (abort, timeout) will not get better with the next strategy.
        if (ftp.closed) throw error;
        lastError = error;
      }
    }
    // The last answer says most (PASV refused, or its data connection failed): classified as it is.
    throw lastError;
  };
}
