import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { durationMsSetting, requiredString, secret, settingGroup } from '@upload-fleet/core';

export const ftpDestinationSchema = z.strictObject({
  type: z.literal('ftp'),
  host: requiredString('host').regex(/^(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+)(:\d{1,5})?$/, 'host must be a host name with an optional :port, like "ftp.example.com:2121"'),
  filename: requiredString('filename'),
  user: z.string().min(1).optional(),
  password: secret(z.string().optional()),
  passive: z.boolean().default(false),
  epsv: z.boolean().default(false),
  // Beyond the spec: FTPS. true = explicit TLS (AUTH TLS on the normal port),
  // "implicit" = TLS from the first byte (usually port 990). See docs/destinations/ftp.md.
  secure: z.union([z.boolean(), z.literal('implicit')], { error: 'secure must be true (explicit TLS), "implicit" or false' }).default(false),
});
export type FtpDestination = z.output<typeof ftpDestinationSchema>;

export const ftpDefinition = defineDestination({
  type: 'ftp',
  label: 'FTP',
  description: 'Uploads to FTP servers',
  schema: ftpDestinationSchema,
  targetPath: 'filename',
  example: { type: 'ftp', host: 'ftp.example.com', filename: '/videos/welcome.mp4', user: 'ftpuser', password: 'example-password' },
  result: baseResultSchema,
  limits: {
    key: (destination) => destination.host.toLowerCase(),
    // Many servers cap connections per client address.
    defaults: { windows: [], concurrency: 4 },
  },
  settings: destinationSettings(settingGroup(durationMsSetting('FTP_TIMEOUT_MS', { default: 30_000 })), (env): FtpSettings => ({ timeoutMs: env.FTP_TIMEOUT_MS })),
  loadAdapter: async (settings) => (await import('./index.js')).createFtpAdapter(settings),
});

export interface FtpSettings {
  /** Control-connection timeout. */
  timeoutMs: number;
}
