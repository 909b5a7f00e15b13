import { createHash } from 'node:crypto';

/**
 * Where an upload goes on the server: the collection of `url`, the collections `filename`
 * needs below it, the temporary file the bytes are written to, and the final file it is
 * moved onto. Every URL is absolute, with each path segment percent-encoded once.
 */
export interface UploadPaths {
  /** The destination's `url`, ending in "/". */
  collection: URL;
  /** The folders of `filename` below the collection, outermost first (each ending in "/"). */
  parents: URL[];
  /** The file the upload writes: in the final file's collection, so MOVE is a rename. */
  temp: URL;
  final: URL;
  /** `filename` as a path below the collection, for messages: "renders/welcome.mp4". */
  display: string;
}

export interface TempIdentity {
  /** The upload's stable id (every attempt and worker), when the runtime gives one. */
  uploadId: string | undefined;
  sourceSize: number;
  sourceDescription: string;
}

export function uploadPaths(url: string, filename: string, identity: TempIdentity): UploadPaths {
  const collection = new URL(url.endsWith('/') ? url : `${url}/`);
  const segments = filename.split('/').filter((segment) => segment !== '');
  const name = segments.pop()!;
  const parents: URL[] = [];
  let folder = collection;
  for (const segment of segments) {
    folder = new URL(`${encodeURIComponent(segment)}/`, folder);
    parents.push(folder);
  }
  const final = new URL(encodeURIComponent(name), folder);
  // The same upload always picks the same temporary name, so a later attempt (another
  // worker after a crash) finds what the earlier one wrote; another upload to the same
  // file (another delivery, another source) never shares it.
  const key = createHash('sha256')
    .update([identity.uploadId ?? '', collection.href, filename, identity.sourceSize, identity.sourceDescription].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const temp = new URL(encodeURIComponent(`.${name}.${key}.upload-fleet-part`), folder);
  return { collection, parents, temp, final, display: [...segments, name].join('/') };
}

/** A URL's path, decoded, for messages ("/dav/renders/welcome.mp4"). */
export function displayPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname;
  }
}
