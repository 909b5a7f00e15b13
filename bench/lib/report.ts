import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './fleet.js';
import { writeBenchSection } from './sections.js';
import { summarize, type Row, type Summary } from './stats.js';

export interface Report {
  quick: boolean;
  runs: number;
  fileMiB: number;
  /** The file of the S3 and Azure sections (smaller: the emulators are slow). */
  storeFileMiB: number;
  azureFileMiB: number;
  startedAt: Date;
  finishedAt: Date;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; loadBefore: number[]; loadAfter: number[] };
  tools: Record<string, string>;
  rows: Row[];
  notes: string[];
}

interface Target {
  what: string;
  figure: number | undefined;
  target: string;
  met: boolean | undefined;
}

const find = (rows: Row[], path: string, tool: string, settings?: string): Summary | undefined => {
  const found = rows.find((r) => r.path.startsWith(path) && r.tool === tool && (settings === undefined || r.settings.startsWith(settings)));
  return found && summarize(found);
};

/** The issue's targets, each as a ratio measured in this one run. */
function targets(rows: Row[]): Target[] {
  const list: Target[] = [];
  const ratio = (what: string, a: number | undefined, b: number | undefined, target: number, atMost = false) => {
    const figure = a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
    list.push({ what, figure, target: `${atMost ? '≤' : '≥'} ${target}`, met: figure === undefined ? undefined : atMost ? figure <= target : figure >= target });
  };
  /** A ratio with no target of its own: what explains one (the whole-file hash curl does not compute). */
  const reported = (what: string, a: number | undefined, b: number | undefined) => {
    if (a !== undefined && b !== undefined && b > 0) list.push({ what, figure: a / b, target: 'reported', met: undefined });
  };
  const withoutHash = (fleet: Summary | undefined) => (fleet?.sha256ThreadCpu === undefined ? undefined : fleet.cpu - fleet.sha256ThreadCpu);
  for (const [path, reference] of [
    ['HTTP PUT', 'curl -T'],
    ['HTTP multipart POST', 'curl -F'],
  ] as const) {
    const fleet = find(rows, path, 'fleet');
    const ref = find(rows, path, reference);
    ratio(`${path}: fleet / ${reference}, throughput`, fleet?.rate, ref?.rate, 0.9);
    ratio(`${path}: fleet / ${reference}, CPU s per GiB`, fleet?.cpu, ref?.cpu, 2, true);
    reported(`${path}: fleet less its SHA-256 thread / ${reference}, CPU s per GiB`, withoutHash(fleet), ref?.cpu);
  }
  const s3 = 'S3 multipart';
  const best = (...values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined);
    return known.length ? Math.max(...known) : undefined;
  };
  const fleetEqual = find(rows, s3, 'fleet', '16 MiB');
  ratio('S3 equal settings: fleet / best of AWS CLI and lib-storage', fleetEqual?.rate, best(find(rows, s3, 'AWS CLI v2', '16 MiB')?.rate, find(rows, s3, 'lib-storage', '16 MiB')?.rate), 1);
  const fleetDefault = find(rows, s3, 'fleet', 'defaults');
  ratio('S3 defaults: fleet / best tool at its defaults', fleetDefault?.rate, best(find(rows, s3, 'AWS CLI v2', 'defaults')?.rate, find(rows, s3, 'lib-storage', 'defaults')?.rate, find(rows, s3, 'rclone', 'defaults')?.rate), 1);
  ratio('S3 equal settings: fleet / AWS CLI, CPU s per GiB', fleetEqual?.cpu, find(rows, s3, 'AWS CLI v2', '16 MiB')?.cpu, 1, true);
  ratio('FTP: fleet / curl -T, throughput', find(rows, 'FTP', 'fleet')?.rate, find(rows, 'FTP', 'curl -T')?.rate, 0.8);
  reported('FTP: fleet less its SHA-256 thread / curl -T, CPU s per GiB', withoutHash(find(rows, 'FTP', 'fleet')), find(rows, 'FTP', 'curl -T')?.cpu);
  ratio('Azure: fleet / best of the SDK\'s uploadFile and uploadStream', find(rows, 'Azure', 'fleet')?.rate, best(find(rows, 'Azure', '@azure/storage-blob uploadFile')?.rate, find(rows, 'Azure', '@azure/storage-blob uploadStream')?.rate), 1);
  ratio('Tiny deliveries: fleet / BullMQ + fetch by hand', find(rows, 'tiny', 'fleet')?.rate ?? rowsRate(rows, 'tiny', 'fleet'), rowsRate(rows, 'tiny', 'BullMQ + fetch by hand'), 0.8);
  ratio('Scale-out: 4 worker processes / 1', rowsRate(rows, 'scale', 'fleet, 4 worker processes'), rowsRate(rows, 'scale', 'fleet, 1 worker process'), 3.5);
  for (const path of ['memory, HTTP PUT', 'memory, S3 multipart']) {
    const memory = rows.filter((r) => r.path === path).sort((a, b) => a.amount - b.amount);
    if (memory.length < 2) continue;
    const small = summarize(memory[0]!).peakRssMiB;
    const large = summarize(memory.at(-1)!).peakRssMiB;
    ratio(`${path}: peak RSS ${memory.at(-1)!.settings} / ${memory[0]!.settings}`, large, small, 1.2, true);
    list.push({ what: `${path}: peak RSS at ${memory.at(-1)!.settings} (MiB)`, figure: large, target: '≤ 200', met: large <= 200 });
  }
  return list;
}

