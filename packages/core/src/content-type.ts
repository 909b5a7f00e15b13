import mime from 'mime-types';
import type { Destination } from './destinations/index.js';

/**
 * The content type an upload is sent with: the destination's own parameter when it has
 * one (S3 and Azure `contenttype`, YouTube `mimetype`, whose spec defaults the schema has
 * already applied), otherwise the type of the request's `extension`, otherwise that of
 * the destination filename, otherwise application/octet-stream.
 */
export function contentTypeFor(destination: Destination, extension?: string): string {
  if ('contenttype' in destination && destination.contenttype) return destination.contenttype;
  if ('mimetype' in destination && destination.mimetype) return destination.mimetype;
  const fromExtension = extension ? mime.lookup(extension) : false;
  if (fromExtension) return fromExtension;
  const fromFilename = 'filename' in destination ? mime.lookup(destination.filename) : false;
  return fromFilename || 'application/octet-stream';
}
