import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server (s3rver, azurite, an HTTP
 * receiver): counts the bytes clients send through it, can slow them down so a test can
 * kill a worker mid-upload, and can cut every connection at once.
 */
export interface TcpProxy {
  readonly port: number;
  readonly host: string;
  /** Bytes sent by clients towards the server since the start (or the last reset). */
  readonly bytesUp: number;
  resetCount(): void;
  /** Limits client-to-server bytes per second over all connections; 0 removes the limit. */
  setThrottle(bytesPerSecond: number): void;
  /** Destroys every open connection (a network failure mid-upload). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let bytesUp = 0;
  let bytesPerSecond = 0;
  const sockets = new Set<Socket>();
  // A shared token bucket refilled every 50 ms, so the limit holds across connections.
  let budget = Infinity;
  const waiting: (() => void)[] = [];
  const tick = setInterval(() => {
    budget = bytesPerSecond > 0 ? bytesPerSecond / 20 : Infinity;
    while (waiting.length > 0 && budget > 0) waiting.shift()!();
  }, 50);
  tick.unref();

  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', forget);
    upstream.on('close', forget);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      const ok = upstream.write(chunk);
      if (bytesPerSecond > 0) {
        budget -= chunk.length;
        if (budget <= 0) {
          client.pause();
          waiting.push(() => client.resume());
        }
      }
      if (!ok) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    host: '127.0.0.1',
    get bytesUp() {
      return bytesUp;
    },
    resetCount() {
      bytesUp = 0;
    },
    setThrottle(value) {
      bytesPerSecond = value;
      budget = value > 0 ? value / 20 : Infinity;
      if (value === 0) while (waiting.length > 0) waiting.shift()!();
    },
    cutAll() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      clearInterval(tick);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
