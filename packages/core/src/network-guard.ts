import dns, { type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { FleetError } from './errors.js';

/**
 * Checks outbound URLs against the fleet's network policy: loopback, private, link-local
 * and metadata addresses are refused unless the host is in ALLOWED_PRIVATE_HOSTS.
 *
 * Sources, HTTP destinations, Facebook `endpoint` and S3 `s3host` are URLs a caller
 * chooses, so without this check a request could make a worker read cloud credentials
 * from 169.254.169.254 or poke at services inside the cluster (SSRF).
 *
 * Two layers, because either alone has a hole:
 * - `assertAllowed(url)` runs before a request (and on every redirect) and gives a clear
 *   error early. It cannot stop DNS rebinding: the name may resolve differently a moment
 *   later, when the socket connects.
 * - `lookup` is handed to every connection (`lookup` of node:http, `dnsLookup` of got), so
 *   the address actually connected to is the one checked. Node does not call `lookup` for
 *   IP-literal hosts, which is why literals are checked by `assertAllowed`.
 */
export interface NetworkGuard {
  /** Throws FleetError UF_BLOCKED_ADDRESS when the URL's host is not allowed. Resolves DNS. */
  assertAllowed(url: string | URL): Promise<void>;
  /** A `dns.lookup`-compatible function that refuses blocked addresses; pass it to every connection. */
  readonly lookup: LookupFunction;
}

/** `dns.lookup` with `{ all: true }`, the only form the guard calls. */
export type AddressResolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface NetworkGuardOptions {
  /**
   * Hosts that skip every check (`ALLOWED_PRIVATE_HOSTS`): exact host names or IP
   * literals, case-insensitive, IPv6 with or without brackets. An entry with a port
   * (`minio:9000`, `127.0.0.1:4566`, `[::1]:9000`) allows that port only, the safer form:
   * a bare `127.0.0.1` also opens the worker's health port, Redis and everything else on
   * the machine. A bare IP literal listed here is also accepted when a name resolves to
   * it: a name can only reach what the literal already may. A literal with a port admits
   * only itself, since at connect time (`lookup`) the port is not known.
   */
  allowedPrivateHosts: string[];
  /** Resolves names; `dns.lookup` by default. Tests pass a fixed table to simulate DNS answers. */
  resolver?: AddressResolver;
}

/**
 * Names of cloud metadata services. They resolve to link-local addresses that are refused
 * anyway; refusing the names too gives a clear message and covers resolvers that map them
 * elsewhere.
 */
const METADATA_HOSTNAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * Metadata and host-agent addresses. Most already lie in refused ranges; the list names
 * them plainly in errors and adds Azure's WireServer, which sits on a public address.
 */
const METADATA_ADDRESSES = new Set(
  [
    '169.254.169.254', // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean
    '169.254.170.2', // AWS ECS task metadata
    '169.254.170.23', // AWS EKS pod identity agent
    'fd00:ec2::254', // AWS IMDS over IPv6
    'fd00:ec2::23', // AWS EKS pod identity agent over IPv6
    '168.63.129.16', // Azure WireServer (public address, host-only service)
    '100.100.100.200', // Alibaba Cloud metadata
    '192.0.0.192', // Oracle Cloud metadata
  ].map(canonicalAddress),
);

/**
 * Ranges a connection may reach. Everything else ipaddr.js names (loopback, private,
 * carrier-grade NAT, link-local, unique local, multicast, broadcast, unspecified,
 * reserved and documentation ranges, ...) is refused: listing what is allowed means a
 * range we forgot is refused rather than reachable.
 */
const ALLOWED_IPV4_RANGES = new Set(['unicast', 'as112', 'amt']);
const ALLOWED_IPV6_RANGES = new Set(['unicast', 'as112v6', 'amt']);

/** Words for the errors, by ipaddr.js range name; unnamed ranges print as ipaddr.js calls them. */
const RANGE_LABELS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  linkLocal: 'link-local',
  uniqueLocal: 'unique local (fc00::/7)',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
  deprecatedSiteLocal: 'site-local (deprecated)',
  benchmarking: 'benchmarking',
  discard: 'discard-only',
  teredo: 'Teredo tunnel',
};

/**
 * Why an address is refused, or undefined when it is an ordinary public address. Exported
 * for tests and for callers that hold an address rather than a URL.
 */
export function blockedAddressReason(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(stripBrackets(address));
  } catch {
    return 'not an IP address';
  }
  if (METADATA_ADDRESSES.has(canonicalAddress(parsed.toString()))) return 'cloud metadata';
  if (parsed.kind() === 'ipv4') return reasonForIPv4(parsed as ipaddr.IPv4);
  return reasonForIPv6(parsed as ipaddr.IPv6);
}

function reasonForIPv4(address: ipaddr.IPv4): string | undefined {
  if (METADATA_ADDRESSES.has(address.toString())) return 'cloud metadata';
  const range = address.range();
  return ALLOWED_IPV4_RANGES.has(range) ? undefined : (RANGE_LABELS[range] ?? range);
}

