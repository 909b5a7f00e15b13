import mime from 'mime-types';

/**
 * The content type an upload is sent with: the destination's own parameter when it has
 * one (S3 and Azure `contenttype`, YouTube `mimetype`, whose spec defaults the schema has
 * already applied), otherwise the type of the request's `extension`, otherwise that of
 * the destination filename, otherwise application/octet-stream.
 */
export function contentTypeFor(destination: { type: string } & object, extension?: string): string {
  if ('contenttype' in destination && typeof destination.contenttype === 'string' && destination.contenttype) return destination.contenttype;
  if ('mimetype' in destination && typeof destination.mimetype === 'string' && destination.mimetype) return destination.mimetype;
  const fromExtension = extension ? mime.lookup(extension) : false;
  if (fromExtension) return fromExtension;
  const fromFilename = 'filename' in destination && typeof destination.filename === 'string' ? mime.lookup(destination.filename) : false;
  return fromFilename || 'application/octet-stream';
}
