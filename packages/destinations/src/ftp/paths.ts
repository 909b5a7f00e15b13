import { createHash } from 'node:crypto';
import { FleetError } from '@upload-fleet/core';

/**
 * Where on the server a file goes, and the temporary name it is written under first.
 *
 * The file is uploaded to a hidden name in the same folder and renamed when complete, so
 * whoever watches the folder (a CDN origin, a media importer polling for new files) never
 * sees a half-written file under the final name. The same folder, because RNFR/RNTO across
 * folders or file systems is not supported by every server.
 */
export interface UploadPaths {
  /** The folder part of `filename` as spelled, without the trailing slash; '' for the login folder. */
  folder: string;
  /** `filename` as given: the final path. */
  final: string;
  /** The temporary file in the same folder. */
  temp: string;
}

/** Longest part of the final name kept in the temporary name, in UTF-8 bytes (file names stop at 255). */
const MAX_NAME_BYTES_IN_TEMP = 160;

/**
 * Identifies one upload (same server, account, path and source file) without a job id,
 * which the adapter contract does not hand over: the same upload retried, on any worker,
 * gets the same temporary name and overwrites or continues its own leftovers.
 */
export interface UploadIdentity {
  hostname: string;
  port: number;
  user: string | undefined;
  filename: string;
  sourceSize: number;
  sourceDescription: string;
}

export function uploadPaths(filename: string, identity: UploadIdentity): UploadPaths {
  if (/[\r\n\0]/.test(filename)) {
    // FTP commands are lines: a line break in a name would end the command early.
    throw new FleetError('UF_INVALID_REQUEST', 'The FTP filename contains a line break or NUL character', { destination: 'ftp' });
  }
  const slash = filename.lastIndexOf('/');
  const name = filename.slice(slash + 1);
  if (name === '' || name === '.' || name === '..') {
    throw new FleetError('UF_INVALID_REQUEST', `The FTP filename "${filename}" names a folder; give the full path of the file, like "/videos/welcome.mp4"`, {
      destination: 'ftp',
    });
  }
  const folder = slash < 0 ? '' : filename.slice(0, slash);
  const prefix = slash < 0 ? '' : filename.slice(0, slash + 1);
  return { folder: folder === '' && slash === 0 ? '/' : folder, final: filename, temp: `${prefix}${tempName(name, identity)}` };
}

/** `.<name>.uploading-<hash>`: hidden, and recognisable as ours when someone finds a leftover. */
export function tempName(name: string, identity: UploadIdentity): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([identity.hostname, identity.port, identity.user ?? '', identity.filename, identity.sourceSize, identity.sourceDescription]))
    .digest('hex')
    .slice(0, 16);
  return `.${truncateUtf8(name, MAX_NAME_BYTES_IN_TEMP)}.uploading-${hash}`;
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
