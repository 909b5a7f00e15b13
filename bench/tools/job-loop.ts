/**
 * The loop of a reference script: it loads its SDK, says "ready", then runs one job per
 * JSON line on stdin and answers each with a JSON line on stdout. The parent measures the
 * CPU the process spends between a job's line and its answer (lib/measure.ts), so module
 * loading is not counted, as it is not for the fleet's worker.
 */
import { createInterface } from 'node:readline';

export function serveJobs<Job>(handle: (job: Job) => Promise<unknown>): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    handle(JSON.parse(line) as Job).then(
      (result) => process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`),
      (error: Error) => process.stdout.write(`${JSON.stringify({ ok: false, error: error.stack ?? String(error) })}\n`),
    );
  });
  lines.on('close', () => process.exit(0));
  process.stdout.write('ready\n');
}
