import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { measureWhile, type Measurement } from './measure.js';

/** A reference script (tools/*.ts) running as its own process, given jobs one at a time (tools/job-loop.ts). */
export class ScriptProcess {
  private readonly answers: ((line: string) => void)[] = [];
  private readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(script: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    const lines = createInterface({ input: this.child.stdout! });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${this.stderr}`)));
      lines.on('line', (line) => (line === 'ready' ? resolve() : this.answers.shift()?.(line)));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs one job and measures the process meanwhile. */
  async measure<Result = unknown>(job: unknown): Promise<Measurement & { result: Result }> {
    await this.ready;
    let result: Result | undefined;
    const measurement = await measureWhile(this.child.pid!, async () => {
      const line = await new Promise<string>((resolve) => {
        this.answers.push(resolve);
        this.child.stdin!.write(`${JSON.stringify(job)}\n`);
      });
      const answer = JSON.parse(line) as { ok: boolean; result?: Result; error?: string };
      if (!answer.ok) throw new Error(answer.error);
      result = answer.result;
    });
    return { ...measurement, result: result as Result };
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await exited;
  }
}
