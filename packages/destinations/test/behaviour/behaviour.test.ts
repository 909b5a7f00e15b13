/**
 * The shared behaviour suite: every destination adapter, against its real local server,
 * passes the same tests (a 0-byte file, a small one, one over 100 MiB, awkward names,
 * overwrite, progress, abort, resume after a crash, and its server's real errors).
 * Each file in ./targets brings one adapter and its server.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError, SecretBox } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { deletePrefix, startWorker, testRedisUrl, uniquePrefix, until, type WorkerProcess } from '@upload-fleet/testkit';
import { memoryCheckpoints, runUpload, writeRandomFile, type SourceFile } from './harness.js';
import type { BehaviourTarget } from './target.js';

const MiB = 1024 * 1024;
const targetsDir = join(import.meta.dirname, 'targets');
const targetFiles = readdirSync(targetsDir).filter((f) => f.endsWith('.ts')).sort();
const only = process.env.BEHAVIOUR_TARGETS?.split(',');
/** A target may say why it cannot run on this machine (vsftpd not installed, say). */
const skipReasons = Object.fromEntries(
  await Promise.all(targetFiles.map(async (f) => [f, ((await import(join(targetsDir, f))) as { skipReason?: string }).skipReason] as const)),
);

describe.each(targetFiles.filter((f) => !only || only.includes(f.replace(/\.ts$/, ''))))('behaviour of the %s adapter', (targetFile) => {
  const skipReason = skipReasons[targetFile];
  if (skipReason) {
    console.warn(`[behaviour] skipping ${targetFile}: ${skipReason}`);
    it.skip(`skipped: ${skipReason}`, () => undefined);
    return;
  }
  let target: BehaviourTarget;
  let dir: string;
  let small: SourceFile;
  let large: SourceFile;

  beforeAll(async () => {
    const module = (await import(join(targetsDir, targetFile))) as { createTarget(): Promise<BehaviourTarget> };
    target = await module.createTarget();
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-behaviour-'));
    small = await writeRandomFile(dir, 'small.mp4', 64 * 1024 + 3);
  }, 120_000);
  afterAll(async () => {
    await target?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a 0-byte file (or refuses it for good, where the platform cannot take one)', async () => {
    const empty = await writeRandomFile(dir, 'empty.mp4', 0);
    if (target.refusesEmptyFile) {
      const before = target.bytesReceived();
      const error = await runUpload(target, target.destination('renders/empty.mp4'), empty).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FleetError);
      expect({ code: (error as FleetError).code, category: (error as FleetError).category }).toEqual({ code: target.refusesEmptyFile.code, category: 'permanent' });
      expect(await target.stored('renders/empty.mp4')).toBeUndefined();
      expect(target.bytesReceived()).toBe(before);
      return;
    }
    const result = await runUpload(target, target.destination('renders/empty.mp4'), empty);
    expect(result.bytes).toBe(0);
    expect(await target.stored('renders/empty.mp4')).toEqual({ size: 0, sha256: empty.sha256 });
  });

  it('uploads a small file byte for byte and returns its URL', async () => {
    const result = await runUpload(target, target.destination('renders/small.mp4'), small);
    expect(result.bytes).toBe(small.size);
    expect(typeof result.url === 'string' || result.url === null).toBe(true);
    expect(await target.stored('renders/small.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('uploads a file over 100 MiB, streaming, with progress reaching its size', async () => {
    large = await writeRandomFile(dir, 'large.mp4', 100 * MiB + 12_345);
    const progress: number[] = [];
    const result = await runUpload(target, target.destination('renders/large.mp4'), large, { onProgress: (b) => progress.push(b) });
    expect(result.bytes).toBe(large.size);
    expect(await target.stored('renders/large.mp4')).toEqual({ size: large.size, sha256: large.sha256 });
    expect(progress.at(-1)).toBe(large.size);
    expect(progress.every((b) => b <= large.size)).toBe(true);
    expect(progress.length).toBeGreaterThan(1);
  }, 180_000);

  it('keeps names with spaces and non-ASCII characters', async () => {
    const name = 'renders/Grüße aus Köln & co (1) ✓.mp4';
    await runUpload(target, target.destination(name), small);
    expect(await target.stored(name)).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('overwrites an existing file', async () => {
    const first = await writeRandomFile(dir, 'first.mp4', 1000);
    const second = await writeRandomFile(dir, 'second.mp4', 2000);
    await runUpload(target, target.destination('renders/overwrite.mp4'), first);
    await runUpload(target, target.destination('renders/overwrite.mp4'), second);
    expect(await target.stored('renders/overwrite.mp4')).toEqual({ size: second.size, sha256: second.sha256 });
  });

  it('stops promptly when aborted (shutdown), with a UF_ABORTED error', async () => {
    const file = await writeRandomFile(dir, 'abort.mp4', 16 * MiB);
    target.throttle(MiB); // ~16 s at full length
    const controller = new AbortController();
    const progress: number[] = [];
    const upload = runUpload(target, target.destination('renders/abort.mp4'), file, { signal: controller.signal, onProgress: (b) => progress.push(b) });
    upload.catch(() => undefined);
    const started = Date.now();
    await until('some bytes to be sent', () => target.bytesReceived() > 0 && progress.length > 0);
    const abortedAt = Date.now();
    controller.abort('shutdown');
    const error = await upload.then(() => undefined, (e: unknown) => e);
    const stoppedAfter = Date.now() - abortedAt;
    target.throttle(0);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_ABORTED');
    // Promptly: well before the upload could have finished at this speed.
    expect(stoppedAfter).toBeLessThan(Math.max(3000, (abortedAt - started) * 4));
  }, 60_000);

  it('continues an interrupted upload from its checkpoint, sending about the file\'s size in total', async () => {
    const file = await writeRandomFile(dir, 'resume.mp4', 48 * MiB);
    const name = 'renders/resume.mp4';
    const checkpoints = memoryCheckpoints();
    const before = target.bytesReceived();
    target.throttle(8 * MiB);
    const interruption = new AbortController();
    const first = runUpload(target, target.destination(name), file, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('half of the file to arrive', () => target.bytesReceived() - before > file.size / 2);
    interruption.abort('shutdown');
    expect(await first.then(() => 'finished', (e: FleetError) => e.code)).toBe('UF_ABORTED');
    target.throttle(0);
    if (target.resumable) expect(checkpoints.state).toBeDefined();

    const result = await runUpload(target, target.destination(name), file, { checkpoint: checkpoints });
    expect(result.bytes).toBe(file.size);
    expect(await target.stored(name)).toEqual({ size: file.size, sha256: file.sha256 });
    if (target.copies) expect(await target.copies(name)).toBe(1);
    const sent = target.bytesReceived() - before;
    expect(sent / file.size).toBeLessThan(target.resumable ? 1.5 : 2.1);
  }, 120_000);

  it('classifies its server\'s real error answers', async () => {
    for (const errorCase of await target.errorCases()) {
      await errorCase.before?.();
      const error = await runUpload(target, errorCase.destination, small).then(
        () => new Error(`${errorCase.name}: the upload succeeded`),
        (e: unknown) => e,
      );
      expect(error, errorCase.name).toBeInstanceOf(FleetError);
      expect({ case: errorCase.name, code: (error as FleetError).code, category: (error as FleetError).category }).toEqual({
        case: errorCase.name,
        code: errorCase.code,
        category: errorCase.category,
      });
    }
  }, 120_000);

  describe('in worker processes', () => {
    const redisUrl = testRedisUrl();
    const prefix = uniquePrefix(`behaviour-${targetFile.replace(/\.ts$/, '')}`);
    const key = `k1:${Buffer.alloc(32, 5).toString('base64')}`;
    const workers: WorkerProcess[] = [];
    let redis: Redis;
    let producer: Producer;

    beforeAll(async () => {
      redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
      producer = new Producer({ connection: redis, prefix, secretBox: SecretBox.fromConfig(key) });
      await target.prepareWorkers?.({ redisUrl, prefix, secretBox: SecretBox.fromConfig(key) });
    });
    afterAll(async () => {
      for (const w of workers) w.child.kill('SIGKILL');
      await producer?.close();
      await deletePrefix(redisUrl, prefix);
      redis?.disconnect();
    });

    const spawnWorker = () => {
      const worker = startWorker({
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        ENCRYPTION_KEYS: key,
        WEBHOOK_SECRET: 'behaviour-suite-webhook-secret',
        WORKER_POOLS: target.type,
        SOURCE_ROOT: dir,
        ALLOWED_PRIVATE_HOSTS: '127.0.0.1,localhost',
        LOCK_DURATION_MS: '2000',
        STALLED_INTERVAL_MS: '1000',
        // The killed worker's per-account lease (Dropbox, FTP) lapses as fast as its job lock.
        KEY_LEASE_TTL_MS: '3000',
        ...target.workerEnv(),
      });
      workers.push(worker);
      return worker;
    };

    it('after the worker process is killed mid-upload, another one finishes it: byte-identical, sending about the file\'s size in total', async () => {
      const file = await writeRandomFile(dir, 'killed.mp4', 64 * MiB);
      const name = 'renders/killed.mp4';
      target.throttle(8 * MiB);
      const first = spawnWorker();
      const before = target.bytesReceived();
      const { token } = await producer.enqueue({ source: { path: file.name }, upload: { extension: 'mp4', destination: target.destination(name) } });
      await until('40% of the file to arrive', () => target.bytesReceived() - before > file.size * 0.4, 60_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();
      target.throttle(0);
      spawnWorker();
      const final = await producer.waitFor(token, { timeoutMs: 90_000, pollIntervalMs: 100 });
      const resumedInMs = Date.now() - killedAt;
      expect(final.state, JSON.stringify(final.uploads[0]?.error)).toBe('completed');
      expect(await target.stored(name)).toEqual({ size: file.size, sha256: file.sha256 });
      // One video/file, never two, however the crash fell.
      if (target.copies) expect(await target.copies(name)).toBe(1);
      const sent = target.bytesReceived() - before;
      console.info(`[behaviour] ${target.type}: killed at 40%, completed ${(resumedInMs / 1000).toFixed(1)} s after the kill, ${(sent / file.size).toFixed(3)}x the file's bytes sent in total`);
      // Resumable protocols resend at most the parts that were in flight; plain HTTP starts over.
      expect(sent / file.size).toBeLessThan(target.resumable ? 1.5 : 2.1);
      if (target.maxResendRatio !== undefined) expect(sent / file.size).toBeLessThanOrEqual(target.maxResendRatio);
    }, 180_000);
  });
});
