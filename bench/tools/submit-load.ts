/**
 * The submit benchmark's load generator, in a process of its own so that the servers'
 * process runs only the servers (its CPU time per delivery is then theirs alone). One job
 * per JSON line (tools/job-loop.ts): POST `body(n)` to `url` from `concurrency` loops for
 * `seconds`; answers the requests done and failed and the seconds they took.
 */
import { randomBytes } from 'node:crypto';
import { serveJobs } from './job-loop.js';

interface LoadJob {
  url: string;
  /** `single`: one delivery a request; `keyed`: the same with an idempotency_key; `batch`: `batch` deliveries a request. */
  body: 'single' | 'keyed' | 'batch';
  batch: number;
  concurrency: number;
  seconds: number;
  authorization: string;
}

const delivery = (n: number) => ({
  source: { path: `renders/${n}.mp4` },
  upload: { extension: 'mp4', destination: { type: 'http', url: 'https://uploads.example.com/in', filename: `${n}.mp4`, headers: { Authorization: 'Bearer destination-token' } } },
});

const bodies = {
  single: (n: number) => delivery(n),
  keyed: (n: number) => ({ ...delivery(n), idempotency_key: `bench-${n}-${randomBytes(4).toString('hex')}` }),
  batch: (n: number, size: number) => ({ deliveries: Array.from({ length: size }, (_, k) => delivery(n * size + k)) }),
};

serveJobs<LoadJob>(async (job) => {
  const headers = { authorization: job.authorization, 'content-type': 'application/json' };
  const until = Date.now() + job.seconds * 1000;
  let done = 0;
  let failed = 0;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (Date.now() < until) {
        const response = await fetch(job.url, { method: 'POST', headers, body: JSON.stringify(bodies[job.body](n++, job.batch)) });
        await response.arrayBuffer();
        if (response.status < 300) done += 1;
        else failed += 1;
      }
    }),
  );
  return { done, failed, seconds: (Date.now() - started) / 1000 };
});
