/**
 * Memory benchmark: the worker's peak RSS while it uploads 256 MiB and 2 GiB to each
 * streaming destination, against the same local servers the tests use. Streaming means
 * the peak must not grow with the file: the 2 GiB row should match the 256 MiB row.
 *
 *   pnpm bench:memory                      # all targets, 256 MiB and 2 GiB
 *   BENCH_TARGETS=s3 BENCH_SIZES_MIB=256 pnpm bench:memory
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeRandomFile } from '../packages/destinations/test/behaviour/harness.js';
import type { BehaviourTarget } from '../packages/destinations/test/behaviour/target.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const targets = (process.env.BENCH_TARGETS ?? 's3,azureblob,ftp,http').split(',');
const sizesMiB = (process.env.BENCH_SIZES_MIB ?? '256,2048').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-bench-'));

const rows: string[] = ['| destination | file | peak RSS | time | throughput |', '|---|---|---|---|---|'];
try {
  for (const name of targets) {
    const targetFile = join(root, 'packages/destinations/test/behaviour/targets', `${name}.ts`);
    if (!existsSync(targetFile)) {
      console.warn(`skipping ${name}: no behaviour target yet`);
      continue;
    }
    const { createTarget } = (await import(targetFile)) as { createTarget(): Promise<BehaviourTarget> };
    const target = await createTarget();
    try {
      for (const mib of sizesMiB) {
        const file = await writeRandomFile(dir, `bench-${mib}.mp4`, mib * 1024 * 1024);
        const { stdout } = await run(process.execPath, ['--conditions=development', '--import', 'tsx', join(root, 'bench/upload-child.ts'), file.path], {
          cwd: root,
          env: { ...process.env, ...target.workerEnv(), BENCH_DESTINATION: JSON.stringify(target.destination(`bench/${mib}.mp4`)) },
          maxBuffer: 1024 * 1024,
        });
        const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { bytes: number; seconds: number; peak_rss_mib: number };
        const stored = await target.stored(`bench/${mib}.mp4`);
        if (stored?.sha256 !== file.sha256) throw new Error(`${name}: the stored ${mib} MiB file differs from the source`);
        rows.push(`| ${name} | ${mib} MiB | ${result.peak_rss_mib} MiB | ${result.seconds.toFixed(1)} s | ${(mib / result.seconds).toFixed(0)} MiB/s |`);
        console.warn(rows.at(-1));
        rmSync(file.path);
      }
    } finally {
      await target.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(rows.join('\n'));
