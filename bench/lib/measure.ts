/**
 * How the side-by-side benchmark measures a tool: wall time, CPU seconds (user + system)
 * and peak RSS, read from the kernel's own accounting of the process.
 *
 * - A command-line tool (curl, aws, rclone, socat) runs under GNU time, which reads the
 *   child's rusage when it exits: its whole life, start-up included (curl's is a few ms;
 *   the AWS CLI's Python start-up is measured apart, see `startupCost`).
 * - A long-lived process (the fleet's worker, a Node reference script that waits for its
 *   go) is read from /proc/<pid>/stat before and after the transfer: the same utime + stime
 *   counters, over the transfer only. Peak RSS is VmHWM from /proc/<pid>/status.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  seconds: number;
  /** user + system CPU seconds of the process. */
  cpuSeconds: number;
  peakRssMiB: number;
  /** user + system CPU seconds of the server side meanwhile (see `interleaved`), when measured. */
  serverCpuSeconds?: number;
  /** Of `cpuSeconds`, the fleet worker's SHA-256 thread's (the whole-file hash of every result), when measured. */
  sha256ThreadCpuSeconds?: number;
  /** CPU seconds of the whole machine meanwhile (client, server, Redis, this process): see `machineCpuSeconds`. */
  machineCpuSeconds?: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux everywhere). */
const TICKS_PER_SECOND = 100;

/** Runs a command under GNU time and returns what it measured; throws when the command fails. */
export async function measureCommand(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Measurement & { stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-bench-time-'));
  const report = join(dir, 'time');
  try {
    const machineBefore = machineCpuSeconds();
    const started = process.hrtime.bigint();
    const { code, stdout, stderr } = await run('/usr/bin/time', ['-f', '%U %S %M', '-o', report, command, ...args], options);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const machine = machineCpuSeconds() - machineBefore;
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
    const [user, system, maxRssKiB] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
    return { seconds, cpuSeconds: user + system, peakRssMiB: maxRssKiB / 1024, machineCpuSeconds: machine, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSecondsOf(pid: number): number {
  return cpuSecondsIn(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of a /proc stat line (a process's or a thread's), in seconds. */
function cpuSecondsIn(stat: string): number {
  // Fields after the command name (which may hold spaces) start at state (field 3).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds every core of this machine has spent on work so far: user, nice, system, irq
 * and softirq of /proc/stat's first line (a loopback transfer's receiving side runs in
 * softirq). Not idle, iowait, or steal (time the hypervisor gave to other machines). Over one
 * run, this counts what no process figure catches: a server that forks per session (vsftpd),
 * Redis, the kernel's work for the sockets.
 */
export function machineCpuSeconds(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').slice(0, 200).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq!) / TICKS_PER_SECOND;
}

/**
 * CPU seconds (user + system) of the threads of process `pid` whose name starts with
 * `namePrefix` (Linux keeps 15 characters of a thread's name: /proc/<pid>/task/<tid>/comm).
 */
export function threadCpuSecondsOf(pid: number, namePrefix: string): number {
  let seconds = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (name.startsWith(namePrefix.slice(0, 15))) seconds += cpuSecondsIn(stat);
  }
  return seconds;
}

/** Peak resident set (VmHWM) of a running process, in MiB. */
export function peakRssMiBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Current resident set (VmRSS) of a running process, in MiB. */
export function rssMiBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Measures `work` as CPU used by the process `pid` meanwhile (see the header). */
export async function measureWhile(pid: number, work: () => Promise<void>): Promise<Measurement> {
  const cpuBefore = cpuSecondsOf(pid);
  const machineBefore = machineCpuSeconds();
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, cpuSeconds: cpuSecondsOf(pid) - cpuBefore, peakRssMiB: peakRssMiBOf(pid), machineCpuSeconds: machineCpuSeconds() - machineBefore };
}