function reasonForIPv6(address: ipaddr.IPv6): string | undefined {
  const range = address.range();
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0] = address.parts;
  const embedded = (high: number, low: number) => ipaddr.IPv4.parse(`${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`);
  const viaIPv4 = (v4: ipaddr.IPv4, form: string) => {
    const reason = reasonForIPv4(v4);
    return reason === undefined ? undefined : `${reason}, as ${form} of ${v4.toString()}`;
  };
  // Forms that carry an IPv4 address reach that address: judge the IPv4 address, so
  // ::ffff:127.0.0.1 is as refused as 127.0.0.1.
  if (range === 'ipv4Mapped') return viaIPv4(address.toIPv4Address(), 'IPv4-mapped IPv6');
  if (range === 'rfc6145') return viaIPv4(embedded(p6, p7), 'IPv4-translated IPv6');
  if (range === 'rfc6052') {
    // 64:ff9b::/96 is NAT64's well-known prefix; 64:ff9b:1::/48 is for local use only.
    if (p1 === 0xff9b && p2 === 1) return 'local-use NAT64 (64:ff9b:1::/48)';
    return viaIPv4(embedded(p6, p7), 'NAT64 IPv6');
  }
  if (range === '6to4') return viaIPv4(embedded(p1, p2), '6to4 IPv6');
  // IPv4-compatible addresses (::a.b.c.d, deprecated by RFC 4291) are "unicast" to
  // ipaddr.js. (It parses the dotted spelling "::127.0.0.1" as IPv4-mapped, which is
  // judged by its IPv4 address all the same; URLs and DNS give the hex spelling.)
  if (range === 'unicast' && p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) {
    return viaIPv4(embedded(p6, p7), 'IPv4-compatible IPv6') ?? 'IPv4-compatible IPv6 (deprecated)';
  }
  return ALLOWED_IPV6_RANGES.has(range) ? undefined : (RANGE_LABELS[range] ?? range);
}

/** What a guard can decide from a URL's spelling alone, without DNS: for refusing requests at submit time. */
export interface LiteralAddressCheck {
  /**
   * The refusal for a URL whose host is a blocked IP literal (any spelling the URL parser
   * reads: `2852039166`, `0xa9.254.169.254`, `[::ffff:a9fe:a9fe]`) or a metadata name, or
   * undefined. Other names pass: what they resolve to is decided when the worker connects.
   */
  refusalWithoutDns(url: string | URL): FleetError | undefined;
}

