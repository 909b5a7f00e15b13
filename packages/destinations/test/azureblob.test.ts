/**
 * Azure-specific behaviour of the azureblob adapter against azurite (the shared behaviour
 * suite covers what every adapter does): content type, the root container, the block
 * plan and blocks in flight, resuming from the service's block list, the result URL, and
 * connections going through the network guard.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlockBlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError, createNetworkGuard, type NetworkGuard, type UploadResult } from '@upload-fleet/core';
import { azureBlobDestinationSchema, type AzureBlobDestination } from '../src/azureblob/definition.js';
import type { CheckpointStore, UploadSource } from '../src/index.js';
import { createAzureBlobAdapter } from '../src/azureblob/index.js';
import { blockId } from '../src/azureblob/block-ids.js';
import type { AzureBlobCheckpoint } from '../src/azureblob/checkpoint.js';
import { startHttpFront, startTcpProxy } from '@upload-fleet/testkit';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from './behaviour/targets/azureblob.js';

const MiB = 1024 * 1024;
const CONTAINER = 'videos';
const UPLOAD_ID = '00c0ffee0001';
const localGuard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1', 'localhost'] });
const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);

let azurite: Azurite;
let counter: CountingProxy;
let dir: string;
let small: SourceFile;
let sixBlocks: SourceFile;

beforeAll(async () => {
  azurite = await startAzurite();
  counter = await startCountingProxy(azurite.port);
  await azurite.service.getContainerClient(CONTAINER).create();
  // The root container does not exist until someone creates it, in Azure as in azurite.
  await azurite.service.getContainerClient('$root').create();
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-azureblob-'));
  small = await writeRandomFile(dir, 'small.mp4', 100 * 1024 + 7);
  sixBlocks = await writeRandomFile(dir, 'six-blocks.mp4', 5 * 4 * MiB + 12_345);
}, 60_000);

afterAll(async () => {
  await counter?.close();
  await azurite?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('azureblob adapter against azurite', () => {
  it('stores the content type as the blob Content-Type, for one-request and block uploads', async () => {
    await upload({ filename: 'types/small.mov', contenttype: 'video/quicktime' }, small);
    await upload({ filename: 'types/blocks.webm', contenttype: 'video/webm' }, sixBlocks);
    await upload({ filename: 'types/default.mp4' }, small);
    const type = async (name: string) => (await blob(CONTAINER, name).getProperties()).contentType;
    expect(await type('types/small.mov')).toBe('video/quicktime');
    expect(await type('types/blocks.webm')).toBe('video/webm');
    expect(await type('types/default.mp4')).toBe('application/octet-stream');
  });

  it('uploads to the root container $root when no container is given', async () => {
    const result = await upload({ filename: 'at-the-root.mp4', container: undefined }, small);
    expect(result).toMatchObject({ container: '$root', blob: 'at-the-root.mp4', url: `${serviceUrl(counter.port)}/$root/at-the-root.mp4` });
    expect(await azurite.stored('$root', 'at-the-root.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('sends a file below one block with a single Put Blob and keeps no checkpoint', async () => {
    counter.reset();
    const checkpoint = memoryCheckpoints();
    await upload({ filename: 'single.mp4' }, small, { checkpoint });
    expect(counter.requests.map((r) => `${r.method} ${r.comp ?? 'blob'}`)).toEqual(['PUT blob']);
    expect(checkpoint.saves).toBe(0);
  });

  it('cuts a file into 4 MiB blocks, stages at most blocksInFlight at once, and commits them in order', async () => {
    counter.reset();
    counter.stageDelayMs = 100; // keeps requests open long enough for the overlap to show
    const progress: number[] = [];
    try {
      await upload({ filename: 'blocks.mp4' }, sixBlocks, { blocksInFlight: 2, onProgress: (b) => progress.push(b) });
    } finally {
      counter.stageDelayMs = 0;
    }
    const staged = counter.requests.filter((r) => r.comp === 'block');
    expect(staged).toHaveLength(6);
    expect(counter.maxStagesInFlight).toBe(2);
    const list = await blob(CONTAINER, 'blocks.mp4').getBlockBlobClient().getBlockList('committed');
    expect(list.committedBlocks!.map((b) => b.size)).toEqual([4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 12_345]);
    const names = list.committedBlocks!.map((b) => Buffer.from(b.name, 'base64').toString());
    expect(names.map((n) => n.slice(-7))).toEqual(['-000000', '-000001', '-000002', '-000003', '-000004', '-000005']);
    expect(new Set(names.map((n) => n.length)).size).toBe(1);
    expect(await azurite.stored(CONTAINER, 'blocks.mp4')).toEqual({ size: sixBlocks.size, sha256: sixBlocks.sha256 });
    expect(progress.every((b, i) => b <= sixBlocks.size && (i === 0 || b >= progress[i - 1]!))).toBe(true);
    expect(progress.at(-1)).toBe(sixBlocks.size);
  });

  describe('resuming', () => {
    const url = (name: string) => `${serviceUrl(counter.port)}/${CONTAINER}/${name}`;
    const checkpointFor = (name: string, staged: [number, number][]): AzureBlobCheckpoint => ({
      version: 1,
      blob: url(name),
      size: sixBlocks.size,
      blockSize: 4 * MiB,
      uploadId: UPLOAD_ID,
      staged,
    });
    const fileBlock = (index: number) => readFileSync(sixBlocks.path).subarray(index * 4 * MiB, (index + 1) * 4 * MiB);
    const stage = async (name: string, id: string, data: Buffer) => blob(CONTAINER, name).getBlockBlobClient().stageBlock(id, data, data.length);
    const stagedIndexes = () =>
      counter.requests.filter((r) => r.comp === 'block').map((r) => Number(Buffer.from(r.blockid!, 'base64').toString().slice(-6)));

    it('trusts the service over a checkpoint that claims every block: stages only what the service lacks', async () => {
      const name = 'resume/claims-all.mp4';
      await stage(name, blockId(UPLOAD_ID, 0), fileBlock(0));
      await stage(name, blockId(UPLOAD_ID, 1), fileBlock(1));
      await stage(name, blockId(UPLOAD_ID, 3), fileBlock(3));
      // Another upload's block 2 (another upload id), and a block 4 of the wrong size: neither counts.
      await stage(name, blockId('0000000000ff', 2), randomBytes(4 * MiB));
      await stage(name, blockId(UPLOAD_ID, 4), randomBytes(1000));
      const checkpoint = memoryCheckpoints();
      await checkpoint.save(checkpointFor(name, [[0, 5]]));
      counter.reset();

      await upload({ filename: name }, sixBlocks, { checkpoint });
      expect(stagedIndexes().sort()).toEqual([2, 4, 5]);
      expect(await azurite.stored(CONTAINER, name)).toEqual({ size: sixBlocks.size, sha256: sixBlocks.sha256 });
    });

    it('does not send again blocks the service holds that the checkpoint missed (a crash right after staging)', async () => {
      const name = 'resume/claims-none.mp4';
      for (const index of [0, 1, 2, 3]) await stage(name, blockId(UPLOAD_ID, index), fileBlock(index));
      const checkpoint = memoryCheckpoints();
      await checkpoint.save(checkpointFor(name, []));
      counter.reset();

      const progress: number[] = [];
      await upload({ filename: name }, sixBlocks, { checkpoint, onProgress: (b) => progress.push(b) });
      expect(stagedIndexes().sort()).toEqual([4, 5]);
      expect(counter.bytesUp).toBeLessThan(4 * MiB + 12_345 + 64 * 1024);
      expect(progress[0]).toBe(4 * 4 * MiB); // starts at what the service holds
      expect(await azurite.stored(CONTAINER, name)).toEqual({ size: sixBlocks.size, sha256: sixBlocks.sha256 });
      // The checkpoint now lists every block.
      expect((checkpoint.state as AzureBlobCheckpoint).staged).toEqual([[0, 5]]);
    });

    it('finishes without sending anything when an earlier attempt already committed the blob', async () => {
      const name = 'resume/committed.mp4';
      const checkpoint = memoryCheckpoints();
      const first = await upload({ filename: name }, sixBlocks, { checkpoint });
      counter.reset();
      const second = await upload({ filename: name }, sixBlocks, { checkpoint });
      expect(counter.requests.filter((r) => r.method === 'PUT')).toEqual([]);
      expect(second).toEqual(first);
    });

    it('starts afresh, under a new upload id, when the source has another size than the checkpoint says', async () => {
      const name = 'resume/other-size.mp4';
      await stage(name, blockId(UPLOAD_ID, 0), fileBlock(0));
      const checkpoint = memoryCheckpoints();
      await checkpoint.save({ ...checkpointFor(name, [[0, 0]]), size: sixBlocks.size + 1 });
      counter.reset();
      await upload({ filename: name }, sixBlocks, { checkpoint });
      expect(stagedIndexes().sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect((checkpoint.state as AzureBlobCheckpoint).uploadId).not.toBe(UPLOAD_ID);
      expect(await azurite.stored(CONTAINER, name)).toEqual({ size: sixBlocks.size, sha256: sixBlocks.sha256 });
    });

    it('drops the checkpoint when the source turns out shorter than its size (UF_SOURCE_CHANGED)', async () => {
      const checkpoint = memoryCheckpoints();
      const inner = fileSource(sixBlocks);
      const shrunk: UploadSource = { ...inner, open: async (offset = 0) => Readable.from([readFileSync(sixBlocks.path).subarray(offset, 9 * MiB)]) };
      const error = await upload({ filename: 'resume/shrunk.mp4' }, sixBlocks, { checkpoint, source: shrunk }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as FleetError).code).toBe('UF_SOURCE_CHANGED');
      expect(checkpoint.state).toBeUndefined();
    });
  });

  it('returns the blob URL percent-encoded, and it names the blob that was written', async () => {
    const name = 'renders/Grüße aus Köln & co (1) ✓ #2?.mp4';
    const result = await upload({ filename: name }, small);
    expect(result.url).toBe(`${serviceUrl(counter.port)}/${CONTAINER}/renders/Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln%20%26%20co%20(1)%20%E2%9C%93%20%232%3F.mp4`);
    const properties = await blob(CONTAINER, name).getProperties();
    expect(result).toEqual({
      url: result.url,
      bytes: small.size,
      etag: properties.etag,
      container: CONTAINER,
      blob: name,
      checksum: { algorithm: 'MD5', scope: 'blob', value: md5Hex(readFileSync(small.path)), verified: true },
    });
    // The URL, used as is, reaches the same blob.
    const viaUrl = new BlockBlobClient(result.url as string, credential, { retryOptions: { maxTries: 1 } });
    expect(sha256(await viaUrl.downloadToBuffer())).toBe(small.sha256);
  });

  it('resolves the endpoint host through the network guard on every connection', async () => {
    const endpoint = `http://localhost:${counter.port}/{account}`;
    const lookups: string[] = [];
    const counting: NetworkGuard = {
      assertAllowed: localGuard.assertAllowed,
      lookup: ((hostname: string, options: never, callback: never) => {
        lookups.push(hostname);
        return (localGuard.lookup as (h: string, o: never, c: never) => void)(hostname, options, callback);
      }) as LookupFunction,
    };
    await upload({ filename: 'guarded.mp4' }, small, { endpoint, network: counting });
    expect(lookups).toContain('localhost');

    // A guard that lets the early check pass but refuses at connect time (DNS rebinding).
    const refusing: NetworkGuard = {
      assertAllowed: async () => undefined,
      lookup: ((_hostname: string, _options: unknown, callback: (error: Error) => void) =>
        callback(new FleetError('UF_BLOCKED_ADDRESS', 'Refused to connect to host "localhost": loopback address'))) as unknown as LookupFunction,
    };
    const error = await upload({ filename: 'refused.mp4' }, small, { endpoint, network: refusing }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_BLOCKED_ADDRESS');
  });

  it('calls connections cut mid-block a transient network failure, keeping the checkpoint', async () => {
    const tcp = await startTcpProxy(azurite.port);
    try {
      tcp.setThrottle(2 * MiB);
      const checkpoint = memoryCheckpoints();
      const pending = upload({ filename: 'cut.mp4' }, sixBlocks, { endpoint: `http://127.0.0.1:${tcp.port}/{account}`, checkpoint });
      pending.catch(() => undefined);
      await until('a block to be on its way', () => tcp.bytesUp > 256 * 1024);
      tcp.cutAll();
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FleetError);
      expect({ code: (error as FleetError).code, category: (error as FleetError).category }).toEqual({ code: 'UF_NETWORK', category: 'transient' });
      expect(checkpoint.state).toBeDefined();
    } finally {
      await tcp.close();
    }
  });

  it('refuses an endpoint the guard does not allow before sending anything', async () => {
    counter.reset();
    const strict = createNetworkGuard({ allowedPrivateHosts: [] });
    const error = await upload({ filename: 'strict.mp4' }, small, { network: strict }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as FleetError).code).toBe('UF_BLOCKED_ADDRESS');
    expect(counter.requests).toEqual([]);
  });
});

describe('azureblob parameters beyond the spec, against azurite', () => {
  const headersOf = async (name: string) => {
    const properties = await blob(CONTAINER, name).getProperties();
    return {
      cacheControl: properties.cacheControl,
      contentDisposition: properties.contentDisposition,
      contentType: properties.contentType,
      metadata: properties.metadata,
      accessTier: properties.accessTier,
      contentMD5: properties.contentMD5 ? Buffer.from(properties.contentMD5).toString('hex') : undefined,
    };
  };

  it.each([
    ['one Put Blob', () => small, 'Cool'],
    ['blocks and Put Block List', () => sixBlocks, 'Cold'],
    ['one Put Blob, archived', () => small, 'Archive'],
  ] as const)('stores cachecontrol, contentdisposition, metadata, the access tier and the blob MD5 (%s)', async (how, file, tier) => {
    const name = `props/${how.replace(/\W+/g, '-')}.mp4`;
    const result = await upload(
      {
        filename: name,
        contenttype: 'video/mp4',
        cachecontrol: 'public, max-age=86400',
        contentdisposition: 'attachment; filename="welcome.mp4"',
        metadata: { render_id: 'r-42', Customer: 'c7' },
        access_tier: tier,
      },
      file(),
    );
    const digest = md5Hex(readFileSync(file().path));
    expect(await headersOf(name)).toEqual({
      cacheControl: 'public, max-age=86400',
      contentDisposition: 'attachment; filename="welcome.mp4"',
      contentType: 'video/mp4',
      metadata: { render_id: 'r-42', customer: 'c7' },
      accessTier: tier,
      contentMD5: digest,
    });
    expect(result).toMatchObject({ access_tier: tier, checksum: { algorithm: 'MD5', scope: 'blob', value: digest, verified: true } });
  });

  it('after a resume, sets no blob MD5 (it would need the staged blocks read again) and says so', async () => {
    const name = 'props/resumed.mp4';
    const id = (index: number) => blockId(UPLOAD_ID, index);
    const data = readFileSync(sixBlocks.path);
    await blob(CONTAINER, name).getBlockBlobClient().stageBlock(id(0), data.subarray(0, 4 * MiB), 4 * MiB);
    const checkpoint = memoryCheckpoints();
    await checkpoint.save({ version: 1, blob: `${serviceUrl(counter.port)}/${CONTAINER}/${name}`, size: sixBlocks.size, blockSize: 4 * MiB, uploadId: UPLOAD_ID, staged: [[0, 0]] } satisfies AzureBlobCheckpoint);
    const result = await upload({ filename: name }, sixBlocks, { checkpoint });
    expect(result.checksum).toEqual({ algorithm: 'MD5', scope: 'blocks', verified: true });
    expect((await headersOf(name)).contentMD5).toBeUndefined();
    expect(await azurite.stored(CONTAINER, name)).toEqual({ size: sixBlocks.size, sha256: sixBlocks.sha256 });
  });

  it('with sas_url_for, returns a read-only SAS URL that fetches the blob from a private container', async () => {
    await azurite.service.getContainerClient('private-renders').createIfNotExists();
    const before = Date.now();
    const result = await upload({ filename: 'clip one.mp4', container: 'private-renders', sas_url_for: 900 }, small);
    const sasUrl = new URL(String(result.sas_url));
    expect(`${sasUrl.origin}${sasUrl.pathname}`).toBe(result.url);
    expect(sasUrl.searchParams.get('sp')).toBe('r');
    expect(sasUrl.searchParams.get('sr')).toBe('b');
    expect(Date.parse(sasUrl.searchParams.get('se')!)).toBeGreaterThanOrEqual(Math.floor((before + 900_000) / 1000) * 1000);
    expect(Date.parse(String(result.sas_url_expires_at))).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(String(result.sas_url)).not.toContain(AZURITE_KEY);
    // Without the SAS the private container refuses anonymous reads; with it, the blob comes back.
    expect((await fetch(String(result.url))).status).toBeGreaterThanOrEqual(400);
    const served = await fetch(sasUrl);
    expect(served.status).toBe(200);
    expect(sha256(Buffer.from(await served.arrayBuffer()))).toBe(small.sha256);
    // Read-only: the same SAS may not write.
    expect((await fetch(sasUrl, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'x' })).status).toBe(403);
  });

  it.each([
    [{ access_tier: 'Premium' }, 'access_tier', 'Hot, Cool, Cold, Archive'],
    [{ metadata: { 'render-id': 'x' } }, 'metadata', 'letters, digits and underscores'],
    [{ metadata: { a: '1', A: '2' } }, 'metadata', 'case-insensitive'],
    [{ metadata: { note: 'fertig ✓' } }, 'metadata', 'plain ASCII'],
    [{ sas_url_for: 0 }, 'sas_url_for', 'at least 1 second'],
    [{ sas_url_for: 8 * 24 * 3600 }, 'sas_url_for', '7 days'],
  ])('refuses %j at submit time, naming %s', (fields, path, words) => {
    const parsed = azureBlobDestinationSchema.safeParse({ type: 'azureblob', account: AZURITE_ACCOUNT, key: AZURITE_KEY, filename: 'x.mp4', ...fields });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }))).toContainEqual({ path, message: expect.stringContaining(words) });
  });

  it.each([
    ['one Put Blob', () => small, (url: string) => !url.includes('comp=')],
    ['a staged block', () => sixBlocks, (url: string) => url.includes('comp=block&') && url.includes('blockid=')],
  ] as const)('fails an upload whose bytes arrive altered, saying so: the service checks each Content-MD5 (%s)', async (how, file, matches) => {
    const front = await startHttpFront(azurite.port);
    try {
      let altered = 0;
      front.corrupt = (request) => {
        if (altered > 0 || request.method !== 'PUT' || !matches(request.url)) return false;
        altered += 1;
        return true;
      };
      const name = `altered/${how.replace(/\W+/g, '-')}.mp4`;
      const error = await upload({ filename: name }, file(), { endpoint: `http://127.0.0.1:${front.port}/{account}` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(altered).toBe(1);
      expect(error).toBeInstanceOf(FleetError);
      expect({ code: (error as FleetError).code, category: (error as FleetError).category }).toEqual({ code: 'UF_NETWORK', category: 'transient' });
      expect((error as FleetError).message).toMatch(/bytes do not match the Content-MD5 sent \(400 Md5Mismatch: checksum mismatch\)/);
      expect(await azurite.stored(CONTAINER, name)).toBeUndefined();
    } finally {
      await front.close();
    }
  });
});

// ---- helpers -------------------------------------------------------------------------

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function serviceUrl(port: number): string {
  return `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
}

function blob(container: string, name: string) {
  return azurite.service.getContainerClient(container).getBlobClient(name);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface UploadOptions {
  endpoint?: string;
  blocksInFlight?: number;
  checkpoint?: CheckpointStore;
  network?: NetworkGuard;
  source?: UploadSource;
  onProgress?: (bytes: number) => void;
}

/** One upload through the counting proxy, with the context the runtime would give. */
function upload(fields: Partial<AzureBlobDestination>, file: SourceFile, options: UploadOptions = {}): Promise<UploadResult> {
  const adapter = createAzureBlobAdapter({ endpoint: options.endpoint ?? `http://127.0.0.1:${counter.port}/{account}`, blocksInFlight: options.blocksInFlight ?? 4 });
  const destination = azureBlobDestinationSchema.parse(
    Object.fromEntries(
      Object.entries({ type: 'azureblob', account: AZURITE_ACCOUNT, key: AZURITE_KEY, container: CONTAINER, ...fields }).filter(([, v]) => v !== undefined),
    ),
  );
  const { endpoint: _endpoint, blocksInFlight: _blocksInFlight, source = fileSource(file), network = localGuard, ...rest } = options;
  return adapter.upload(testUploadContext(destination, { source, network, ...rest }));
}

