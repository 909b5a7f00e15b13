import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP server of the HTTP rows: it reads and discards each request body, counting its
 * bytes, and answers 200 (after `delayMs`, for the latency-bound scale-out row). It parses
 * nothing (not even multipart), so the server side costs the same whoever sends.
 */
export interface HttpSink {
  url: string;
  /** Body bytes of the last complete request per path. */
  received: Map<string, number>;
  completed: number;
  close(): Promise<void>;
}

export async function startHttpSink(options: { delayMs?: number } = {}): Promise<HttpSink> {
  const received = new Map<string, number>();
  const sink = { received, completed: 0 } as HttpSink;
  const server: Server = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      const answer = () => {
        received.set(request.url ?? '/', bytes);
        sink.completed += 1;
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes }));
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sink;
}
