import { FTPError } from 'basic-ftp';
import { FleetError, type ErrorCode } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * What a failure of the FTP destination means, in the shared taxonomy. Classified once,
 * here: the adapter wraps every step in `errorForFtp` and throws only its result.
 *
 * FTP replies carry a three-digit code (RFC 959 section 4.2): 4yz is a "transient negative
 * completion" (try again later), 5yz a "permanent negative completion". Messages name the
 * server (host and port) and the path, never the user's password: the server's own reply
 * text is quoted, with the password removed should a server echo it.
 */

/** What the adapter was doing, for the message: "refused to <step> <path>". */
export type FtpStep = 'connect' | 'secure' | 'login' | 'create the folder of' | 'store' | 'append to' | 'check the size of' | 'rename' | 'replace';

export interface FtpErrorContext {
  /** host[:port] as the destination gave it. */
  server: string;
  /** The path the step works on (the final filename for login and connect). */
  path: string;
  step: FtpStep;
  /** Removed from any server text quoted in a message. */
  password?: string | undefined;
}

interface ReplyMeaning {
  code: ErrorCode;
  /** What the reply says, for the message. */
  meaning: string;
}

/**
 * The replies an upload meets, by code. Codes not listed fall back by class: 4yz
 * transient, 5yz permanent. Exported for the table-driven test.
 */
export const FTP_REPLY_MEANINGS: Record<number, ReplyMeaning> = {
  421: { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'the service is not available or has too many connections' },
  425: { code: 'UF_NETWORK', meaning: 'the server could not open the data connection' },
  426: { code: 'UF_NETWORK', meaning: 'the data connection was closed and the transfer aborted' },
  // Non-standard, but several servers (IIS, FileZilla Server) answer a bad login with it.
  430: { code: 'UF_CREDENTIALS_INVALID', meaning: 'the user name or password is not valid' },
  450: { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'the file is busy or not available right now' },
  451: { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'the server had a local error' },
  // "Insufficient storage space": a full disk, which an operator may free; 552 is the permanent one.
  452: { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'the server has no storage space left' },
  500: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server does not understand the command' },
  501: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server refused the command\'s arguments' },
  502: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server does not support the command' },
  504: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server does not support the command with this parameter' },
  530: { code: 'UF_CREDENTIALS_INVALID', meaning: 'the login was refused' },
  532: { code: 'UF_PERMISSION_DENIED', meaning: 'the account may not store files' },
  534: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server refused the security settings' },
  550: { code: 'UF_PERMISSION_DENIED', meaning: 'the file or folder is not available to this account' },
  551: { code: 'UF_DESTINATION_REJECTED', meaning: 'the page type is unknown' },
  552: { code: 'UF_FILE_TOO_LARGE', meaning: 'the file exceeds the storage allocation' },
  553: { code: 'UF_DESTINATION_REJECTED', meaning: 'the file name is not allowed' },
};

/** basic-ftp's own messages for timeouts ("Timeout (control socket)", "Timeout when trying to open data connection ..."). */
const TIMEOUT_MESSAGE = /(^|because )Timeout\b/;
/** basic-ftp's messages for a connection the server dropped. */
const DROPPED_MESSAGE = /(Server sent FIN packet unexpectedly|Server closed connection unexpectedly|Socket closed due to transmission error)/;

/** Turns whatever the FTP client threw into the taxonomy. FleetErrors raised underneath pass as they are. */
export function errorForFtp(error: unknown, context: FtpErrorContext): FleetError {
  const server = `the FTP server ${context.server}`;
  return classifyFailure(error, {
    destination: 'ftp',
    where: server,
    activity: `trying to ${stepText(context)}`,
    networkCodes: ['EADDRNOTAVAIL'],
    unknownDetail: (raw) => scrub(raw instanceof Error ? raw.message : String(raw), context.password).slice(0, 200),
    platform: (raw) => ftpFailure(raw, context, server),
  });
}

