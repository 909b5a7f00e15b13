import { FleetError, type ErrorCode } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * What a failure of the SFTP destination means, in the shared taxonomy, classified once
 * here: the adapter wraps every step in `errorForSftp`.
 *
 * Two layers fail: the SSH connection (ssh2 marks its errors with a `level`: socket, DNS,
 * timeout, handshake, authentication) and SFTP requests, answered with a status code
 * (draft-ietf-secsh-filexfer-02 section 7, the version OpenSSH speaks). OpenSSH maps errno
 * to those codes (sftp-common.c errno_to_portable): EACCES/EPERM -> PERMISSION_DENIED,
 * ENOENT/ENOTDIR -> NO_SUCH_FILE, EINVAL/ENAMETOOLONG -> BAD_MESSAGE, everything else
 * (ENOSPC, EDQUOT, EIO, EEXIST) -> FAILURE: a full disk reads as plain "Failure".
 */

export type SftpStep =
  | 'connect to'
  | 'log in to'
  | 'open an SFTP session on'
  | 'create the folder'
  | 'check the size of'
  | 'open'
  | 'write to'
  | 'set the mode of'
  | 'close'
  | 'rename'
  | 'replace';

export interface SftpErrorContext {
  /** host[:port] for messages. */
  server: string;
  step: SftpStep;
  /** The path the step works on. */
  path: string;
  /** Secret values removed from any server text quoted in a message. */
  secrets: readonly string[];
}

/** SFTP status codes (v3, plus the v5/v6 ones some servers send anyway). */
export const SFTP_STATUS = {
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
  NO_SPACE_ON_FILESYSTEM: 14,
  QUOTA_EXCEEDED: 15,
} as const;

interface StatusMeaning {
  code: ErrorCode;
  meaning: string;
}

export const SFTP_STATUS_MEANINGS: Record<number, StatusMeaning> = {
  [SFTP_STATUS.NO_SUCH_FILE]: { code: 'UF_DESTINATION_NOT_FOUND', meaning: 'no such file or folder' },
  [SFTP_STATUS.PERMISSION_DENIED]: { code: 'UF_PERMISSION_DENIED', meaning: 'permission denied for this account' },
  // OpenSSH answers ENOSPC, EDQUOT and EIO this way: an operator can free space, so it is retried.
  [SFTP_STATUS.FAILURE]: { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'the server failed (a full disk or quota, or an I/O error)' },
  [SFTP_STATUS.BAD_MESSAGE]: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server refused the request (a name too long or not allowed)' },
  [SFTP_STATUS.NO_CONNECTION]: { code: 'UF_NETWORK', meaning: 'the server has no connection' },
  [SFTP_STATUS.CONNECTION_LOST]: { code: 'UF_NETWORK', meaning: 'the connection was lost' },
  [SFTP_STATUS.OP_UNSUPPORTED]: { code: 'UF_DESTINATION_REJECTED', meaning: 'the server does not support this operation' },
  [SFTP_STATUS.NO_SPACE_ON_FILESYSTEM]: { code: 'UF_DESTINATION_UNAVAILABLE', meaning: 'no space left on the server\'s file system' },
  [SFTP_STATUS.QUOTA_EXCEEDED]: { code: 'UF_FILE_TOO_LARGE', meaning: 'the account\'s quota is exceeded' },
};

/** ssh2's errors carry a `level`: where in the connection they happened. */
type Ssh2Level = 'client-socket' | 'client-dns' | 'client-timeout' | 'client-authentication' | 'handshake' | 'protocol' | 'agent';

export function isSftpStatusError(error: unknown, status?: number): error is Error & { code: number } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && (status === undefined || code === status);
}

export function errorForSftp(error: unknown, context: SftpErrorContext): FleetError {
  const where = `the SFTP server ${context.server}`;
  return classifyFailure(error, {
    destination: 'sftp',
    where,
    activity: `trying to ${stepText(context)}`,
    unknownDetail: (raw) => scrub(raw instanceof Error ? raw.message : String(raw), context.secrets).slice(0, 200),
    platform: (raw) => sftpFailure(raw, context, where),
  });
}

function sftpFailure(error: unknown, context: SftpErrorContext, where: string): FleetError | undefined {
  const options = { destination: 'sftp', cause: error };
  const message = scrub(error instanceof Error ? error.message : String(error), context.secrets).replace(/\s+/g, ' ').slice(0, 200);
  if (isSftpStatusError(error)) {
    const entry = SFTP_STATUS_MEANINGS[error.code] ?? { code: 'UF_DESTINATION_REJECTED', meaning: 'the server refused the request' };
    return new FleetError(entry.code, `${capitalize(where)} refused to ${stepText(context)}: ${entry.meaning} (status ${error.code}: ${message})`, options);
  }
  const level = (error as { level?: Ssh2Level } | undefined)?.level;
  if (level === 'client-authentication') {
    return new FleetError('UF_CREDENTIALS_INVALID', `${capitalize(where)} refused the login of this user with the password or private_key given`, options);
  }
  if (level === 'client-timeout') {
    return new FleetError('UF_TIMEOUT', `${capitalize(where)} did not answer in time while trying to ${stepText(context)} (${message})`, options);
  }
  if (/^Cannot parse privateKey|does not contain a \(valid\) private key|passphrase/i.test(message)) {
    return new FleetError('UF_CREDENTIALS_INVALID', `The private_key for ${where} cannot be read (${message}): give a PEM or OpenSSH private key, with its passphrase if it is encrypted`, options);
  }
  if (level === 'handshake' || /^Handshake failed/.test(message)) {
    return new FleetError('UF_DESTINATION_REJECTED', `The SSH handshake with ${where} failed (${message}): the server and the fleet share no algorithm`, options);
  }
  if (/Unable to start subsystem/i.test(message)) {
    return new FleetError('UF_DESTINATION_REJECTED', `${capitalize(where)} does not offer the SFTP subsystem to this account`, options);
  }
  if (/Channel open failure/i.test(message)) {
    // OpenSSH's MaxSessions, or an account's session cap: retried later.
    return new FleetError('UF_DESTINATION_UNAVAILABLE', `${capitalize(where)} refused to open a session (${message}); it may allow no more sessions now`, options);
  }
  if (/Connection lost before handshake|No response from server|Not connected|connection (closed|ended|reset)/i.test(message)) {
    return new FleetError('UF_NETWORK', `The connection to ${where} was lost while trying to ${stepText(context)}`, options);
  }
  return undefined;
}

function stepText(context: SftpErrorContext): string {
  switch (context.step) {
    case 'connect to':
    case 'log in to':
    case 'open an SFTP session on':
      return `${context.step} the server to upload ${context.path}`;
    case 'replace':
      return `replace ${context.path}`;
    default:
      return `${context.step} ${context.path}`;
  }
}

function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, value) => (value ? out.split(value).join('***') : out), text);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
