import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository's root, where apps/worker lives (this file is packages/testkit/src/). */
export const repoRoot = resolve(import.meta.dirname, '../../..');

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts apps/worker as its own OS process, the way a pod runs it: node itself with tsx
 * as a loader (not the tsx CLI, which runs node as a child that a SIGKILL of the CLI
 * would leave running).
 */
export function startWorker(env: Record<string, string>): WorkerProcess {
  return startApp('worker', { HEALTH_PORT: '0', HEALTH_HOST: '127.0.0.1', ...env });
}

/** Starts one of the deployables (apps/<name>/src/main.ts) as its own OS process, like startWorker. */
export function startApp(name: 'worker' | 'api', env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(repoRoot, `apps/${name}/src/main.ts`)], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves once the worker logged that its pools run. */
export const started = (worker: WorkerProcess) => until('the worker to start', () => worker.output().includes('worker pools started'));

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
