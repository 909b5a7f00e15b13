/**
 * `pnpm bench`: every benchmark of this package, one after the other, each in a process of
 * its own (so one's servers and memory do not weigh on the next). Arguments (`--quick`) and
 * the environment pass through to each.
 *
 * The suites, in order: the side-by-side data path, the limiter, the submit path against a
 * minimal route, and Redis Cluster 1 vs 3 masters. `BENCH_SUITES=submit,cluster` runs some.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const suites: { file: string; env?: Record<string, string> }[] = [
  { file: 'side-by-side.ts' },
  // The limiter's cost per job and its throughput with limits on and off.
  { file: 'limits.ts', env: quick ? { BENCH_JOBS: '1000' } : {} },
  // POST /v1/deliveries and the batch route against a minimal Fastify + zod + BullMQ route.
  { file: 'submit.ts', env: quick ? { BENCH_QUICK: '1' } : {} },
  // Keys per master, jobs/s and Redis CPU per delivery on 1 vs 3 masters.
  { file: 'cluster.ts', env: quick ? { BENCH_QUICK: '1' } : {} },
];

const only = process.env.BENCH_SUITES?.split(',');
const started = Date.now();
const minutesSince = (at: number) => ((Date.now() - at) / 60_000).toFixed(1);
for (const suite of suites) {
  if (only && !only.includes(suite.file.replace(/\.ts$/, ''))) continue;
  console.warn(`\n== bench/${suite.file}`);
  const suiteStarted = Date.now();
  const result = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', join(import.meta.dirname, suite.file), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...suite.env },
  });
  if (result.status !== 0) {
    console.error(`bench/${suite.file} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  // The whole run should stay within about 15 minutes: each suite's share shows where it goes.
  console.warn(`== bench/${suite.file}: ${minutesSince(suiteStarted)} min`);
}
console.warn(`\npnpm bench: ${minutesSince(started)} min in all`);
