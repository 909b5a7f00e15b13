import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { FleetError } from '@upload-fleet/core';

/**
 * Where the file goes and the temporary name it is written under first: a hidden name in
 * the same folder (a rename within one folder is one file system, so it is atomic), so
 * whoever watches the folder never sees a half-written file under the final name.
 */
export interface SftpPaths {
  /** The folder of `filename` ('' for the login folder, '/' for the root). */
  folder: string;
  final: string;
  temp: string;
}

/** Longest part of the final name kept in the temporary name, in UTF-8 bytes (names stop at 255). */
const MAX_NAME_BYTES_IN_TEMP = 160;

/**
 * The same upload (server, account, path, source) gets the same temporary name on every
 * attempt and worker, so a retry finds and continues its own leftovers.
 */
export interface SftpUploadIdentity {
  server: string;
  user: string;
  filename: string;
  sourceSize: number;
  sourceDescription: string;
}

export function sftpPaths(filename: string, identity: SftpUploadIdentity): SftpPaths {
  const slash = filename.lastIndexOf('/');
  const name = filename.slice(slash + 1);
  if (name === '' || name === '.' || name === '..') {
    throw new FleetError('UF_INVALID_REQUEST', `The SFTP filename "${filename}" names a folder; give the full path of the file, like "/videos/welcome.mp4"`, {
      destination: 'sftp',
    });
  }
  const folder = slash < 0 ? '' : slash === 0 ? '/' : filename.slice(0, slash);
  const hash = createHash('sha256')
    .update(JSON.stringify([identity.server, identity.user, identity.filename, identity.sourceSize, identity.sourceDescription]))
    .digest('hex')
    .slice(0, 16);
  const temp = `.${truncateUtf8(name, MAX_NAME_BYTES_IN_TEMP)}.uploading-${hash}`;
  return { folder, final: filename, temp: folder === '' ? temp : posix.join(folder, temp) };
}

/** The folders to create for `folder`, outermost first ("a/b/c" -> a, a/b, a/b/c). */
export function folderChain(folder: string): string[] {
  if (folder === '' || folder === '/') return [];
  const absolute = folder.startsWith('/');
  const parts = folder.split('/').filter((part) => part !== '' && part !== '.');
  return parts.map((_, index) => `${absolute ? '/' : ''}${parts.slice(0, index + 1).join('/')}`);
}

function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}