function rowsRate(rows: Row[], section: string, tool: string): number | undefined {
  const found = rows.find((r) => r.section === section && r.tool === tool);
  return found && summarize(found).rate;
}

const fixed = (n: number | undefined, digits = 2) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));

export function writeReport(report: Report): void {
  const list = targets(report.rows);
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench`: this part by `bench/side-by-side.ts` (the same figures in `docs/benchmarks.json`), the submit',
    'path and Redis Cluster sections after it by `bench/submit.ts` and `bench/cluster.ts` (each suite rewrites only its own part).',
    'What each change to these paths bought, and what was tried and did not help: `docs/performance-changes.md`.',
    'Each figure is the median of the runs, and the spread is the slowest and fastest run; the tools of one',
    'path run interleaved (1 2 3, 2 3 1, …) against the same local server and the same page-cached file, so a',
    'change of load hits each alike. Ratios are taken within this one run.',
    '',
    `- Run: ${report.startedAt.toISOString()} to ${report.finishedAt.toISOString()}${report.quick ? ' — **quick mode** (small file, one run: for development, not for comparison)' : ''}; ${report.runs} run(s) per tool; ${report.fileMiB} MiB file (${report.storeFileMiB} MiB for S3 and ${report.azureFileMiB} MiB for Azure, whose emulators take 10 to 25 s a GiB).`,
    `- Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB; Node ${report.machine.node}; load average ${report.machine.loadBefore.map((n) => n.toFixed(1)).join(' ')} before, ${report.machine.loadAfter.map((n) => n.toFixed(1)).join(' ')} after.`,
    `- Tools: ${Object.entries(report.tools).map(([k, v]) => `${k}: ${v}`).join('; ')}.`,
    '',
    '## What is measured',
    '',
    '- **The fleet** is `node apps/worker/dist/main.js` (the built JS of `pnpm build`), one process with default settings',
    '  except `WORKER_POOLS` (and what a row names); each delivery goes in through the producer library',
    '  (`Producer.enqueue`) and the time runs from the enqueue call to its job\'s completed event (BullMQ QueueEvents: a',
    '  blocking read, not status polls on the thread that also runs the sink, s3rver and the FTP forwarders); its status',
    '  is then read once to check it completed. The tiny and scale rows poll the completed count every 20 ms, for both tools.',
    '- **CPU** is user + system seconds of the client process, from the kernel: for a command-line tool (curl, aws,',
    '  rclone, socat) its whole life as GNU time reports it; for a long-lived process (the worker, the Node reference',
    '  scripts in `bench/tools/`, which load their SDK before being given the job) the growth of utime + stime in',
    '  /proc/<pid>/stat over the transfer. Per GiB of file for transfers, per job (ms) for the job rows.',
    '- **SHA-256 thread** (in "other"): of the fleet\'s CPU, what its whole-file SHA-256 (in every result) cost on the',
    '  worker\'s hash thread, from /proc/<pid>/task; a large file\'s hash runs there, so this is nearly all of it.',
    '- **Peak RSS** is GNU time\'s maximum RSS for a command-line tool, VmHWM of /proc/<pid>/status for a long-lived',
    '  process (so a worker\'s figure is its peak over all runs of that path).',
    '- **Server CPU** is the same figure for the server side over the same transfer: the bench\'s own process for the',
    '  rows whose server runs in it (the HTTP sink, s3rver, the loopback receiver), azurite\'s process for Azure; not',
    '  measured for FTP (vsftpd forks a process per session). Times the rate in GiB/s it is the cores the server kept',
    '  busy: near 1 for a one-threaded JavaScript server (s3rver, azurite, the sink) means the row waited on the server.',
    '- **Machine CPU** is the CPU every core of the machine spent over the same window (user, nice, system, irq and',
    '  softirq of /proc/stat; not steal, the time the hypervisor gave to other machines): client, server, Redis, the',
    '  kernel\'s socket work and this process together, and so the one figure for FTP\'s server too. In brackets, the',
    '  cores it kept busy on average: near the machine\'s own count means the row waited on the machine\'s CPU, and two',
    '  tools that both do are in the ratio of their machine CPU per GiB.',
    '- The servers (the Node HTTP sink that counts and drops bodies, s3rver, vsftpd reached directly rather than through',
    '  the testkit\'s counting forwarders and storing into /dev/shm, azurite, redis-server) run on the same 2 cores as the',
    '  client: the ceilings below show the loopback.',
    '',
  ];
  for (const section of [...new Set(report.rows.map((r) => r.section))]) {
    const sectionRows = report.rows.filter((r) => r.section === section);
    const jobs = sectionRows[0]!.unit === 'jobs/s';
    const server = !jobs && sectionRows.some((r) => summarize(r).serverCpu !== undefined);
    lines.push(
      `## ${section}`,
      '',
      `| path | tool | settings | ${jobs ? 'jobs/s' : 'MiB/s'} | spread | ${jobs ? 'CPU ms per job' : 'CPU s per GiB'} |${server ? ' server CPU s per GiB |' : ''} ${jobs ? 'machine CPU ms per job' : 'machine CPU s per GiB'} (cores) | peak RSS MiB | other |`,
      `|---|---|---|---|---|---|${server ? '---|' : ''}---|---|---|`,
    );
    for (const r of sectionRows) {
      const s = summarize(r);
      const other = [
        ...(s.sha256ThreadCpu !== undefined && s.sha256ThreadCpu > 0 ? [`SHA-256 thread ${fixed(s.sha256ThreadCpu)} CPU s per GiB`] : []),
        ...Object.entries(r.extra ?? {}).map(([k, v]) => `${k} ${fixed(v, Math.abs(v) < 10 ? 2 : 1)}`),
      ].join(', ');
      lines.push(`| ${r.path} | ${r.tool} | ${r.settings} | ${fixed(s.rate, jobs ? 0 : 1)} | ${fixed(s.rateMin, jobs ? 0 : 1)}–${fixed(s.rateMax, jobs ? 0 : 1)} | ${fixed(s.cpu)} |${server ? ` ${fixed(s.serverCpu)} |` : ''} ${s.machineCpu === undefined ? '—' : `${fixed(s.machineCpu)} (${fixed(s.machineCores, 1)})`} | ${fixed(s.peakRssMiB, 0)} | ${other} |`);
    }
    lines.push('');
  }
  lines.push('## Targets', '', '| what | figure | target | met |', '|---|---|---|---|');
  for (const t of list) lines.push(`| ${t.what} | ${fixed(t.figure)} | ${t.target} | ${t.target === 'reported' ? '-' : t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  if (report.notes.length) lines.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  const out = process.env.BENCH_OUT ?? join(repoRoot, 'docs');
  writeBenchSection('side-by-side', lines);
  writeFileSync(join(out, 'benchmarks.json'), `${JSON.stringify({ ...report, rows: report.rows.map((r) => ({ ...r, summary: summarize(r) })), targets: list }, null, 2)}\n`);
  console.log(lines.join('\n'));
}
