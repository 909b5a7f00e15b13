import { createServer, type AddressInfo } from 'node:net';

/** A port nothing listens on (bound, then released): for servers to start on, or for "connection refused". */
export async function unusedPort(host = '127.0.0.1'): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
