import { createServer, type Server } from 'node:http';
import type { FleetMetrics } from './metrics.js';

/**
 * Liveness, readiness and metrics for a worker process (Kubernetes probes, Prometheus):
 * /healthz answers 200 while the process runs; /readyz answers 503 while Redis is
 * unreachable or the worker drains; /metrics answers the Prometheus text format when
 * `metrics` is given. The health port is meant for the cluster only (probes and the
 * scraper), so /metrics is open here; the labels carry no job data.
 */
export async function startHealthServer(port: number, host: string, isReady: () => boolean, metrics?: Pick<FleetMetrics, 'render' | 'contentType'>): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (path === '/readyz') {
      const ready = isReady();
      return void response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready }));
    }
    if (path === '/metrics' && metrics) {
      return void metrics.render().then(
        (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}`),
      );
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"UF_NOT_FOUND","message":"Try /healthz, /readyz or /metrics."}}');
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