export function createNetworkGuard(options: NetworkGuardOptions): NetworkGuard & LiteralAddressCheck {
  const resolver: AddressResolver = options.resolver ?? ((hostname, opts, callback) => dns.lookup(hostname, opts, callback));
  const entries = options.allowedPrivateHosts.map(parseAllowedEntry).filter((entry) => entry.host !== '');
  /** Hosts allowed on every port. */
  const allowedHosts = new Set(entries.filter((e) => e.port === undefined).map((e) => e.host));
  /** `host|port` of the entries that name a port. */
  const allowedHostPorts = new Set(entries.filter((e) => e.port !== undefined).map((e) => `${e.host}|${e.port}`));
  /** Names listed with a port: `lookup` lets them resolve, `assertAllowed` holds them to their port. */
  const namesWithPort = new Set(entries.filter((e) => e.port !== undefined && isIP(e.host) === 0).map((e) => e.host));
  const allowedAddresses = new Set([...allowedHosts].filter((host) => isIP(host) !== 0));

  /** Listed, for this port; `port` is undefined inside `lookup`, which Node gives no port. */
  const isListed = (key: string, port: number | undefined): boolean => {
    if (allowedHosts.has(key)) return true;
    if (port !== undefined) return allowedHostPorts.has(`${key}|${port}`);
    // Every request is checked with its port by assertAllowed first (and on every
    // redirect); an IP literal never reaches lookup, so only listed names matter here.
    return namesWithPort.has(key);
  };

  /**
   * The error for a refused host, or undefined when the host may be reached at these
   * addresses. `host` is printed as the URL spelled it; its normalized form is compared.
   */
  const refusal = (host: string, addresses: readonly string[], port?: number): FleetError | undefined => {
    const key = normalizeHost(host);
    if (isListed(key, port)) return undefined;
    if (METADATA_HOSTNAMES.has(key)) return blocked(host, undefined, 'cloud metadata');
    for (const address of addresses) {
      if (allowedAddresses.has(canonicalAddress(address))) continue;
      const reason = blockedAddressReason(address);
      if (reason !== undefined) return blocked(host, address, reason);
    }
    return undefined;
  };

  const resolveAll = (hostname: string): Promise<LookupAddress[]> =>
    new Promise((resolve, reject) => {
      resolver(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
    });

  async function assertAllowed(url: string | URL): Promise<void> {
    const { host, port } = targetOf(url);
    const key = normalizeHost(host);
    const literal = isIP(host) !== 0;
    // Listed hosts, metadata names and IP literals are decided without asking DNS.
    if (literal || isListed(key, port) || METADATA_HOSTNAMES.has(key)) {
      const error = refusal(host, literal ? [host] : [], port);
      if (error) throw error;
      return;
    }
    let addresses: LookupAddress[];
    try {
      addresses = await resolveAll(host);
    } catch (error) {
      // Not a policy decision: the name does not resolve (now). Transient, because DNS
      // failures are often temporary and a typo fails again within the attempt limit.
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new FleetError('UF_NETWORK', `Could not resolve host "${host}" (${code})`, { cause: error });
    }
    // Refuse if ANY address is blocked: the connection may pick any of them, and a name
    // that mixes public and private answers is a rebinding attempt more often than not.
    const error = refusal(host, addresses.map((a) => a.address), port);
    if (error) throw error;
  }

  // dns.lookup's calling forms: (host, callback), (host, family, callback) and
  // (host, options, callback), with `all` deciding the shape of the answer. Node's net
  // module calls it with options and, with autoSelectFamily (the default), `all: true`.
  const lookup = ((
    hostname: string,
    optionsOrCallback: LookupOptions | number | LookupCallback,
    maybeCallback?: LookupCallback,
  ): void => {
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as LookupCallback;
    const lookupOptions: LookupOptions =
      typeof optionsOrCallback === 'number' ? { family: optionsOrCallback } : typeof optionsOrCallback === 'object' ? optionsOrCallback : {};
    const wantAll = lookupOptions.all === true;
    resolver(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) {
        callback(error, wantAll ? [] : '', undefined);
        return;
      }
      const refused = refusal(stripBrackets(hostname), addresses.map((a) => a.address));
      if (refused) {
        callback(refused, wantAll ? [] : '', undefined);
        return;
      }
      if (wantAll) {
        callback(null, addresses);
        return;
      }
      const [first] = addresses;
      if (!first) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '', undefined);
        return;
      }
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;

  function refusalWithoutDns(url: string | URL): FleetError | undefined {
    const { host, port } = targetOf(url);
    const key = normalizeHost(host);
    if (isIP(host) === 0 && !METADATA_HOSTNAMES.has(key)) return undefined;
    return refusal(host, isIP(host) !== 0 ? [host] : [], port);
  }

  return { assertAllowed, lookup, refusalWithoutDns };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Names only the host: a URL may carry credentials or signed query strings. */
function blocked(host: string, address: string | undefined, reason: string): FleetError {
  const where = address === undefined || isIP(host) !== 0 ? `host "${host}"` : `host "${host}" (resolves to ${address})`;
  return new FleetError('UF_BLOCKED_ADDRESS', `Refused to connect to ${where}: ${reason} address`);
}

/** The schemes of the connections the fleet opens: HTTP(S) requests and FTP(S) sessions. */
const GUARDED_PROTOCOLS = new Set(['http:', 'https:', 'ftp:', 'ftps:']);

/** The ports a URL without one connects to. */
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ftp:': 21, 'ftps:': 990 };

/** Host (no brackets) and port (the scheme's default when the URL names none) of a guarded URL. */
function targetOf(url: string | URL): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new FleetError('UF_INVALID_REQUEST', 'The URL is not a valid absolute URL');
  }
  if (!GUARDED_PROTOCOLS.has(parsed.protocol)) {
    throw new FleetError('UF_INVALID_REQUEST', `Only http(s) and ftp(s) URLs may be used, not ${parsed.protocol}`);
  }
  return { host: stripBrackets(parsed.hostname), port: parsed.port ? Number(parsed.port) : DEFAULT_PORTS[parsed.protocol]! };
}

/**
 * One ALLOWED_PRIVATE_HOSTS entry: `host`, `host:port`, `[v6]` or `[v6]:port` (a bare IPv6
 * address is a host). Throws for a port that is not 1-65535, so a typo fails at start.
 */
export function parseAllowedEntry(entry: string): { host: string; port?: number } {
  const text = entry.trim();
  const withPort = /^\[([^\]]+)\]:([^:]*)$/.exec(text) ?? /^([^:[\]]+):([^:]*)$/.exec(text);
  if (!withPort) return { host: normalizeHost(text) };
  const port = /^\d{1,5}$/.test(withPort[2]!) ? Number(withPort[2]) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new Error(`ALLOWED_PRIVATE_HOSTS entry "${text}" has no valid port: write host, host:port (1-65535) or [ipv6]:port`);
  }
  return { host: normalizeHost(withPort[1]!), port };
}

/** Lower case, no IPv6 brackets, no trailing dot; IP literals in one canonical spelling. */
function normalizeHost(host: string): string {
  const bare = stripBrackets(host.trim().toLowerCase()).replace(/\.$/, '');
  return isIP(bare) !== 0 ? canonicalAddress(bare) : bare;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** One spelling per address, so `0:0::1` matches `::1` and `::ffff:10.0.0.1` matches `10.0.0.1`. */
function canonicalAddress(address: string): string {
  try {
    const parsed = ipaddr.parse(stripBrackets(address));
    if (parsed.kind() === 'ipv6') {
      const v6 = parsed as ipaddr.IPv6;
      return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toRFC5952String();
    }
    return parsed.toString();
  } catch {
    return address.toLowerCase();
  }
}
