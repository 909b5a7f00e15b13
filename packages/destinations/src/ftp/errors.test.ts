import { FTPError } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { FleetError, type ErrorCategory, type ErrorCode } from '@upload-fleet/core';
import { errorForFtp, type FtpErrorContext } from './errors.js';

const store: FtpErrorContext = { server: 'ftp.example.com:2121', path: '/videos/.welcome.mp4.uploading-1', step: 'store', password: 'hunter2-pw' };
const login: FtpErrorContext = { ...store, path: '/videos/welcome.mp4', step: 'login' };

const reply = (code: number, text: string) => new FTPError({ code, message: `${code} ${text}` });
const failure = (code: string, message = `connect ${code} 10.0.0.1:21`) => Object.assign(new Error(message), { code });

describe('errorForFtp', () => {
  it.each<[string, unknown, FtpErrorContext, ErrorCode, ErrorCategory]>([
    // Replies (FTPError codes), RFC 959: 4yz transient, 5yz permanent.
    ['530 at login', reply(530, 'Login incorrect.'), login, 'UF_CREDENTIALS_INVALID', 'permanent'],
    ['530 anonymous only', reply(530, 'This FTP server is anonymous only.'), login, 'UF_CREDENTIALS_INVALID', 'permanent'],
    ['430 (IIS) bad login', reply(430, 'Invalid user name or password'), login, 'UF_CREDENTIALS_INVALID', 'permanent'],
    ['550 permission denied', reply(550, 'Permission denied'), store, 'UF_PERMISSION_DENIED', 'permanent'],
    ['532 need account', reply(532, 'Need account for storing files'), store, 'UF_PERMISSION_DENIED', 'permanent'],
    ['552 storage allocation', reply(552, 'Exceeded storage allocation'), store, 'UF_FILE_TOO_LARGE', 'permanent'],
    ['553 name not allowed', reply(553, 'Could not create file.'), store, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['551 page type', reply(551, 'Page type unknown'), store, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['554 (unlisted 55x)', reply(554, 'Invalid REST parameter'), store, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['502 not implemented', reply(502, 'Command not implemented'), store, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['534 TLS policy', reply(534, 'Policy requires SSL'), login, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['421 service not available', reply(421, 'Service not available, closing control connection.'), login, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['421 too many connections (vsftpd)', reply(421, 'There are too many connections from your internet address.'), login, 'UF_RATE_LIMITED', 'rate_limited'],
    ['421 too many users (FileZilla)', reply(421, 'Too many users are connected, please try again later.'), login, 'UF_RATE_LIMITED', 'rate_limited'],
    ['530 client cap (ProFTPD)', reply(530, 'Sorry, the maximum number of clients (3) for this user are already connected.'), login, 'UF_RATE_LIMITED', 'rate_limited'],
    ['425 no data connection', reply(425, "Can't open data connection"), store, 'UF_NETWORK', 'transient'],
    ['426 transfer aborted', reply(426, 'Failure writing network stream.'), store, 'UF_NETWORK', 'transient'],
    ['450 file busy', reply(450, 'File unavailable'), store, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['451 local error', reply(451, 'Failure writing to local file.'), store, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['452 disk full', reply(452, 'Insufficient storage space'), store, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['4yz not listed', reply(458, 'Something temporary'), store, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    // Errors without a reply.
    ['ECONNREFUSED', failure('ECONNREFUSED'), login, 'UF_NETWORK', 'transient'],
    ['ECONNRESET', failure('ECONNRESET', 'read ECONNRESET'), store, 'UF_NETWORK', 'transient'],
    ['EPIPE', failure('EPIPE', 'write EPIPE'), store, 'UF_NETWORK', 'transient'],
    ['ENOTFOUND', failure('ENOTFOUND', 'getaddrinfo ENOTFOUND ftp.example.com'), login, 'UF_NETWORK', 'transient'],
    ['ETIMEDOUT', failure('ETIMEDOUT'), login, 'UF_TIMEOUT', 'transient'],
    ['control socket timeout', new Error('Timeout (control socket)'), login, 'UF_TIMEOUT', 'transient'],
    ['data socket timeout', new Error('Timeout (data socket)'), store, 'UF_TIMEOUT', 'transient'],
    ['data connection timeout', new Error('Timeout when trying to open data connection to 127.0.0.1:30001'), store, 'UF_TIMEOUT', 'transient'],
    ['closed by an earlier timeout', Object.assign(new Error('Client is closed because Timeout (control socket)'), { code: '0' }), store, 'UF_TIMEOUT', 'transient'],
    ['server FIN', new Error('Server sent FIN packet unexpectedly, closing connection.'), store, 'UF_NETWORK', 'transient'],
    ['server closed', new Error('Server closed connection unexpectedly.'), store, 'UF_NETWORK', 'transient'],
    ['self-signed certificate', failure('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), login, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['certificate for another name', failure('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), login, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['TLS handshake', failure('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), login, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['unreadable PASV answer', new Error("Can't parse response to 'PASV': 227 ok"), store, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['anything else', new Error('something odd'), store, 'UF_UNKNOWN', 'transient'],
  ])('%s', (_name, error, context, code, category) => {
    const classified = errorForFtp(error, context);
    expect(classified).toBeInstanceOf(FleetError);
    expect({ code: classified.code, category: classified.category, destination: classified.destination }).toEqual({ code, category, destination: 'ftp' });
    expect(classified.message).toContain('ftp.example.com:2121');
    expect(classified.message).toContain(context.path);
    expect(classified.message).not.toContain('hunter2-pw');
    expect(classified.cause).toBe(error);
  });

  it('names the step and path, and quotes the reply', () => {
    const classified = errorForFtp(reply(550, 'Permission denied'), store);
    expect(classified.message).toContain('refused to store /videos/.welcome.mp4.uploading-1');
    expect(classified.message).toContain('(550 Permission denied)');
  });

  it('says which login was refused, without the password, even when the server echoes it', () => {
    const classified = errorForFtp(reply(530, 'Login incorrect for password hunter2-pw'), login);
    expect(classified.message).toMatch(/^The FTP server ftp\.example\.com:2121 refused the login for \/videos\/welcome\.mp4: /);
    expect(classified.message).not.toContain('hunter2-pw');
    expect(classified.message).toContain('***');
  });

  it('shortens a long multi-line reply to one line', () => {
    const classified = errorForFtp(reply(550, `no\r\n550 ${'x'.repeat(1000)}`), store);
    expect(classified.message).not.toMatch(/[\r\n]/);
    expect(classified.message.length).toBeLessThan(600);
  });

  it('passes errors of the taxonomy on as they are (the network guard, the source)', () => {
    const blocked = new FleetError('UF_BLOCKED_ADDRESS', 'Refused to connect to host "10.0.0.1": private address');
    expect(errorForFtp(blocked, login)).toBe(blocked);
    const wrapped = Object.assign(new Error('Client is closed because ...'), { cause: blocked });
    expect(errorForFtp(wrapped, login)).toBe(blocked);
  });
});
