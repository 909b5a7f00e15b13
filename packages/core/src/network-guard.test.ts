import type { LookupAddress } from 'node:dns';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetError } from './errors.js';
import { blockedAddressReason, createNetworkGuard, parseAllowedEntry, type AddressResolver } from './network-guard.js';

/** A DNS stand-in: fixed answers per name, ENOTFOUND for the rest; records what it was asked. */
function fakeResolver(table: Record<string, string[]>) {
  const calls: { hostname: string; family: unknown }[] = [];
  const resolver: AddressResolver = (hostname, options, callback) => {
    calls.push({ hostname, family: options.family });
    const answers = table[hostname.toLowerCase()];
    setImmediate(() => {
      if (!answers) {
        const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        error.code = 'ENOTFOUND';
        callback(error, []);
        return;
      }
      callback(null, answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    });
  };
  return { resolver, calls };
}

const DNS = {
  'public.example': ['93.184.216.34'],
  'public6.example': ['2606:4700:4700::1111', '93.184.216.34'],
  'private.example': ['10.1.2.3'],
  'loop6.example': ['::1'],
  'mixed.example': ['93.184.216.34', '127.0.0.1'],
  'mapped.example': ['::ffff:169.254.169.254'],
  'internal.example': ['10.0.0.2'],
  'to-allowed-ip.example': ['127.0.0.1'],
  // A resolver that maps the metadata name somewhere public must not open it.
  'metadata.google.internal': ['93.184.216.34'],
};

async function errorOf(promise: Promise<unknown>): Promise<FleetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return error as FleetError;
  }
  throw new Error('expected the promise to reject');
}

