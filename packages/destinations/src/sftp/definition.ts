import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { durationMsSetting, evenWithOtherProblems, integerSetting, requiredString, secret, settingGroup } from '@upload-fleet/core';

/** "SHA256:<43 base64 characters>" as `ssh-keygen -lf` and `ssh` print it (the trailing "=" optional), or the older "MD5:aa:bb:...". */
export const HOST_KEY_PATTERN = /^(SHA256:[A-Za-z0-9+/]{43}=?|MD5:([0-9a-fA-F]{2}:){15}[0-9a-fA-F]{2})$/;
/** host, host:port, [IPv6] or [IPv6]:port. */
export const SFTP_HOST_PATTERN = /^(\[[0-9a-fA-F:]+\]|[^\s:/[\]@]+)(:\d{1,5})?$/;
export const SFTP_PORT = 22;

export const sftpDestinationSchema = z
  .strictObject({
    type: z.literal('sftp'),
    host: requiredString('host').regex(SFTP_HOST_PATTERN, 'host must be a host name with an optional :port, like "sftp.example.com:2222" (no user@, no sftp://)'),
    filename: requiredString('filename').regex(/^[^\0]*$/, 'filename must not contain NUL characters'),
    user: requiredString('user'),
    password: secret(z.string().min(1, 'password must not be empty').optional()),
    // A PEM (or OpenSSH "BEGIN OPENSSH PRIVATE KEY") private key; read by the adapter, so a
    // key that cannot be parsed fails the upload at once (UF_CREDENTIALS_INVALID).
    private_key: secret(z.string().min(1, 'private_key must not be empty').optional()),
    passphrase: secret(z.string().min(1, 'passphrase must not be empty').optional()),
    host_key: z
      .string()
      .trim()
      .regex(HOST_KEY_PATTERN, 'host_key must be the server\'s key fingerprint as ssh-keygen -lf prints it, like "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"')
      .optional(),
    file_mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'file_mode must be an octal permission string like "0644" or "640"')
      .optional(),
  })
  .superRefine((d, ctx) => {
    if (d.password === undefined && d.private_key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'give password or private_key (or both, for servers that ask for both)' });
    }
    if (d.passphrase !== undefined && d.private_key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'passphrase unlocks private_key: give private_key too, or leave passphrase out' });
    }
  }, evenWithOtherProblems);
export type SftpDestination = z.output<typeof sftpDestinationSchema>;

export const sftpDefinition = defineDestination({
  type: 'sftp',
  label: 'SFTP',
  description: 'Uploads to SFTP (SSH file transfer) servers',
  schema: sftpDestinationSchema,
  targetPath: 'filename',
  example: {
    type: 'sftp',
    host: 'sftp.example.com:2222',
    filename: '/videos/welcome.mp4',
    user: 'deliveries',
    password: 'example-password',
    host_key: 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8',
    file_mode: '0644',
  },
  result: baseResultSchema.extend({
    /** The server's host key fingerprint, "SHA256:...", as ssh-keygen prints it. */
    host_key: z.string(),
    /** True when it matched the destination's host_key; false when none was given (accepted unverified). */
    host_key_verified: z.boolean(),
  }),
  limits: {
    key: (destination) => sftpLimitKey(destination.host),
    // OpenSSH's MaxStartups (10 unauthenticated connections by default) and MaxSessions,
    // and hosting providers' per-account session caps: a few at a time per server.
    defaults: { windows: [], concurrency: 4 },
  },
  settings: destinationSettings(
    settingGroup(
      // Time allowed for the SSH handshake and login, and for the server to acknowledge a write or answer a request.
      durationMsSetting('SFTP_TIMEOUT_MS', { default: 30_000 }),
      // Write requests of 31 KiB sent before waiting for acknowledgements (OpenSSH's sftp uses 64); bounds memory per upload.
      integerSetting('SFTP_REQUESTS_IN_FLIGHT', { default: 64, min: 1, max: 256, unit: 'requests' }),
    ),
    (env): SftpSettings => ({ timeoutMs: env.SFTP_TIMEOUT_MS, requestsInFlight: env.SFTP_REQUESTS_IN_FLIGHT }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createSftpAdapter(settings),
});

export interface SftpSettings {
  /** Handshake and login, and the longest wait for any answer of the server. */
  timeoutMs: number;
  /** Write requests outstanding at once. */
  requestsInFlight: number;
}

/** host[:port] in lower case, without the default port: "sftp.example.com" and "SFTP.example.com:22" share one budget. */
export function sftpLimitKey(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.endsWith(`:${SFTP_PORT}`) ? lower.slice(0, -`:${SFTP_PORT}`.length) : lower;
}
