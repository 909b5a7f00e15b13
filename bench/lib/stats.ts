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
  peakRssMiB: number;
}

export function summarize(row: Row): Summary {
  const rates = row.runs.map((r) => (row.unit === 'MiB/s' ? row.amount / MiB : row.amount) / r.seconds);
  const cpus = row.runs.map((r) => (row.unit === 'MiB/s' ? r.cpuSeconds / (row.amount / GiB) : (r.cpuSeconds * 1000) / row.amount));
  return { rate: median(rates), rateMin: Math.min(...rates), rateMax: Math.max(...rates), cpu: median(cpus), peakRssMiB: Math.max(...row.runs.map((r) => r.peakRssMiB)) };
}

/** Runs each tool `runs` times, interleaved (1 2 3, 2 3 1, 3 1 2, ...), so load changes hit every tool alike. */
export async function interleaved(runs: number, tools: { name: string; once: (run: number) => Promise<Measurement> }[]): Promise<Map<string, Measurement[]>> {
  const results = new Map(tools.map((t) => [t.name, [] as Measurement[]]));
  for (let run = 0; run < runs; run += 1) {
    for (let i = 0; i < tools.length; i += 1) {
      const tool = tools[(i + run) % tools.length]!;
      const measurement = await tool.once(run);
      results.get(tool.name)!.push(measurement);
      console.warn(`  ${tool.name} run ${run + 1}: ${measurement.seconds.toFixed(2)} s, ${measurement.cpuSeconds.toFixed(2)} CPU s, peak ${measurement.peakRssMiB.toFixed(0)} MiB`);
    }
  }
  return results;
}
