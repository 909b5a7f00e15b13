import type { Measurement } from './measure.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One tool on one path: every run's measurement and what they add up to. */
export interface Row {
  section: string;
  path: string;
  tool: string;
  /** Settings the tool ran with, in words ("16 MiB × 4", "defaults"). */
  settings: string;
  /** Bytes (or jobs, for rows whose unit is jobs) of one run. */
  amount: number;
  unit: 'MiB/s' | 'jobs/s';
  runs: Measurement[];
  /** Other figures of the row (Redis commands per delivery, idle RSS). */
  extra?: Record<string, number>;
}

export interface Summary {
  rate: number;
  rateMin: number;
  rateMax: number;
  /** CPU seconds per GiB (MiB/s rows) or CPU milliseconds per job (jobs/s rows). */
  cpu: number;
  /** The server side's CPU seconds per GiB (MiB/s rows where it was measured). */
  serverCpu: number | undefined;
  /** Of `cpu`, the fleet worker's SHA-256 thread's, per GiB (fleet MiB/s rows). */
  sha256ThreadCpu: number | undefined;
  /** The whole machine's CPU, per GiB or per job as `cpu` (where the row's measurement took it). */
  machineCpu: number | undefined;
  /** The cores the machine kept busy on average over the row's runs: its CPU per second. */
  machineCores: number | undefined;
  peakRssMiB: number;
}

export function summarize(row: Row): Summary {
  const rates = row.runs.map((r) => (row.unit === 'MiB/s' ? row.amount / MiB : row.amount) / r.seconds);
  const cpus = row.runs.map((r) => (row.unit === 'MiB/s' ? r.cpuSeconds / (row.amount / GiB) : (r.cpuSeconds * 1000) / row.amount));
  const serverCpus = row.runs.flatMap((r) => (row.unit === 'MiB/s' && r.serverCpuSeconds !== undefined ? [r.serverCpuSeconds / (row.amount / GiB)] : []));
  const hashCpus = row.runs.flatMap((r) => (row.unit === 'MiB/s' && r.sha256ThreadCpuSeconds !== undefined ? [r.sha256ThreadCpuSeconds / (row.amount / GiB)] : []));
  const machine = row.runs.flatMap((r) => (r.machineCpuSeconds === undefined ? [] : [{ seconds: r.machineCpuSeconds, wall: r.seconds }]));
  const machineCpus = machine.map((m) => (row.unit === 'MiB/s' ? m.seconds / (row.amount / GiB) : (m.seconds * 1000) / row.amount));
  return {
    rate: median(rates),
    rateMin: Math.min(...rates),
    rateMax: Math.max(...rates),
    cpu: median(cpus),
    serverCpu: serverCpus.length ? median(serverCpus) : undefined,
    sha256ThreadCpu: hashCpus.length ? median(hashCpus) : undefined,
    machineCpu: machineCpus.length ? median(machineCpus) : undefined,
    machineCores: machine.length ? median(machine.map((m) => m.seconds / m.wall)) : undefined,
    peakRssMiB: Math.max(...row.runs.map((r) => r.peakRssMiB)),
  };
}

/** The bench's own process: it hosts the HTTP sink, s3rver and the FTP forwarders. */
export const benchProcessCpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** The server side's CPU clock of the section running now, and what was taken off it. */
let serverClock = benchProcessCpuSeconds;
let offClockSeconds = 0;
const serverCpuSoFar = () => serverClock() - offClockSeconds;

/**
 * Runs `work` (reading a stored object back to check it, say) without counting its CPU as
 * the server's: only the transfer is the server's work.
 */
export async function offTheServerClock<T>(work: () => Promise<T>): Promise<T> {
  const before = serverClock();
  try {
    return await work();
  } finally {
    offClockSeconds += serverClock() - before;
  }
}

/**
 * Runs each tool `runs` times, interleaved (1 2 3, 2 3 1, 3 1 2, ...), so load changes hit
 * every tool alike. The server side's CPU (`serverCpuSeconds`, by default the bench's own
 * process) is read around each run: when the server, not the client, is what a path waits
 * on, its CPU per GiB shows it.
 */
export async function interleaved(
  runs: number,
  tools: { name: string; once: (run: number) => Promise<Measurement> }[],
  /** null: the server side is not one process here (vsftpd forks a process per session). */
  options: { serverCpuSeconds?: (() => number) | null } = {},
): Promise<Map<string, Measurement[]>> {
  const measureServer = options.serverCpuSeconds !== null;
  serverClock = options.serverCpuSeconds ?? benchProcessCpuSeconds;
  offClockSeconds = 0;
  const results = new Map(tools.map((t) => [t.name, [] as Measurement[]]));
  for (let run = 0; run < runs; run += 1) {
    for (let i = 0; i < tools.length; i += 1) {
      const tool = tools[(i + run) % tools.length]!;
      const serverBefore = serverCpuSoFar();
      const measurement = { ...(await tool.once(run)) };
      if (measureServer) measurement.serverCpuSeconds = serverCpuSoFar() - serverBefore;
      results.get(tool.name)!.push(measurement);
      const server = measurement.serverCpuSeconds === undefined ? '' : `, server ${measurement.serverCpuSeconds.toFixed(2)} CPU s`;
      const machine = measurement.machineCpuSeconds === undefined ? '' : `, machine ${measurement.machineCpuSeconds.toFixed(2)} CPU s`;
      console.warn(`  ${tool.name} run ${run + 1}: ${measurement.seconds.toFixed(2)} s, ${measurement.cpuSeconds.toFixed(2)} CPU s${server}${machine}, peak ${measurement.peakRssMiB.toFixed(0)} MiB`);
    }
  }
  return results;
}
