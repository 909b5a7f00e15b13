import { createServer, type Server } from 'node:http';

/**
 * Liveness and readiness for a worker process (Kubernetes probes): /healthz answers 200
 * while the process runs; /readyz answers 503 while Redis is unreachable or the worker
 * drains.
 */
export async function startHealthServer(port: number, host: string, isReady: () => boolean): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (path === '/readyz') {
      const ready = isReady();
      return void response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready }));
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"UF_NOT_FOUND","message":"Try /healthz or /readyz."}}');
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
