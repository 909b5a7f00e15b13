import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { durationMsSetting, evenWithOtherProblems, headerRecord, httpUrl, requiredString, secret, settingGroup } from '@upload-fleet/core';

/**
 * The WebDAV destination (RFC 4918), beyond the spec: `url` names a collection (a folder),
 * `filename` the path of the file below it. See docs/destinations/webdav.md.
 */
export const webdavDestinationSchema = z
  .strictObject({
    type: z.literal('webdav'),
    url: httpUrl('url')
      .refine((value) => !URL.canParse(value) || (new URL(value).username === '' && new URL(value).password === ''), 'url must not contain a user or password; give them as user and password')
      .refine((value) => !URL.canParse(value) || (new URL(value).search === '' && new URL(value).hash === ''), 'url must be the collection\'s URL without a query string or fragment'),
    filename: requiredString('filename')
      .refine((value) => !value.split('/').some((segment) => segment === '.' || segment === '..'), 'filename must not contain "." or ".." segments: it is a path below the collection url')
      .refine((value) => !value.endsWith('/'), 'filename must name a file, not end with "/"')
      .refine((value) => ![...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), 'filename must not contain control characters'),
    user: z.string().min(1, 'user must not be empty').optional(),
    password: secret(z.string().optional()),
    // Headers often carry tokens (Authorization): the whole object is treated as secret.
    headers: secret(headerRecord.default({})),
    overwrite: z.boolean({ error: 'overwrite must be true (replace an existing file) or false (fail when the file exists)' }).default(true),
  })
  .superRefine((d, ctx) => {
    if (d.password !== undefined && d.user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'password needs user: give the user name the password belongs to' });
    }
  }, evenWithOtherProblems);
export type WebdavDestination = z.output<typeof webdavDestinationSchema>;

export const webdavDefinition = defineDestination({
  type: 'webdav',
  label: 'WebDAV',
  description: 'Uploads to WebDAV servers (Apache mod_dav, Nextcloud, NAS)',
  schema: webdavDestinationSchema,
  targetPath: 'filename',
  example: { type: 'webdav', url: 'https://dav.example.com/remote.php/dav/files/uploader/', filename: 'videos/welcome.mp4', user: 'uploader', password: 'example-password' },
  result: baseResultSchema,
  limits: {
    key: (destination) => new URL(destination.url).host.toLowerCase(),
    // WebDAV servers are mostly self-hosted (a NAS, Nextcloud behind a small PHP-FPM pool,
    // Apache with a few dozen workers): each upload holds one connection, and one server
    // process, for its whole length. Four at once per server keeps one delivery burst from
    // taking all of them; RATE_LIMITS raises it for a server that can take more.
    defaults: { windows: [], concurrency: 4 },
  },
  settings: destinationSettings(
    settingGroup(
      // Time to connect (DNS, TCP, TLS) to a WebDAV server.
      durationMsSetting('WEBDAV_CONNECT_TIMEOUT_MS', { default: 30_000 }),
      // Time a server may take to answer a request once it was sent (after the last byte of an upload).
      durationMsSetting('WEBDAV_RESPONSE_TIMEOUT_MS', { default: 5 * 60_000 }),
    ),
    (env): WebdavSettings => ({ connectTimeoutMs: env.WEBDAV_CONNECT_TIMEOUT_MS, responseTimeoutMs: env.WEBDAV_RESPONSE_TIMEOUT_MS }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createWebdavAdapter(settings),
});

export interface WebdavSettings {
  /** DNS, TCP and TLS of each request. */
  connectTimeoutMs: number;
  /** From the last byte sent to the answer's headers. */
  responseTimeoutMs: number;
}
