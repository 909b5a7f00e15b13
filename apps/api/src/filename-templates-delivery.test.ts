/**
 * Filename templates end to end: submitted through the HTTP API with variables in the FTP
 * path, expanded once at submit time (the job holds the name, so every attempt writes the
 * same file), delivered by a real worker process to ftp-srv; unknown variables are a 400.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFtpServer, storedFile, type LocalFtpServer } from '@upload-fleet/testkit';
import { deliveryCount, finishedStatus, jobsOfToken, postDelivery, startHarnessWithWorker, type HarnessWithWorker } from './test-harness.js';

describe('filename templates through the API and a worker', () => {
  let h: HarnessWithWorker;
  let ftp: LocalFtpServer;

  beforeAll(async () => {
    h = await startHarnessWithWorker('api-templates', 'ftp');
    ftp = await startFtpServer({ users: { alice: 'alice-ftp-secret' } });
  }, 60_000);
  afterAll(async () => {
    await ftp?.close();
    await h?.close();
  });

  it('expands ${metadata.*}, ${date:...}, ${token}, ${index}, ${extension} and ${uuid} once, at submit, and the file lands there', async () => {
    const bytes = randomBytes(256 * 1024 + 3);
    writeFileSync(join(h.sourceRoot, 'episode.mov'), bytes);
    const destination = (filename: string) => ({ type: 'ftp', host: ftp.host, filename, user: 'alice', password: 'alice-ftp-secret', passive: true });
    const before = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    const res = await postDelivery(h, {
      source: { path: 'episode.mov' },
      metadata: { show: 'evening-news' },
      uploads: [
        { destination: destination('/${metadata.show}/${date:YYYY/MM/DD}/${token}-${index}.${extension}') },
        { destination: destination('/${metadata.show}/${uuid}.${extension}') },
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    const { token } = res.json<{ token: string }>();
    const after = new Date().toISOString().slice(0, 10).replaceAll('-', '/');

    // The jobs hold the expanded names: a retry or a resumed attempt reads the same one.
    const jobs = (await jobsOfToken(h, 'ftp', token)).sort((a, b) => a.data.index - b.data.index);
    const [first, second] = jobs.map((j) => String(j.data.destination.filename));
    expect([`/evening-news/${before}/${token}-0.mov`, `/evening-news/${after}/${token}-0.mov`]).toContain(first);
    expect(second).toMatch(/^\/evening-news\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.mov$/);

    const status = await finishedStatus(h, token);
    expect(status.state, h.worker.output().slice(-2000)).toBe('completed');
    expect(status.uploads[0]!.result!.url).toBe(`ftp://${ftp.host}${first}`);
    // Integrity: every result carries the whole file's SHA-256, hashed while it streamed.
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    for (const upload of status.uploads) expect(upload.result!.sha256).toBe(sha256);
    for (const name of [first!, second!]) expect((await storedFile(join(ftp.root, name)))?.size).toBe(bytes.length);
  }, 90_000);

  it('answers 400 naming the field and the variable for an unknown variable or metadata key, and enqueues nothing', async () => {
    const res = await postDelivery(h, {
      source: { path: 'episode.mov' },
      metadata: { show: 'x' },
      uploads: [
        { destination: { type: 'ftp', host: ftp.host, filename: '/${show}/a.mp4' } },
        { destination: { type: 'ftp', host: ftp.host, filename: '/${metadata.season}/a.mp4' } },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { problems: unknown[] } }>().error.problems).toEqual([
      { path: 'uploads.0.destination.filename', message: expect.stringContaining('${show} is not a known variable') },
      { path: 'uploads.1.destination.filename', message: expect.stringContaining('${metadata.season}') },
    ]);
    expect(await deliveryCount(h)).toBe(1);
  });
});
