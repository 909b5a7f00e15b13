import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';

const UPLOAD_TIMEOUT_MS = 1_500;

/**
 * A destination that takes the whole body and then never answers: the attempt must not hang
 * for ever holding a worker slot. UPLOAD_TIMEOUT_MS aborts it as a transient UF_TIMEOUT, and
 * the retry delivers.
 */
describe('a destination that stalls', () => {
  let harness: FleetHarness;
  let server: Server;
  let url: string;
  const arrivals: number[] = [];

  beforeAll(async () => {
    harness = await startFleetHarness('destination-stall', { uploadTimeoutMs: UPLOAD_TIMEOUT_MS });
    server = createServer((request, response) => {
      arrivals.push(Date.now());
      const stall = arrivals.length === 1;
      request.resume();
      request.on('end', () => {
        if (!stall) response.end('{"ok":true}');
        // The first request is read to the end and never answered.
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stalled`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await harness?.dispose();
  });

  it('is given up on after UPLOAD_TIMEOUT_MS (a transient failure), and the retry delivers', async () => {
    const file = harness.writeSource('stalled.bin', 10_000);
    const { token } = await harness.fleet.producer.enqueue({ source: { path: file.name }, upload: { destination: { type: 'http', url, filename: 'stalled.bin', method: 'PUT' } } });
    const final = await harness.fleet.producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 2 });
    expect(arrivals).toHaveLength(2);
    // The retry came after the timeout, not before: the stalled attempt held on until then.
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(UPLOAD_TIMEOUT_MS);
    // And it failed as a timeout of the attempt, not as an abort by the worker.
    const job = await harness.fleet.producer.queue('http').getJob(final.uploads[0]!.job_id);
    expect(job?.stacktrace?.join('\n')).toContain('[UF_TIMEOUT] The upload attempt ran longer than UPLOAD_TIMEOUT_MS');
  });
});
