import { z } from 'zod';
import { secret } from '../secrets.js';
import { requiredString } from './common.js';

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
