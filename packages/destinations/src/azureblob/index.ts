import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobSASPermissions, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential, type BlobHTTPHeaders, type BlockBlobGetBlockListResponse } from '@azure/storage-blob';
import type { UploadResult } from '@upload-fleet/core';
import type { AzureBlobDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { AzureBlobSettings } from './definition.js';
import { blobAddress, checkEndpointTemplate, type BlobAddress } from './blob-address.js';
import { blockId, newUploadId, parseBlockId } from './block-ids.js';
import { SourceRangeReader } from '../source-ranges.js';
import { createPartProgress } from '../part-progress.js';
import { sendPartsInFlight } from '../parts-in-flight.js';
import { readBlocks, type Block } from './block-reader.js';
import { BlockSet } from './block-set.js';
import { chooseBlockSize, planBlocks, type BlockPlan } from './block-size.js';
import { usableCheckpoint, type AzureBlobCheckpoint } from './checkpoint.js';
import { openConnection, type BlobConnection } from './connection.js';

/**
 * Azure Blob Storage: the file becomes a block blob `filename` in `container` (the root
 * container `$root` when none is given) of storage account `account`, signed with the
 * account key.
 *
 * A file smaller than one block goes up in one Put Blob. Larger files are cut into blocks
 * (block-size.ts), staged `blocksInFlight` at a time and committed in order with Put Block
 * List; nothing is visible under the name until that commit. After each staged block the
 * checkpoint records it, and a later attempt, in any process, asks the service which
 * blocks it holds and stages only the others (see putInBlocks). The file is streamed from
 * the source; at most blocksInFlight + 1 blocks are in memory.
 *
 * Integrity: every request carries the Content-MD5 of its body, which the service checks
 * (400 Md5Mismatch for bytes altered on the way, errors.ts). The MD5 of the whole blob is
 * stored as its Content-MD5 property (x-ms-blob-content-md5), which the service keeps and
 * returns on downloads, and is reported in the result; it is hashed from the blocks as
 * they are read, in order, so only an attempt that reads the whole file knows it (not a
 * resume, which reads only the missing blocks: the file is never read twice).
 *
 * The endpoint comes from the operator's configuration (`{account}` in AZURE_BLOB_ENDPOINT),
 * never from the job: sovereign clouds and azurite use other hosts.
 */

/** A request that makes no upload progress (or gets no answer) for this long is abandoned. */
const IDLE_TIMEOUT_MS = 2 * 60_000;
/** Put Block List of up to 50,000 blocks: the service assembles the blob before answering. */
const COMMIT_TIMEOUT_MS = 5 * 60_000;
/** Body pieces handed to the socket; each one is a progress report. */
const BODY_PIECE = 64 * 1024;

export function createAzureBlobAdapter(config: AzureBlobSettings): DestinationAdapter<'azureblob'> {
  checkEndpointTemplate(config.endpoint);
  const blocksInFlight = Math.max(1, Math.floor(config.blocksInFlight));
  return {
    type: 'azureblob',
    upload: (context) => upload(context, config.endpoint, blocksInFlight),
  };
}

/** One upload's parts, handed to the steps below. */
interface Upload {
  context: UploadContext<AzureBlobDestination>;
  address: BlobAddress;
  connection: BlobConnection;
  blocksInFlight: number;
}

async function upload(context: UploadContext<AzureBlobDestination>, endpoint: string, blocksInFlight: number): Promise<UploadResult> {
  const { destination, source, log } = context;
  const address = blobAddress(endpoint, destination);
  const blockSize = chooseBlockSize(source.size);
  const connection = openConnection(address, destination.key, context.network, context.signal);
  try {
    if (context.signal.aborted) throw connection.classify(context.signal.reason);
    // The guard also checks every connection (the agent's lookup); this gives a clear error
    // first, and covers an endpoint that is an IP address, which no lookup sees.
    await context.network.assertAllowed(address.serviceUrl);
    log.info(
      { account: address.account, container: address.container, blob: address.blob, bytes: source.size, blockSize, blocksInFlight },
      'uploading to Azure Blob Storage',
    );
    const run: Upload = { context, address, connection, blocksInFlight };
    const result = { ...(source.size < blockSize ? await putWhole(run) : await putInBlocks(run, blockSize)), ...sasOf(address, destination) };
    context.reportProgress(source.size);
    log.info({ container: address.container, blob: address.blob, bytes: result.bytes }, 'uploaded to Azure Blob Storage');
    return result;
  } catch (error) {
    const failure = connection.classify(error);
    // Blocks staged from the file as it was must not be committed with the rest of it as it is now.
    if (failure.code === 'UF_SOURCE_CHANGED') await context.checkpoint.clear().catch(() => undefined);
    throw failure;
  } finally {
    connection.close();
  }
}

/** A file below one block: read it (at most 4 MiB) and send it with one Put Blob. */
async function putWhole(run: Upload): Promise<UploadResult> {
  const { context, connection } = run;
  const { source } = context;
  const reader = new SourceRangeReader(source, 'azureblob', context.signal);
  let data: Buffer;
  try {
    data = await reader.read(0, source.size);
    await reader.expectEnd();
  } finally {
    reader.close();
  }
  const digest = md5(data);
  const response = await connection.call(context.signal, IDLE_TIMEOUT_MS, (signal, touch) =>
    connection.client.upload(bodyOf(data), data.length, {
      abortSignal: signal,
      blobHTTPHeaders: blobHeaders(context, digest),
      ...blobOptions(context.destination),
      transactionalContentMD5: digest,
      onProgress: ({ loadedBytes }) => {
        touch();
        context.reportProgress(Math.min(loadedBytes, data.length));
      },
    }),
  );
  return resultOf(run, response.etag, Buffer.from(digest));
}

/**
 * Stage the blocks the service does not hold yet, then commit all of them in order.
 *
 * Resuming trusts the service, not the checkpoint: the checkpoint gives the upload id,
 * size and block size, and the service's block list says which blocks exist. A block
 * staged just before a crash is on the server but not in the checkpoint (not sent again);
 * a block in the checkpoint that the server no longer has (expired after a week, or
 * dropped when someone else committed the blob) is staged again.
 */
async function putInBlocks(run: Upload, chosenBlockSize: number): Promise<UploadResult> {
  const { context, address, connection } = run;
  const { source, log } = context;
  const saved = usableCheckpoint(await context.checkpoint.load(), address.url, source.size);
  const checkpoint: AzureBlobCheckpoint = saved ?? {
    version: 1,
    blob: address.url,
    size: source.size,
    blockSize: chosenBlockSize,
    uploadId: newUploadId(),
    staged: [],
  };
  const plan = planBlocks(source.size, checkpoint.blockSize);
  const ids = Array.from({ length: plan.count }, (_, index) => blockId(checkpoint.uploadId, index));

  let staged = new BlockSet(plan.count);
  if (saved) {
    const onServer = await blocksOnServer(run, plan, ids, checkpoint.uploadId);
    if (onServer === 'committed') {
      // An earlier attempt committed, then died before it could report it.
      log.info({ uploadId: checkpoint.uploadId }, 'the Azure blob was already committed by an earlier attempt');
      const properties = await connection.call(context.signal, IDLE_TIMEOUT_MS, (signal) => connection.client.getProperties({ abortSignal: signal }));
      return resultOf(run, properties.etag, properties.contentMD5 ? Buffer.from(properties.contentMD5) : undefined);
    }
    staged = onServer;
    const remembered = BlockSet.fromRuns(plan.count, saved.staged).size;
    log.info({ uploadId: checkpoint.uploadId, blocks: plan.count, checkpointed: remembered, onServer: staged.size }, 'resuming the Azure upload from the blocks the service holds');
  }

  const checkpoints = checkpointWriter(context, checkpoint);
  // Saved before the first block goes out: a crash after it must find the upload id again.
  await checkpoints.save(staged);
  // The whole blob's MD5, when this attempt reads every block (nothing staged before).
  const whole = staged.size === 0 ? createHash('md5') : undefined;
  await stageMissing(run, plan, ids, staged, checkpoints, whole);
  const digest = whole?.digest();

  const response = await connection.call(context.signal, COMMIT_TIMEOUT_MS, (signal) =>
    connection.client.commitBlockList(ids, { abortSignal: signal, blobHTTPHeaders: blobHeaders(context, digest), ...blobOptions(context.destination) }),
  );
  return resultOf(run, response.etag, digest);
}

/** The blob's HTTP properties: the spec's content type, and beyond it cache control, disposition and the whole blob's MD5. */
function blobHeaders(context: UploadContext<AzureBlobDestination>, digest: Uint8Array | undefined): BlobHTTPHeaders {
  const { destination } = context;
  return {
    blobContentType: context.contentType,
    ...(destination.cachecontrol !== undefined ? { blobCacheControl: destination.cachecontrol } : {}),
    ...(destination.contentdisposition !== undefined ? { blobContentDisposition: destination.contentdisposition } : {}),
    ...(digest !== undefined ? { blobContentMD5: digest } : {}),
  };
}

/** Metadata and access tier, set with the request that creates the blob (Put Blob or Put Block List). */
function blobOptions(destination: AzureBlobDestination): { metadata?: Record<string, string>; tier?: AzureBlobDestination['access_tier'] } {
  return {
    ...(destination.metadata !== undefined ? { metadata: destination.metadata } : {}),
    ...(destination.access_tier !== undefined ? { tier: destination.access_tier } : {}),
  };
}

/**
 * With sas_url_for: the blob's URL with a service SAS signed by the account key, read-only,
 * for this one blob, valid from a few minutes ago (clocks differ) for sas_url_for seconds,
 * https-only where the endpoint is https.
 */
function sasOf(address: BlobAddress, destination: AzureBlobDestination): { sas_url?: string; sas_url_expires_at?: string } {
  if (destination.sas_url_for === undefined) return {};
  const now = Date.now();
  const expiresOn = new Date(now + destination.sas_url_for * 1000);
  const sas = generateBlobSASQueryParameters(
    {
      containerName: address.container,
      blobName: address.blob,
      permissions: BlobSASPermissions.parse('r'),
      startsOn: new Date(now - SAS_CLOCK_SKEW_MS),
      expiresOn,
      protocol: address.serviceUrl.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    },
    new StorageSharedKeyCredential(address.account, destination.key),
  );
  return { sas_url: `${address.url}?${sas.toString()}`, sas_url_expires_at: expiresOn.toISOString() };
}

/** A SAS starts this long before it is made, so a service clock slightly behind ours accepts it at once. */
const SAS_CLOCK_SKEW_MS = 5 * 60_000;

type BlockLists = Required<Pick<BlockBlobGetBlockListResponse, 'committedBlocks' | 'uncommittedBlocks'>>;

/**
 * The blocks of this upload the service holds: 'committed' when the blob is exactly this
 * upload's blocks already, otherwise the uncommitted blocks with this upload's ids and
 * the right sizes. Blocks of other uploads to the same name are ignored.
 */
async function blocksOnServer(run: Upload, plan: BlockPlan, ids: string[], uploadId: string): Promise<BlockSet | 'committed'> {
  const { context, connection } = run;
  const list = await connection.call(
    context.signal,
    IDLE_TIMEOUT_MS,
    async (signal): Promise<BlockLists> => {
      const { committedBlocks = [], uncommittedBlocks = [] } = await connection.client.getBlockList('all', { abortSignal: signal });
      return { committedBlocks, uncommittedBlocks };
    },
    // No blob and no uncommitted blocks at all: nothing of this upload is left.
    (error) => (isBlobNotFound(error) ? { committedBlocks: [], uncommittedBlocks: [] } : undefined),
  );
  const committed = list.committedBlocks;
  if (committed.length === plan.count && committed.every((block, index) => block.name === ids[index] && block.size === plan.lengthOf(index))) {
    return 'committed';
  }
  const staged = new BlockSet(plan.count);
  for (const block of list.uncommittedBlocks) {
    const parsed = parseBlockId(block.name);
    if (parsed?.uploadId === uploadId && parsed.index < plan.count && block.size === plan.lengthOf(parsed.index)) staged.add(parsed.index);
  }
  return staged;
}

/**
 * Stages the missing blocks, `blocksInFlight` at a time (parts-in-flight.ts). The first
 * failure stops the others at once (their requests are aborted) and is the one thrown.
 */
async function stageMissing(run: Upload, plan: BlockPlan, ids: string[], staged: BlockSet, checkpoints: CheckpointWriter, whole: Hash | undefined): Promise<void> {
  const { context, connection } = run;
  if (staged.size === plan.count) return;

  const progress = createPartProgress(plan.size, (bytes) => context.reportProgress(bytes));
  progress.confirmed(stagedBytes(plan, staged));
  const missing = staged.missingRuns();
  await sendPartsInFlight({
    inFlight: run.blocksInFlight,
    signal: context.signal,
    read: (signal) => hashedInOrder(readBlocks(context.source, plan, missing, signal), whole),
    send: async (block: Block, signal) => {
      await connection.call(signal, IDLE_TIMEOUT_MS, (requestSignal, touch) =>
        connection.client.stageBlock(ids[block.index]!, bodyOf(block.data), block.data.length, {
          abortSignal: requestSignal,
          transactionalContentMD5: md5(block.data),
          onProgress: ({ loadedBytes }) => {
            touch();
            progress.sending(block.index, loadedBytes);
          },
        }),
      );
      staged.add(block.index);
      progress.finished(block.index, block.data.length);
      await checkpoints.save(staged);
    },
  });
}

/** The blocks as read (in file order, one at a time), each hashed into `whole` on its way. */
async function* hashedInOrder(blocks: AsyncGenerator<Block>, whole: Hash | undefined): AsyncGenerator<Block> {
  for await (const block of blocks) {
    whole?.update(block.data);
    yield block;
  }
}

function stagedBytes(plan: BlockPlan, staged: BlockSet): number {
  let bytes = 0;
  for (const [first, last] of staged.runs()) for (let index = first; index <= last; index += 1) bytes += plan.lengthOf(index);
  return bytes;
}

interface CheckpointWriter {
  save(staged: BlockSet): Promise<void>;
}

/** Saves one after another, each with the staged blocks as they were when it was asked for. */
function checkpointWriter(context: UploadContext<AzureBlobDestination>, base: AzureBlobCheckpoint): CheckpointWriter {
  let last: Promise<void> = Promise.resolve();
  return {
    save(staged) {
      const state: AzureBlobCheckpoint = { ...base, staged: staged.runs() };
      last = last.then(() => context.checkpoint.save(state));
      return last;
    },
  };
}

/**
 * A request body the SDK reads as a stream, in 64 KiB pieces: its progress callback then
 * follows the socket instead of jumping to the block's end before a byte is sent.
 */
function bodyOf(data: Buffer): () => NodeJS.ReadableStream {
  return () =>
    Readable.from(
      (function* pieces() {
        for (let offset = 0; offset < data.length; offset += BODY_PIECE) yield data.subarray(offset, offset + BODY_PIECE);
      })(),
      { objectMode: false },
    );
}

/** Content-MD5 of each request: the service refuses a block that arrives altered (Md5Mismatch). */
function md5(data: Buffer): Uint8Array {
  return createHash('md5').update(data).digest();
}

function isBlobNotFound(error: unknown): boolean {
  const e = error as { statusCode?: unknown; code?: unknown; details?: { errorCode?: unknown } } | undefined;
  return e?.statusCode === 404 && (e.details?.errorCode ?? e.code) === 'BlobNotFound';
}

function resultOf(run: Upload, etag: string | undefined, digest: Uint8Array | undefined): UploadResult {
  const { address, context } = run;
  const { access_tier } = context.destination;
  return {
    url: address.url,
    bytes: context.source.size,
    etag: etag ?? null,
    container: address.container,
    blob: address.blob,
    ...(access_tier !== undefined ? { access_tier } : {}),
    // Each request's Content-MD5 was checked by the service; the blob's MD5 is known when this attempt read the whole file.
    checksum: digest ? { algorithm: 'MD5', scope: 'blob', value: Buffer.from(digest).toString('hex'), verified: true } : { algorithm: 'MD5', scope: 'blocks', verified: true },
  };
}
