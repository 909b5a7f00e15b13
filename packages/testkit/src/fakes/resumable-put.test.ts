import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESUMABLE_CHUNK_UNIT, ResumableSession, resumableTraffic, type ResumableChunkFault } from './resumable-put.js';

/** The shared resumable-PUT core behind a bare server: one session, its PUTs, nothing else. */
let dir: string;
let server: Server;
let session: ResumableSession;
let url: string;
let nextFault: ResumableChunkFault | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-resumable-'));
  session = new ResumableSession('object', dir, resumableTraffic());
  server = createServer((req, res) => {
    const fault = nextFault;
    nextFault = undefined;
    session.receive(req, res, (answer, message) => void answer.writeHead(400).end(message), fault);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  session.close();
  rmSync(dir, { recursive: true, force: true });
});

const put = (contentRange: string | undefined, body: Buffer = Buffer.alloc(0)) =>
  fetch(url, { method: 'PUT', headers: contentRange ? { 'content-range': contentRange } : {}, body });

describe('the resumable PUT session', () => {
  const total = 2 * RESUMABLE_CHUNK_UNIT + 1000;
  const file = randomBytes(total);

  it('answers 308 with Range as chunks arrive, 200 on the last byte, and stores the object byte for byte', async () => {
    const empty = await put(`bytes */${total}`);
    expect([empty.status, empty.headers.get('range')]).toEqual([308, null]);
    const first = await put(`bytes 0-${RESUMABLE_CHUNK_UNIT - 1}/${total}`, file.subarray(0, RESUMABLE_CHUNK_UNIT));
    expect([first.status, first.headers.get('range')]).toEqual([308, `bytes=0-${RESUMABLE_CHUNK_UNIT - 1}`]);
    const query = await put(`bytes */${total}`);
    expect(query.headers.get('range')).toBe(`bytes=0-${RESUMABLE_CHUNK_UNIT - 1}`);
    const last = await put(`bytes ${RESUMABLE_CHUNK_UNIT}-${total - 1}/${total}`, file.subarray(RESUMABLE_CHUNK_UNIT));
    expect(last.status).toBe(200);
    expect(session.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(readFileSync(session.path).equals(file)).toBe(true);
    expect((await put(`bytes */${total}`)).status).toBe(200);
  });

  it('refuses a chunk that is not a multiple of 256 KiB (unless last), starts elsewhere, or changes the total', async () => {
    expect((await put(`bytes 0-999/${total}`, file.subarray(0, 1000))).status).toBe(400);
    expect((await put(`bytes ${RESUMABLE_CHUNK_UNIT}-${2 * RESUMABLE_CHUNK_UNIT - 1}/${total}`, file.subarray(RESUMABLE_CHUNK_UNIT, 2 * RESUMABLE_CHUNK_UNIT))).status).toBe(400);
    expect((await put(`bytes 0-${RESUMABLE_CHUNK_UNIT - 1}/${total}`, file.subarray(0, RESUMABLE_CHUNK_UNIT))).status).toBe(308);
    expect((await put(`bytes */${total + 1}`)).status).toBe(400);
    expect((await put('bytes 0-1/*', file.subarray(0, 2))).status).toBe(400);
    expect(session.stored).toBe(RESUMABLE_CHUNK_UNIT);
  });

  it('keeps only the whole 256 KiB units of a chunk cut short, so the client must ask before it resumes', async () => {
    nextFault = { dropAfterBytes: RESUMABLE_CHUNK_UNIT + 5000 };
    await expect(put(`bytes 0-${2 * RESUMABLE_CHUNK_UNIT - 1}/${total}`, file.subarray(0, 2 * RESUMABLE_CHUNK_UNIT))).rejects.toThrow();
    const query = await put(`bytes */${total}`);
    expect([query.status, query.headers.get('range')]).toEqual([308, `bytes=0-${RESUMABLE_CHUNK_UNIT - 1}`]);
  });

  it('keeps what a keepBytes fault allows of a chunk and says so in Range', async () => {
    nextFault = { keepBytes: RESUMABLE_CHUNK_UNIT + 5 };
    const answer = await put(`bytes 0-${2 * RESUMABLE_CHUNK_UNIT - 1}/${total}`, file.subarray(0, 2 * RESUMABLE_CHUNK_UNIT));
    expect([answer.status, answer.headers.get('range')]).toEqual([308, `bytes=0-${RESUMABLE_CHUNK_UNIT + 4}`]);
  });
});