/** A reply of the server, and basic-ftp's messages for failures that carry no code. */
function ftpFailure(error: unknown, context: FtpErrorContext, server: string): FleetError | undefined {
  if (error instanceof FTPError) return errorForReply(error.code, error.message, context, error);
  const options = { destination: 'ftp', cause: error };
  const message = error instanceof Error ? error.message : String(error);
  if (TIMEOUT_MESSAGE.test(message)) {
    return new FleetError('UF_TIMEOUT', `${capitalize(server)} did not answer in time (while trying to ${stepText(context)})`, options);
  }
  if (DROPPED_MESSAGE.test(message)) {
    return new FleetError('UF_NETWORK', `${capitalize(server)} closed the connection while the upload tried to ${stepText(context)}`, options);
  }
  if (/None of the available transfer strategies work/.test(message)) {
    return new FleetError('UF_NETWORK', `Could not open a data connection to ${server} (EPSV/PASV) to ${stepText(context)}`, options);
  }
  if (/Can't parse (response|PASV|EPSV)/i.test(message)) {
    return new FleetError('UF_DESTINATION_REJECTED', `${capitalize(server)} answered a passive-mode request in a form that cannot be read, uploading ${context.path}`, options);
  }
  return undefined;
}

/**
 * Connection caps, per client address or per account: vsftpd and FileZilla answer 421
 * ("There are too many connections from your internet address"), ProFTPD's
 * MaxClientsPerUser answers 530 ("Sorry, the maximum number of clients (3) for this user
 * are already connected"), which must not read as a wrong password. Rate-limited: the
 * worker defers the job and pauses the host for the fleet, without using an attempt.
 */
const CONNECTION_CAP = /too many (connections|users|clients|sessions)|maximum number of (clients|connections|users|sessions)|connection limit/i;
const CONNECTION_CAP_MEANING: ReplyMeaning = { code: 'UF_RATE_LIMITED', meaning: 'the server allows no more connections from this client or account now' };

/** The error for an FTP reply `code` with `text` (the whole reply line, code included). */
export function errorForReply(code: number, text: string, context: FtpErrorContext, cause?: unknown): FleetError {
  const capped = (code === 421 || code === 530) && CONNECTION_CAP.test(text);
  const entry = capped ? CONNECTION_CAP_MEANING : (FTP_REPLY_MEANINGS[code] ?? fallbackMeaning(code));
  const reply = quoteReply(code, text, context.password);
  const verb =
    context.step === 'login'
      ? `refused the login for ${context.path}`
      : context.step === 'connect'
        ? `refused the connection for ${context.path}`
        : context.step === 'secure'
          ? `refused TLS (AUTH TLS) for ${context.path}`
          : `refused to ${stepText(context)}`;
  const tail = entry.code === 'UF_CREDENTIALS_INVALID' && context.step !== 'login' ? ' (the login was not accepted)' : '';
  return new FleetError(entry.code, `The FTP server ${context.server} ${verb}: ${entry.meaning}${tail} (${reply})`, {
    destination: 'ftp',
    ...(cause === undefined ? {} : { cause }),
  });
}

function fallbackMeaning(code: number): ReplyMeaning {
  if (code >= 400 && code < 500) return { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'the server reported a temporary failure' };
  if (code >= 500 && code < 600) return { code: 'UF_DESTINATION_REJECTED', meaning: 'the server refused the request' };
  return { code: 'UF_UNKNOWN', meaning: 'the server gave an unexpected answer' };
}

function stepText(context: FtpErrorContext): string {
  switch (context.step) {
    case 'connect':
      return `connect to upload ${context.path}`;
    case 'secure':
      return `start TLS (AUTH TLS) to upload ${context.path}`;
    case 'login':
      return `log in to upload ${context.path}`;
    case 'replace':
      return `replace ${context.path}`;
    default:
      return `${context.step} ${context.path}`;
  }
}

/** "550 Permission denied" as the server said it, on one line, shortened, without the password. */
function quoteReply(code: number, text: string, password: string | undefined): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const withCode = oneLine.startsWith(String(code)) ? oneLine : `${code} ${oneLine}`;
  return scrub(withCode, password).slice(0, 200);
}

function scrub(text: string, password: string | undefined): string {
  return password ? text.split(password).join('***') : text;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
