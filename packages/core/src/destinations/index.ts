import { z } from 'zod';
import { azureBlobDestinationSchema } from './azureblob.js';
import { dropboxDestinationSchema } from './dropbox.js';
import { facebookDestinationSchema } from './facebook.js';
import { ftpDestinationSchema } from './ftp.js';
import { httpDestinationSchema } from './http.js';
import { s3DestinationSchema } from './s3.js';
import { youtubeDestinationSchema } from './youtube.js';

export * from './azureblob.js';
export * from './dropbox.js';
export * from './facebook.js';
export * from './ftp.js';
export * from './http.js';
export * from './s3.js';
export * from './youtube.js';

/** The explicit registry of destination schemas; adding a type adds one line here. */
export const destinationSchemas = {
  s3: s3DestinationSchema,
  azureblob: azureBlobDestinationSchema,
  youtube: youtubeDestinationSchema,
  facebook: facebookDestinationSchema,
  dropbox: dropboxDestinationSchema,
  http: httpDestinationSchema,
  ftp: ftpDestinationSchema,
} as const;

export type DestinationType = keyof typeof destinationSchemas;
export const DESTINATION_TYPES = Object.keys(destinationSchemas) as DestinationType[];

export const destinationSchema = z.discriminatedUnion(
  'type',
  [
    s3DestinationSchema,
    azureBlobDestinationSchema,
    youtubeDestinationSchema,
    facebookDestinationSchema,
    dropboxDestinationSchema,
    httpDestinationSchema,
    ftpDestinationSchema,
  ],
  { error: `type must be one of ${DESTINATION_TYPES.map((t) => `"${t}"`).join(', ')}` },
);
export type Destination = z.output<typeof destinationSchema>;
export type DestinationOf<T extends DestinationType> = Extract<Destination, { type: T }>;
