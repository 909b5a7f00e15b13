import type { Cluster, Redis } from 'ioredis';
import type { Readiness } from './server.js';

/**
 * The API is ready while its Redis connection is up and answers PING within `timeoutMs`:
 * without Redis it can neither enqueue nor read a delivery, so a load balancer should send
 * requests elsewhere.
 */
export function redisReadiness(connection: Redis | Cluster, timeoutMs = 2_000): () => Promise<Readiness> {
  return async () => {
    if (connection.status !== 'ready') return { ready: false, checks: { redis: `not connected (${connection.status})` } };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')));
    try {
      const pong = await Promise.race([connection.ping().catch((error: Error) => `error: ${error.message}`), timeout]);
      return pong === 'PONG' ? { ready: true, checks: { redis: 'ok' } } : { ready: false, checks: { redis: pong === 'timeout' ? `no answer within ${timeoutMs} ms` : pong } };
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Whether a connection can take commands now. ioredis reports "ready" (single server,
 * Sentinel, Cluster) once connected and initialised; anything else (connecting,
 * reconnecting, end) means a command would fail or wait.
 */
export function redisAvailability(connection: Redis | Cluster): () => boolean {
  return () => connection.status === 'ready';
}
