import { describe, expect, it } from 'vitest';
import { FleetError, type ErrorCategory, type ErrorCode } from '@upload-fleet/core';
import { errorForSftp, type SftpErrorContext } from './errors.js';

const write: SftpErrorContext = { server: 'sftp.example.com:2222', step: 'write to', path: '/videos/.a.mp4.uploading-1', secrets: ['hunter2-pw'] };
const login: SftpErrorContext = { ...write, step: 'log in to', path: '/videos/a.mp4' };

const status = (code: number, message: string) => Object.assign(new Error(message), { code });
const level = (value: string, message: string) => Object.assign(new Error(message), { level: value });
const socket = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:22`), { code, level: 'client-socket' });

describe('errorForSftp', () => {
  it.each<[string, unknown, SftpErrorContext, ErrorCode, ErrorCategory]>([
    ['NO_SUCH_FILE', status(2, 'No such file'), write, 'UF_DESTINATION_NOT_FOUND', 'permanent'],
    ['PERMISSION_DENIED', status(3, 'Permission denied'), write, 'UF_PERMISSION_DENIED', 'permanent'],
    ['FAILURE (full disk on OpenSSH)', status(4, 'Failure'), write, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['BAD_MESSAGE', status(5, 'Bad message'), write, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['CONNECTION_LOST', status(7, 'Connection lost'), write, 'UF_NETWORK', 'transient'],
    ['OP_UNSUPPORTED', status(8, 'Operation unsupported'), write, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['NO_SPACE_ON_FILESYSTEM (v5+)', status(14, 'No space left'), write, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['QUOTA_EXCEEDED (v5+)', status(15, 'Quota exceeded'), write, 'UF_FILE_TOO_LARGE', 'permanent'],
    ['an unknown status', status(21, 'odd'), write, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['authentication', level('client-authentication', 'All configured authentication methods failed'), login, 'UF_CREDENTIALS_INVALID', 'permanent'],
    ['handshake timeout', level('client-timeout', 'Timed out while waiting for handshake'), login, 'UF_TIMEOUT', 'transient'],
    ['keepalive timeout', level('client-timeout', 'Keepalive timeout'), write, 'UF_TIMEOUT', 'transient'],
    ['no common algorithm', level('handshake', 'Handshake failed: no matching key exchange algorithm'), login, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['unreadable key', new Error('Cannot parse privateKey: Unsupported key format'), login, 'UF_CREDENTIALS_INVALID', 'permanent'],
    ['no sftp subsystem', new Error('Unable to start subsystem: sftp'), login, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['session refused (MaxSessions)', new Error('(SSH) Channel open failure: open failed'), login, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['connection lost', new Error('No response from server'), write, 'UF_NETWORK', 'transient'],
    ['ECONNREFUSED', socket('ECONNREFUSED'), login, 'UF_NETWORK', 'transient'],
    ['ECONNRESET', socket('ECONNRESET'), write, 'UF_NETWORK', 'transient'],
    ['ETIMEDOUT', socket('ETIMEDOUT'), login, 'UF_TIMEOUT', 'transient'],
    ['anything else', new Error('something odd'), write, 'UF_UNKNOWN', 'transient'],
  ])('%s', (_name, error, context, code, category) => {
    const classified = errorForSftp(error, context);
    expect(classified).toBeInstanceOf(FleetError);
    expect({ code: classified.code, category: classified.category, destination: classified.destination }).toEqual({ code, category, destination: 'sftp' });
    expect(classified.message).toContain('sftp.example.com:2222');
    expect(classified.cause).toBe(error);
  });

  it('names the step and the path, and quotes the server without a secret it echoed', () => {
    const classified = errorForSftp(status(3, 'Permission denied for hunter2-pw'), write);
    expect(classified.message).toContain('refused to write to /videos/.a.mp4.uploading-1');
    expect(classified.message).toContain('status 3');
    expect(classified.message).not.toContain('hunter2-pw');
  });

  it('passes errors of the taxonomy on as they are', () => {
    const blocked = new FleetError('UF_BLOCKED_ADDRESS', 'Refused to connect to host "10.0.0.1": private address');
    expect(errorForSftp(blocked, login)).toBe(blocked);
  });
});
