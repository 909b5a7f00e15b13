import { FleetError, type Source } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import type { YouTubeDestination } from './definition.js';

/**
 * The files a YouTube destination names beside the video: the thumbnail and the caption
 * tracks. They are opened through the runtime's `openFile`, the same code that opens the
 * video's own source (a path must stay inside SOURCE_ROOT; a URL, its redirects and every
 * connection pass the network guard), and read whole: thumbnails.set and captions.insert
 * take the file in one request, and a request that is repeated (after a 401 and a renewed
 * token, or a 5xx) must send the same bytes again. Each is refused above the platform's
 * own limit before a byte is read, so memory stays bounded.
 */

export interface SideFile {
  bytes: Buffer;
  /** For messages: the path under SOURCE_ROOT, or the URL without its query. */
  description: string;
}

export async function readSideFile(context: UploadContext<YouTubeDestination>, file: Source, field: string, maxBytes: number, limitText: string): Promise<SideFile> {
  if (!context.openFile) {
    throw new FleetError('UF_CONFIGURATION', `This worker cannot open the files ${field} names (its upload context has no openFile): run it with the fleet's runtime`, { destination: 'youtube' });
  }
  const source = await context.openFile(file);
  if (source.size > maxBytes) {
    throw new FleetError('UF_FILE_TOO_LARGE', `${field} (${source.description}) is ${source.size} bytes; YouTube takes ${limitText}. Make it smaller and submit again`, { destination: 'youtube' });
  }
  const stream = await source.open(0);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    // A server that sends more than it announced is not trusted to stop.
    if (length > maxBytes) {
      stream.destroy();
      throw new FleetError('UF_SOURCE_CHANGED', `${field} (${source.description}) sent more than the ${source.size} bytes it announced`, { destination: 'youtube' });
    }
    chunks.push(buffer);
  }
  return { bytes: Buffer.concat(chunks), description: source.description };
}