describe('blockedAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.170.2', 'cloud metadata'],
    ['100.100.100.200', 'cloud metadata'],
    ['192.0.0.192', 'cloud metadata'],
    ['168.63.129.16', 'cloud metadata'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback, as IPv4-mapped IPv6 of 127.0.0.1'],
    ['::ffff:7f00:1', 'loopback, as IPv4-mapped IPv6 of 127.0.0.1'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::ffff:100.64.0.1', 'carrier-grade NAT'],
    ['::ffff:0:127.0.0.1', 'loopback, as IPv4-translated IPv6'],
    ['64:ff9b::a00:1', 'private (RFC 1918), as NAT64 IPv6 of 10.0.0.1'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['2002:7f00:1::', 'loopback, as 6to4 IPv6 of 127.0.0.1'],
    ['2002:a9fe:a9fe::1', 'cloud metadata, as 6to4 IPv6 of 169.254.169.254'],
    ['::7f00:1', 'loopback, as IPv4-compatible IPv6'],
    ['::127.0.0.1', 'loopback'],
    ['::808:808', 'IPv4-compatible IPv6 (deprecated)'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'not an IP address'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(blockedAddressReason(address)).toContain(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '11.0.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '172.15.255.255',
    '172.32.0.1',
    '192.169.0.1',
    '169.253.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows the public address %s', (address) => {
    expect(blockedAddressReason(address)).toBeUndefined();
  });
});

describe('assertAllowed', () => {
  const { resolver } = fakeResolver(DNS);
  const guard = createNetworkGuard({ allowedPrivateHosts: [], resolver });

  it.each([
    ['http://127.0.0.1:8080/upload', '127.0.0.1'],
    ['http://10.0.0.1/', '10.0.0.1'],
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[::1]:3000/', '::1'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    // WHATWG URL parsing turns these spellings into 127.0.0.1 before the guard sees them.
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
  ])('refuses the literal address in %s', async (url, host) => {
    const error = await errorOf(guard.assertAllowed(url));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(error.category).toBe('permanent');
    expect(error.message).toContain(`"${host}"`);
  });

  it.each([
    ['http://private.example/', '10.1.2.3'],
    ['http://loop6.example/', '::1'],
    ['http://mixed.example/', '127.0.0.1'],
    ['http://mapped.example/', '::ffff:169.254.169.254'],
  ])('refuses %s because a resolved address (%s) is blocked', async (url, address) => {
    const error = await errorOf(guard.assertAllowed(url));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(error.message).toContain(address);
  });

  it('refuses metadata host names whatever they resolve to', async () => {
    const error = await errorOf(guard.assertAllowed('http://metadata.google.internal/computeMetadata/v1/'));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(error.message).toContain('cloud metadata');
    const dotted = await errorOf(guard.assertAllowed('http://METADATA.google.internal./'));
    expect(dotted.code).toBe('UF_BLOCKED_ADDRESS');
  });

  it.each(['http://public.example/a', 'https://public6.example/', 'http://8.8.8.8/', 'http://[2606:4700:4700::1111]/'])(
    'allows %s',
    async (url) => {
      await expect(guard.assertAllowed(url)).resolves.toBeUndefined();
      await expect(guard.assertAllowed(new URL(url))).resolves.toBeUndefined();
    },
  );

  it('names only the host: no credentials, path or query string', async () => {
    const error = await errorOf(guard.assertAllowed('http://alice:s3cr3t-pass@10.0.0.1/private/path?token=abc123'));
    expect(error.message).toContain('10.0.0.1');
    for (const leak of ['alice', 's3cr3t-pass', 'private/path', 'token', 'abc123']) expect(error.message).not.toContain(leak);
  });

  it('reports a name that does not resolve as a transient network error', async () => {
    const error = await errorOf(guard.assertAllowed('http://nx.example/?sig=1'));
    expect(error.code).toBe('UF_NETWORK');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('nx.example');
    expect(error.message).toContain('ENOTFOUND');
    expect(error.message).not.toContain('sig=1');
  });

  it('refuses URLs that are not http(s)/ftp(s) or not URLs, and checks ftp hosts like any other', async () => {
    expect((await errorOf(guard.assertAllowed('gopher://public.example/x'))).code).toBe('UF_INVALID_REQUEST');
    expect((await errorOf(guard.assertAllowed('ftp://127.0.0.1:21/'))).code).toBe('UF_BLOCKED_ADDRESS');
    expect((await errorOf(guard.assertAllowed('not a url'))).code).toBe('UF_INVALID_REQUEST');
  });
});

describe('allowedPrivateHosts', () => {
  const { resolver } = fakeResolver(DNS);
  const guard = createNetworkGuard({
    allowedPrivateHosts: ['127.0.0.1', 'Internal.Example', '[::1]', 'metadata.google.internal', ' '],
    resolver,
  });

  it.each([
    'http://127.0.0.1:8080/',
    'http://internal.example/',
    'http://INTERNAL.EXAMPLE./upload',
    'http://[::1]:9000/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://metadata.google.internal/',
    // A name resolving to an allowed IP literal reaches nothing the literal could not.
    'http://to-allowed-ip.example/',
  ])('allows %s', async (url) => {
    await expect(guard.assertAllowed(url)).resolves.toBeUndefined();
  });

  it.each(['http://10.0.0.1/', 'http://127.0.0.2/', 'http://private.example/', 'http://169.254.169.254/'])(
    'still refuses %s, which is not listed',
    async (url) => {
      expect((await errorOf(guard.assertAllowed(url))).code).toBe('UF_BLOCKED_ADDRESS');
    },
  );

  it('lets the lookup of a listed host through even when it resolves to a private address', async () => {
    const { lookup } = guard;
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      lookup('internal.example', { all: true }, (error, result) => (error ? reject(error) : resolve(result as LookupAddress[]))),
    );
    expect(addresses).toEqual([{ address: '10.0.0.2', family: 4 }]);
  });
});

describe('allowedPrivateHosts entries with a port', () => {
  const { resolver } = fakeResolver(DNS);
  const guard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1:9000', '[::1]:4566', 'internal.example:8443', '10.1.2.3:80'], resolver });

  it.each(['http://127.0.0.1:9000/bucket', 'http://[::1]:4566/', 'https://internal.example:8443/up', 'http://10.1.2.3/', 'http://[::ffff:127.0.0.1]:9000/'])(
    'allows %s, on the listed port',
    async (url) => {
      await expect(guard.assertAllowed(url)).resolves.toBeUndefined();
    },
  );

  it.each([
    'http://127.0.0.1:6379/', // Redis on the same host
    'http://127.0.0.1/', // port 80 by default
    'http://[::1]:9000/',
    'https://internal.example/', // 443
    'https://internal.example:9443/',
    'ftp://10.1.2.3/', // 21
    // A name resolving to a port-scoped literal is not admitted by it (lookup cannot see ports).
    'http://to-allowed-ip.example:9000/',
  ])('refuses %s, another port or a name it does not list', async (url) => {
    expect((await errorOf(guard.assertAllowed(url))).code).toBe('UF_BLOCKED_ADDRESS');
  });

  it('lets a listed name resolve at connect time, where the port is unknown', async () => {
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      guard.lookup('internal.example', { all: true }, (error, result) => (error ? reject(error) : resolve(result as LookupAddress[]))),
    );
    expect(addresses).toEqual([{ address: '10.0.0.2', family: 4 }]);
  });

  it('refuses an entry whose port is not a port', () => {
    for (const entry of ['127.0.0.1:0', 'minio:99999', 'minio:', '[::1]:x']) {
      expect(() => createNetworkGuard({ allowedPrivateHosts: [entry] })).toThrow(/ALLOWED_PRIVATE_HOSTS entry .* valid port/);
    }
    // A bare IPv6 address is a host, not host:port.
    expect(parseAllowedEntry('::1')).toEqual({ host: '::1' });
    expect(parseAllowedEntry('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseAllowedEntry(' Minio:9000 ')).toEqual({ host: 'minio', port: 9000 });
  });
});

describe('lookup', () => {
  type Answer = { error: NodeJS.ErrnoException | null; address: unknown; family: unknown; args: number };
  /** Calls lookup in one of dns.lookup's forms and collects what its callback received. */
  const call = (lookup: (...args: never[]) => void, ...args: unknown[]) =>
    new Promise<Answer>((resolve) => {
      const callback = (...received: unknown[]) =>
        resolve({ error: received[0] as Answer['error'], address: received[1], family: received[2], args: received.length });
      (lookup as (...a: unknown[]) => void)(...args, callback);
    });

  it('answers one address and its family without `all`', async () => {
    const { resolver } = fakeResolver(DNS);
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: [], resolver });
    const answer = await call(lookup, 'public6.example', {});
    expect(answer).toMatchObject({ error: null, address: '2606:4700:4700::1111', family: 6 });
  });

  it('answers every address with `all: true`', async () => {
    const { resolver } = fakeResolver(DNS);
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: [], resolver });
    const answer = await call(lookup, 'public6.example', { all: true });
    expect(answer.error).toBeNull();
    expect(answer.address).toEqual([
      { address: '2606:4700:4700::1111', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  it('supports the (hostname, callback) and (hostname, family, callback) forms and passes the family on', async () => {
    const { resolver, calls } = fakeResolver(DNS);
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: [], resolver });
    expect(await call(lookup, 'public.example')).toMatchObject({ error: null, address: '93.184.216.34', family: 4 });
    expect(await call(lookup, 'public.example', 4)).toMatchObject({ error: null, address: '93.184.216.34', family: 4 });
    expect(await call(lookup, 'public.example', { family: 6, hints: 0 })).toMatchObject({ error: null });
    expect(calls.map((c) => c.family)).toEqual([undefined, 4, 6]);
  });

  it.each([
    ['private.example', {}],
    ['private.example', { all: true }],
    ['mixed.example', { all: true }],
    ['loop6.example', { family: 6 }],
    ['metadata.google.internal', {}],
  ])('refuses %s (options %j) with a FleetError in the callback', async (hostname, options) => {
    const { resolver } = fakeResolver(DNS);
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: [], resolver });
    const answer = await call(lookup, hostname, options);
    expect(answer.error).toBeInstanceOf(FleetError);
    expect((answer.error as FleetError).code).toBe('UF_BLOCKED_ADDRESS');
    expect(answer.error?.message).toContain(hostname);
  });

  it('passes resolver errors through unchanged', async () => {
    const { resolver } = fakeResolver(DNS);
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: [], resolver });
    const answer = await call(lookup, 'nx.example', { all: true });
    expect(answer.error?.code).toBe('ENOTFOUND');
  });

  it('catches DNS rebinding: the name was public when checked and private when connecting', async () => {
    let calls = 0;
    const rebinding: AddressResolver = (_hostname, _options, callback) => {
      calls += 1;
      const address = calls === 1 ? '93.184.216.34' : '127.0.0.1';
      setImmediate(() => callback(null, [{ address, family: 4 }]));
    };
    const guard = createNetworkGuard({ allowedPrivateHosts: [], resolver: rebinding });
    await expect(guard.assertAllowed('http://rebind.example/')).resolves.toBeUndefined();
    const answer = await call(guard.lookup, 'rebind.example', { all: true });
    expect((answer.error as FleetError).code).toBe('UF_BLOCKED_ADDRESS');
  });
});

describe('lookup on real connections', () => {
  let server: Server | undefined;
  let connections = 0;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    connections = 0;
  });

  async function startServer(): Promise<number> {
    server = createServer((_req, res) => res.end('ok'));
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  const fetchVia = (lookup: ReturnType<typeof createNetworkGuard>['lookup'], port: number) =>
    new Promise<string>((resolve, reject) => {
      const request = get({ host: 'localhost', port, path: '/', lookup, family: 4, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      request.on('error', reject);
    });

  it('refuses to connect to localhost through node:http, and the server sees no connection', async () => {
    const port = await startServer();
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: [] });
    const error = await fetchVia(lookup, port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_BLOCKED_ADDRESS');
    expect(connections).toBe(0);
  });

  it('connects when localhost is allowed', async () => {
    const port = await startServer();
    const { lookup } = createNetworkGuard({ allowedPrivateHosts: ['LOCALHOST'] });
    expect(await fetchVia(lookup, port)).toBe('ok');
    expect(connections).toBe(1);
  });
});
