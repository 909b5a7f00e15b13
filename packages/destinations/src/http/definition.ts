import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, NO_LIMITS } from '../definition.js';
import { headerRecord, httpUrl, requiredString, secret, settingGroup } from '@upload-fleet/core';

/**
 * The spec's table says "POST" or "GET", but a GET request cannot carry a file: the
 * fleet accepts POST (multipart form) and PUT (raw body) instead.
 */
export const HTTP_METHODS = ['POST', 'PUT'] as const;

export const httpDestinationSchema = z.strictObject({
  type: z.literal('http'),
  url: httpUrl('url'),
  filename: requiredString('filename'),
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(HTTP_METHODS, { error: 'method must be "POST" (multipart form) or "PUT" (raw body); GET cannot carry a file' }))
    .default('POST'),
  user: z.string().min(1).optional(),
  password: secret(z.string().optional()),
  fileid: z.string().min(1).default('file'),
  fields: z.record(z.string(), z.string()).default({}),
  // Headers often carry tokens (Authorization): the whole object is treated as secret.
  headers: secret(headerRecord.default({})),
});
export type HttpDestination = z.output<typeof httpDestinationSchema>;

export const httpDefinition = defineDestination({
  type: 'http',
  label: 'HTTP',
  description: 'Uploads to HTTP endpoints',
  schema: httpDestinationSchema,
  targetPath: 'filename',
  example: { type: 'http', url: 'https://your-server.example/api/videos', filename: 'welcome.mp4', user: 'uploader', password: 'example-password', headers: { 'X-Api-Key': 'example-key' } },
  result: baseResultSchema.extend({
    status: z.number().int(),
    headers: z.record(z.string(), z.unknown()),
    body: z.string(),
    body_truncated: z.literal(true).optional(),
  }),
  limits: {
    key: (destination) => new URL(destination.url).host.toLowerCase(),
    defaults: NO_LIMITS,
  },
  settings: destinationSettings(settingGroup(), () => ({})),
  loadAdapter: async () => (await import('./index.js')).httpAdapter,
});