interface SeenRequest {
  method: string;
  comp: string | undefined;
  blockid: string | undefined;
}

interface CountingProxy {
  readonly port: number;
  readonly requests: SeenRequest[];
  /** Request bytes (headers and bodies) sent by the adapter since the last reset. */
  readonly bytesUp: number;
  readonly maxStagesInFlight: number;
  stageDelayMs: number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of azurite that records each request (method, `comp`, `blockid`)
 * and how many Put Block requests were open at once. `stageDelayMs` holds each Put Block
 * answer back, so requests overlap as they would over a real network.
 */
async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let requests: SeenRequest[] = [];
  let bytesUp = 0;
  let stagesInFlight = 0;
  let maxStagesInFlight = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const comp = url.searchParams.get('comp') ?? undefined;
    const isStage = req.method === 'PUT' && comp === 'block';
    requests.push({ method: req.method ?? '', comp, blockid: url.searchParams.get('blockid') ?? undefined });
    bytesUp += JSON.stringify(req.headers).length;
    if (isStage) {
      stagesInFlight += 1;
      maxStagesInFlight = Math.max(maxStagesInFlight, stagesInFlight);
      res.once('close', () => (stagesInFlight -= 1));
    }
    req.on('data', (chunk: Buffer) => (bytesUp += chunk.length));
    const upstream = httpRequest({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, async (answer) => {
      if (isStage && proxy.stageDelayMs > 0) await sleep(proxy.stageDelayMs);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxy: CountingProxy = {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return requests;
    },
    get bytesUp() {
      return bytesUp;
    },
    get maxStagesInFlight() {
      return maxStagesInFlight;
    },
    stageDelayMs: 0,
    reset() {
      requests = [];
      bytesUp = 0;
      maxStagesInFlight = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
