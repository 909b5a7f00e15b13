/**
 * Side-by-side benchmark: the fleet's worker process (built JS, default settings) against
 * the reference tools, on the same local servers and the same page-cached file, runs
 * interleaved. See docs/benchmarks.md for what each row measures.
 *
 *   pnpm bench                         # everything (about 15 minutes on 2 cores)
 *   pnpm bench --quick                 # small files, one run: for development
 *   BENCH_SECTIONS=http,ftp pnpm bench --quick
 *   BENCH_RUNS=5 BENCH_FILE_MIB=512 pnpm bench
 *   BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_SECTIONS=http pnpm bench:side-by-side
 *   BENCH_WORKER_ENV="SOURCE_FILE_CALLS=thread-pool" BENCH_SECTIONS=tiny pnpm bench:side-by-side
 */
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { destinationSettingVariables } from '@upload-fleet/destinations/definitions';
import { startEmbeddedRedis } from '@upload-fleet/redis';
import { AZURITE_ACCOUNT, AZURITE_KEY, S3RVER_KEY, S3RVER_SECRET, startAzurite, startS3Server, startVsftpd, vsftpdUnavailable } from '@upload-fleet/testkit';
import { writeRandomFile } from '../packages/destinations/test/behaviour/harness.js';
import { Fleet, repoRoot } from './lib/fleet.js';
import { startHttpSink } from './lib/http-sink.js';
import { cpuSecondsOf, measureCommand, measureWhile, run, type Measurement } from './lib/measure.js';
import { ScriptProcess } from './lib/script-process.js';
import { interleaved, MiB, offTheServerClock, summarize, type Row } from './lib/stats.js';
import { writeReport } from './lib/report.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3));
const FILE_MIB = Number(process.env.BENCH_FILE_MIB ?? (quick ? 64 : 1024));
// The S3 and Azure emulators take a GiB in 10 to 25 s where the loopback paths take 2: their
// sections use a file of at most 640 MiB (the ratios within a section are what count), which
// keeps a whole pnpm bench within about 15 minutes on 2 cores. 640 MiB is the least that lets
// the fleet send 16 MiB parts 4 at a time (the equal-settings row): it keeps the parts in
// flight within a tenth of the file (s3/part-size.ts).
const STORE_FILE_MIB = Number(process.env.BENCH_STORE_FILE_MIB ?? Math.min(FILE_MIB, 640));
// Azure has no such constraint (each tool picks its blocks alone): 384 MiB keeps its section
// to about a minute and a half of the budget (640 MiB took 132 s of a 15.7-minute bench).
const AZURE_FILE_MIB = Number(process.env.BENCH_AZURE_FILE_MIB ?? Math.min(STORE_FILE_MIB, 384));
const TINY_JOBS = Number(process.env.BENCH_TINY_JOBS ?? (quick ? 200 : 2000));
const TINY_CONCURRENCY = 50;
const SCALE_JOBS = Number(process.env.BENCH_SCALE_JOBS ?? (quick ? 80 : 400));
const SINK_DELAY_MS = 100;
const MEMORY_MIB = (process.env.BENCH_MEMORY_MIB ?? (quick ? '64,256' : '256,4096')).split(',').map(Number);
const SECTIONS = (process.env.BENCH_SECTIONS ?? 'ceilings,http,s3,ftp,azure,tiny,scale,memory').split(',');
const AWS = '/usr/bin/aws';

const startedAt = new Date();
const loadBefore = loadavg();
/** A memory file system, where Linux has one, for servers that store what they are sent. */
const MEMORY_FILE_SYSTEM = '/dev/shm';

const work = mkdtempSync(join(tmpdir(), 'upload-fleet-bench-'));
const sourceRoot = join(work, 'renders');
mkdirSync(sourceRoot);
const rows: Row[] = [];
const notes: string[] = [];

const row = (r: Omit<Row, 'runs'>, runs: Measurement[]) => {
  const complete = { ...r, runs };
  rows.push(complete);
  const s = summarize(complete);
  console.warn(`${r.path} | ${r.tool} (${r.settings}): ${s.rate.toFixed(r.unit === 'jobs/s' ? 0 : 1)} ${r.unit}, CPU ${s.cpu.toFixed(2)}, peak ${s.peakRssMiB.toFixed(0)} MiB`);
};

await ensureTools();
if (!process.env.BENCH_SKIP_BUILD) {
  console.warn('building the workspace (pnpm build) so the worker runs as built JS');
  const build = await run('pnpm', ['build'], { cwd: repoRoot });
  if (build.code !== 0) throw new Error(`pnpm build failed:\n${build.stdout.slice(-3000)}${build.stderr.slice(-3000)}`);
}

const redisServer = await startEmbeddedRedis({ dataDir: join(work, 'redis'), persist: false });
const redisUrl = redisServer.url;
console.warn(`writing a ${FILE_MIB} MiB random file`);
const file = await writeRandomFile(sourceRoot, 'clip.mp4', FILE_MIB * MiB);
const fileBytes = FILE_MIB * MiB;
const storeFile = STORE_FILE_MIB === FILE_MIB ? { ...file, name: 'clip.mp4' } : { ...(await writeRandomFile(sourceRoot, 'store.mp4', STORE_FILE_MIB * MiB)), name: 'store.mp4' };
const storeFileBytes = STORE_FILE_MIB * MiB;
if (storeFile.name !== 'clip.mp4') readFileSync(storeFile.path);
const azureFile = AZURE_FILE_MIB === STORE_FILE_MIB ? storeFile : { ...(await writeRandomFile(sourceRoot, 'azure.mp4', AZURE_FILE_MIB * MiB)), name: 'azure.mp4' };
const azureFileBytes = AZURE_FILE_MIB * MiB;
if (azureFile !== storeFile) readFileSync(azureFile.path);
// Read it once so every tool reads it from the page cache.
readFileSync(file.path);
// Written back to the disk before any row: left dirty, the files were flushed during the first
// runs, which then waited on the disk (a machine with a slow disk: 3.9 s for a GiB instead of 1.3).
for (const path of new Set([file.path, storeFile.path, azureFile.path])) flushToDisk(path);
let prefixCounter = 0;

/** Writes a file's dirty pages to the disk now; they stay in the page cache, clean. */
function flushToDisk(path: string): void {
  const descriptor = openSync(path, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
const fleetOf = (env: Record<string, string>, processes = 1) => new Fleet({ redisUrl, prefix: `bench${(prefixCounter += 1)}`, sourceRoot, env, processes });

/** Runs a section when BENCH_SECTIONS names it, and notes how long it took (the whole bench has a budget of about 15 minutes). */
async function section(name: string, body: () => Promise<void>): Promise<void> {
  if (!SECTIONS.includes(name)) return;
  const started = performance.now();
  await body();
  const seconds = (performance.now() - started) / 1000;
  sectionSeconds.push(`${name} ${seconds.toFixed(0)} s`);
  console.warn(`section ${name} took ${seconds.toFixed(0)} s`);
}
const sectionSeconds: string[] = [];

try {
  await section('ceilings', ceilings);
  await section('http', http);
  await section('s3', s3);
  await section('ftp', ftp);
  await section('azure', azure);
  await section('tiny', tiny);
  await section('scale', scale);
  await section('memory', memory);
  notes.push(`Time per section: ${sectionSeconds.join(', ')}.`);
} finally {
  await redisServer.stop();
  rmSync(work, { recursive: true, force: true });
}

writeReport({
  quick,
  runs: RUNS,
  fileMiB: FILE_MIB,
  storeFileMiB: STORE_FILE_MIB,
  azureFileMiB: AZURE_FILE_MIB,
  startedAt,
  finishedAt: new Date(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore, loadAfter: loadavg() },
  tools: await toolVersions(),
  rows,
  notes,
});

// ---------------------------------------------------------------------------------------

/** The transport under every row: loopback TCP, 1 MiB writes from Node, and socat. */
async function ceilings(): Promise<void> {
  console.warn('ceilings: loopback TCP');
  const server = createTcpServer((socket) => socket.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const nodeWriter = `const s=require('net').connect(${port},'127.0.0.1',()=>{const b=Buffer.alloc(${MiB},1);let n=0;const w=()=>{while(n<${FILE_MIB}){n++;if(!s.write(b))return s.once('drain',w)}s.end()};w()});s.on('close',()=>process.exit(0))`;
  const results = await interleaved(RUNS, [
    { name: 'node', once: () => measureCommand(process.execPath, ['-e', nodeWriter]) },
    { name: 'socat', once: () => measureCommand('socat', ['-u', `OPEN:${file.path}`, `TCP:127.0.0.1:${port}`]) },
  ]);
  row({ section: 'ceilings', path: 'loopback TCP', tool: 'Node net, 1 MiB writes', settings: 'whole process', amount: fileBytes, unit: 'MiB/s' }, results.get('node')!);
  row({ section: 'ceilings', path: 'loopback TCP', tool: 'socat', settings: 'file to socket', amount: fileBytes, unit: 'MiB/s' }, results.get('socat')!);
  server.close();
}

async function http(): Promise<void> {
  console.warn('HTTP: the Node sink, curl -T / curl -F against the fleet');
  const sink = await startHttpSink();
  const fleet = fleetOf({ WORKER_POOLS: 'http' });
  await fleet.start();
  const checked = (path: string, m: Measurement) => {
    const got = sink.received.get(path) ?? 0;
    if (got < fileBytes) throw new Error(`the sink got ${got} bytes at ${path}, less than the file`);
    return m;
  };
  try {
    const results = await interleaved(RUNS, [
      { name: 'curl -T', once: async (i) => checked(`/curl-put-${i}`, await measureCommand('curl', ['-sS', '-f', '-o', '/dev/null', '-T', file.path, `${sink.url}/curl-put-${i}`])) },
      { name: 'fleet PUT', once: async (i) => checked(`/fleet-put-${i}`, await fleet.deliver('clip.mp4', { type: 'http', url: `${sink.url}/fleet-put-${i}`, filename: 'clip.mp4', method: 'PUT' })) },
      { name: 'curl -F', once: async (i) => checked(`/curl-post-${i}`, await measureCommand('curl', ['-sS', '-f', '-o', '/dev/null', '-F', `fileid=@${file.path}`, `${sink.url}/curl-post-${i}`])) },
      { name: 'fleet POST', once: async (i) => checked(`/fleet-post-${i}`, await fleet.deliver('clip.mp4', { type: 'http', url: `${sink.url}/fleet-post-${i}`, filename: 'clip.mp4', method: 'POST' })) },
    ]);
    const base = { section: 'http', amount: fileBytes, unit: 'MiB/s' } as const;
    row({ ...base, path: 'HTTP PUT', tool: 'curl -T', settings: 'defaults' }, results.get('curl -T')!);
    row({ ...base, path: 'HTTP PUT', tool: 'fleet', settings: 'defaults' }, results.get('fleet PUT')!);
    row({ ...base, path: 'HTTP multipart POST', tool: 'curl -F', settings: 'defaults' }, results.get('curl -F')!);
    row({ ...base, path: 'HTTP multipart POST', tool: 'fleet', settings: 'defaults' }, results.get('fleet POST')!);
  } finally {
    await fleet.close();
    await sink.close();
  }
}

async function s3(): Promise<void> {
  console.warn('S3: s3rver, AWS CLI, rclone and lib-storage against the fleet');
  const bucket = 'bench';
  const server = await startS3Server({ buckets: [bucket] });
  const equal = { partMiB: 16, parallel: 4 };
  const defaultOf = (name: string) => destinationSettingVariables().find((v) => v.name === name)?.defaultText;
  const [defaultPartMiB, defaultParallel] = [defaultOf('S3_PART_SIZE_MIB'), defaultOf('S3_PARTS_IN_FLIGHT')];
  const fleetDefault = fleetOf({ WORKER_POOLS: 's3' });
  const fleetEqual = fleetOf({ WORKER_POOLS: 's3', S3_PART_SIZE_MIB: String(equal.partMiB), S3_PARTS_IN_FLIGHT: String(equal.parallel) });
  // For choosing defaults: more fleet rows, each its own worker process, as `MiB×parts` (BENCH_S3_FLEET_VARIANTS=5x4,8x4,32x4).
  const variants = (process.env.BENCH_S3_FLEET_VARIANTS ?? '')
    .split(',')
    .filter(Boolean)
    .map((text) => {
      const [partMiB, parallel] = text.split('x').map(Number);
      if (!Number.isInteger(partMiB) || !Number.isInteger(parallel)) throw new Error(`BENCH_S3_FLEET_VARIANTS: "${text}" is not like 8x4`);
      return { name: `fleet ${partMiB}x${parallel}`, settings: `${partMiB} MiB × ${parallel}`, fleet: fleetOf({ WORKER_POOLS: 's3', S3_PART_SIZE_MIB: String(partMiB), S3_PARTS_IN_FLIGHT: String(parallel) }) };
    });
  for (const fleet of [fleetDefault, fleetEqual, ...variants.map((v) => v.fleet)]) await fleet.start();
  const libStorage = new ScriptProcess(join(import.meta.dirname, 'tools/lib-storage-upload.ts'), { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET });
  const awsConfig = (name: string, lines: string[]) => {
    const path = join(work, `aws-${name}.ini`);
    writeFileSync(path, ['[default]', 'region = us-east-1', ...lines, ''].join('\n'));
    return path;
  };
  const awsEqual = awsConfig('equal', ['s3 =', `  multipart_chunksize = ${equal.partMiB}MB`, `  max_concurrent_requests = ${equal.parallel}`]);
  const awsDefault = awsConfig('default', []);
  // The S3 tools talk plain HTTP to s3rver; a CA bundle named by the machine's environment
  // (AWS_CA_BUNDLE) would make rclone's AWS SDK refuse its own transport.
  const { AWS_CA_BUNDLE: _caBundle, ...toolEnv } = process.env;
  const aws = (config: string, key: string) =>
    measureCommand(AWS, ['s3', 'cp', '--no-progress', '--only-show-errors', '--endpoint-url', server.endpoint, storeFile.path, `s3://${bucket}/${key}`], {
      env: { ...toolEnv, AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' },
    });
  const rclone = (key: string, extra: string[]) =>
    measureCommand('rclone', [
      'copyto',
      storeFile.path,
      `:s3:${bucket}/${key}`,
      '--s3-provider=Other',
      `--s3-endpoint=${server.endpoint}`,
      `--s3-access-key-id=${S3RVER_KEY}`,
      `--s3-secret-access-key=${S3RVER_SECRET}`,
      '--s3-region=us-east-1',
      '--s3-force-path-style=true',
      '--s3-no-check-bucket',
      '--config=/dev/null',
      ...extra,
    ], { env: toolEnv });
  const verified = async (key: string, m: Measurement, run: number) => {
    // Reading a stored object back costs seconds per GiB: the first run of each tool is checked.
    if (run === 0) {
      const stored = await offTheServerClock(() => server.stored(bucket, key));
      if (stored?.sha256 !== storeFile.sha256) throw new Error(`S3 object ${key} differs from the file (${stored?.size ?? 'none'} bytes)`);
    }
    return m;
  };
  const destination = (key: string) => ({ type: 's3', bucket, filename: key, aws_access_key_id: S3RVER_KEY, aws_secret_access_key: S3RVER_SECRET, s3host: server.endpoint.replace('http://', '') });
  const eq = `${equal.partMiB} MiB × ${equal.parallel}`;
  try {
    const tools = [
      { name: 'fleet default', once: async (i: number) => verified(`fleet-d-${i}`, await fleetDefault.deliver(storeFile.name, destination(`fleet-d-${i}`)), i) },
      { name: 'aws equal', once: async (i: number) => verified(`aws-e-${i}`, await aws(awsEqual, `aws-e-${i}`), i) },
      { name: 'lib equal', once: async (i: number) => verified(`lib-e-${i}`, await libStorage.measure({ endpoint: server.endpoint, bucket, key: `lib-e-${i}`, file: storeFile.path, partSize: equal.partMiB * MiB, queueSize: equal.parallel }), i) },
      { name: 'rclone equal', once: async (i: number) => verified(`rclone-e-${i}`, await rclone(`rclone-e-${i}`, [`--s3-chunk-size=${equal.partMiB}M`, `--s3-upload-concurrency=${equal.parallel}`]), i) },
      { name: 'aws default', once: async (i: number) => verified(`aws-d-${i}`, await aws(awsDefault, `aws-d-${i}`), i) },
      { name: 'lib default', once: async (i: number) => verified(`lib-d-${i}`, await libStorage.measure({ endpoint: server.endpoint, bucket, key: `lib-d-${i}`, file: storeFile.path }), i) },
      { name: 'rclone default', once: async (i: number) => verified(`rclone-d-${i}`, await rclone(`rclone-d-${i}`, []), i) },
      { name: 'fleet equal', once: async (i: number) => verified(`fleet-e-${i}`, await fleetEqual.deliver(storeFile.name, destination(`fleet-e-${i}`)), i) },
      ...variants.map(({ name, fleet }) => {
        const key = (i: number) => `${name.replace(' ', '-')}-${i}`;
        return { name, once: async (i: number) => verified(key(i), await fleet.deliver(storeFile.name, destination(key(i))), i) };
      }),
    ];
    // For development: only the rows named (BENCH_S3_ROWS="fleet equal,aws equal"); the report leaves the others out.
    const only = process.env.BENCH_S3_ROWS?.split(',').map((name) => name.trim());
    const results = await interleaved(RUNS, only ? tools.filter((t) => only.includes(t.name) || (only.includes('variants') && variants.some((v) => v.name === t.name))) : tools);
    const rowOf = (r: Omit<Row, 'runs'>, name: string) => {
      const runs = results.get(name);
      if (runs) row(r, runs);
    };
    const base = { section: 's3', path: 'S3 multipart (s3rver)', amount: storeFileBytes, unit: 'MiB/s' } as const;
    rowOf({ ...base, tool: 'fleet', settings: eq }, 'fleet equal');
    rowOf({ ...base, tool: 'AWS CLI v2', settings: eq }, 'aws equal');
    rowOf({ ...base, tool: 'lib-storage', settings: eq }, 'lib equal');
    rowOf({ ...base, tool: 'rclone', settings: eq }, 'rclone equal');
    rowOf({ ...base, tool: 'fleet', settings: `defaults (${defaultPartMiB} MiB × ${defaultParallel})` }, 'fleet default');
    rowOf({ ...base, tool: 'AWS CLI v2', settings: 'defaults (8 MiB × 10)' }, 'aws default');
    rowOf({ ...base, tool: 'lib-storage', settings: 'defaults (5 MiB × 4)' }, 'lib default');
    rowOf({ ...base, tool: 'rclone', settings: 'defaults (5 MiB × 4)' }, 'rclone default');
    for (const { name, settings } of variants) rowOf({ ...base, tool: 'fleet', settings: `${settings} (variant)` }, name);
    // The AWS CLI's Python start-up is inside its figures (GNU time sees the whole process).
    const startup = await measureCommand(AWS, ['--version']);
    notes.push(`AWS CLI start-up (\`aws --version\`): ${startup.cpuSeconds.toFixed(2)} CPU s, inside its S3 figures.`);
  } finally {
    await libStorage.close();
    await fleetDefault.close();
    await fleetEqual.close();
    for (const { fleet } of variants) await fleet.close();
    await server.close();
  }
}

async function ftp(): Promise<void> {
  if (vsftpdUnavailable) {
    notes.push(`FTP rows skipped: ${vsftpdUnavailable}`);
    return;
  }
  console.warn('FTP: vsftpd, curl -T against the fleet');
  // vsftpd writes the file to its folder; on a disk, the kernel's writeback throttled both
  // tools to the disk's pace after the first GiB (a machine with a slow disk: curl 2.0 s,
  // then 4.8 and 4.6 s). In memory, the rows time the clients, as the HTTP sink that drops bodies does.
  const server = await startVsftpd({ parentDir: existsSync(MEMORY_FILE_SYSTEM) ? MEMORY_FILE_SYSTEM : undefined });
  const fleet = fleetOf({ WORKER_POOLS: 'ftp' });
  await fleet.start();
  const checked = (name: string, m: Measurement) => {
    const stored = join(server.root, server.uploadFolder, name);
    const size = statSync(stored).size;
    if (size !== fileBytes) throw new Error(`vsftpd holds ${size} bytes of ${name}`);
    // Each run's file would otherwise stay in memory until the server closes.
    rmSync(stored);
    return m;
  };
  try {
    const results = await interleaved(RUNS, [
      // vsftpd itself, not the testkit's counting forwarders in front of it: they run in this
      // process at about 1.6 CPU s per GiB, a whole core at curl's rate, and bounded both rows.
      // --ftp-skip-pasv-ip: data connections to the control connection's address, as the fleet's.
      { name: 'curl -T', once: async (i) => checked(`curl-${i}.mp4`, await measureCommand('curl', ['-sS', '-f', '--ftp-skip-pasv-ip', '-T', file.path, `ftp://${server.directHost}/${server.uploadFolder}/curl-${i}.mp4`])) },
      { name: 'fleet', once: async (i) => checked(`fleet-${i}.mp4`, await fleet.deliver('clip.mp4', { type: 'ftp', host: server.directHost, filename: `/${server.uploadFolder}/fleet-${i}.mp4` })) },
    ], { serverCpuSeconds: null });
    const base = { section: 'ftp', path: 'FTP (vsftpd)', amount: fileBytes, unit: 'MiB/s', settings: 'defaults' } as const;
    row({ ...base, tool: 'curl -T' }, results.get('curl -T')!);
    row({ ...base, tool: 'fleet' }, results.get('fleet')!);
  } finally {
    await fleet.close();
    await server.close();
  }
}

async function azure(): Promise<void> {
  console.warn('Azure: azurite, @azure/storage-blob uploadFile/uploadStream against the fleet');
  const azurite = await startAzurite();
  const container = 'bench';
  await azurite.service.getContainerClient(container).create();
  const endpoint = `http://127.0.0.1:${azurite.port}/{account}`;
  const fleet = fleetOf({ WORKER_POOLS: 'azureblob', AZURE_BLOB_ENDPOINT: endpoint });
  await fleet.start();
  const sdk = new ScriptProcess(join(import.meta.dirname, 'tools/azure-upload.ts'));
  const job = (blob: string, method: string) => ({ url: `http://127.0.0.1:${azurite.port}/${AZURITE_ACCOUNT}`, account: AZURITE_ACCOUNT, key: AZURITE_KEY, container, blob, file: azureFile.path, method });
  const verified = async (name: string, m: Measurement, i: number) => {
    if (i === 0) {
      const stored = await offTheServerClock(() => azurite.stored(container, name));
      if (stored?.sha256 !== azureFile.sha256) throw new Error(`blob ${name} differs from the file`);
    }
    return m;
  };
  try {
    const results = await interleaved(RUNS, [
      { name: 'uploadFile', once: async (i) => verified(`file-${i}`, await sdk.measure(job(`file-${i}`, 'uploadFile')), i) },
      { name: 'uploadStream', once: async (i) => verified(`stream-${i}`, await sdk.measure(job(`stream-${i}`, 'uploadStream')), i) },
      { name: 'fleet', once: async (i) => verified(`fleet-${i}`, await fleet.deliver(azureFile.name, { type: 'azureblob', account: AZURITE_ACCOUNT, key: AZURITE_KEY, container, filename: `fleet-${i}` }), i) },
    ], { serverCpuSeconds: () => cpuSecondsOf(azurite.pid) });
    const base = { section: 'azure', path: 'Azure Blob (azurite)', amount: azureFileBytes, unit: 'MiB/s', settings: 'defaults' } as const;
    row({ ...base, tool: '@azure/storage-blob uploadFile' }, results.get('uploadFile')!);
    row({ ...base, tool: '@azure/storage-blob uploadStream' }, results.get('uploadStream')!);
    row({ ...base, tool: 'fleet' }, results.get('fleet')!);
  } finally {
    await sdk.close();
    await fleet.close();
    await azurite.close();
  }
}

/** Redis commands processed so far (every client, scripts' inner calls included). */
async function redisCommands(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
}

/** Submits `count` items with `concurrency` submitters at once, then polls until `done()` reaches count. */
async function submitAndWait(count: number, submit: (i: number) => Promise<unknown>, done: () => Promise<number>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: TINY_CONCURRENCY }, async () => {
      while (next < count) await submit(next++);
    }),
  );
  const deadline = Date.now() + 10 * 60_000;
  while ((await done()) < count) {
    if (Date.now() > deadline) throw new Error('tiny deliveries did not finish in 10 minutes');
    await sleep(20);
  }
}

async function tiny(): Promise<void> {
  console.warn(`tiny deliveries: ${TINY_JOBS} of 1 KiB, concurrency ${TINY_CONCURRENCY}`);
  const sink = await startHttpSink();
  writeFileSync(join(sourceRoot, 'tiny.mp4'), Buffer.alloc(1024, 7));
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const commands: Record<string, number[]> = { fleet: [], bullmq: [] };
  // Redis's own CPU per job: what the commands above cost the server, on the same 2 cores.
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const redisCpu: Record<string, number[]> = { fleet: [], bullmq: [] };
  try {
    const results = await interleaved(RUNS, [
      {
        name: 'fleet',
        once: async () => {
          const fleet = fleetOf({ WORKER_POOLS: 'http', WORKER_CONCURRENCY: String(TINY_CONCURRENCY) });
          await fleet.start();
          try {
            const queue = fleet.producer.queue('http');
            const tokens: string[] = [];
            const before = await redisCommands(redis);
            const redisCpuBefore = cpuSecondsOf(redisPid);
            const pid = fleet.pids[0]!;
            const m = await measureWhile(pid, () =>
              submitAndWait(
                TINY_JOBS,
                async (i) => tokens.push((await fleet.producer.enqueue({ source: { path: 'tiny.mp4' }, upload: { destination: { type: 'http', url: `${sink.url}/t/${i}`, filename: 'tiny.mp4', method: 'PUT' } } })).token),
                async () => (await queue.getJobCounts('completed')).completed ?? 0,
              ),
            );
            redisCpu.fleet!.push(((cpuSecondsOf(redisPid) - redisCpuBefore) * 1000) / TINY_JOBS);
            commands.fleet!.push(((await redisCommands(redis)) - before) / TINY_JOBS);
            for (const token of tokens.slice(0, 50)) {
              const status = await fleet.producer.get(token);
              if (status.state !== 'completed') throw new Error(`tiny delivery ${token} is ${status.state}`);
            }
            return m;
          } finally {
            await fleet.close();
          }
        },
      },
      {
        name: 'bullmq',
        once: async (i) => {
          const queueName = `hand-${i}`;
          const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(import.meta.dirname, 'tools/bullmq-fetch-worker.ts')], {
            env: { ...process.env, REDIS_URL: redisUrl, BENCH_QUEUE: queueName, BENCH_CONCURRENCY: String(TINY_CONCURRENCY) },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
          const queue = new Queue(queueName, { connection: redis });
          try {
            const before = await redisCommands(redis);
            const redisCpuBefore = cpuSecondsOf(redisPid);
            const m = await measureWhile(child.pid!, () =>
              submitAndWait(
                TINY_JOBS,
                (j) => queue.add('put', { path: join(sourceRoot, 'tiny.mp4'), url: `${sink.url}/h/${j}` }),
                async () => (await queue.getJobCounts('completed')).completed ?? 0,
              ),
            );
            redisCpu.bullmq!.push(((cpuSecondsOf(redisPid) - redisCpuBefore) * 1000) / TINY_JOBS);
            commands.bullmq!.push(((await redisCommands(redis)) - before) / TINY_JOBS);
            return m;
          } finally {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
            await queue.obliterate({ force: true });
            await queue.close();
          }
        },
      },
    ]);
    const base = { section: 'tiny', path: `${TINY_JOBS} tiny deliveries, concurrency ${TINY_CONCURRENCY}`, amount: TINY_JOBS, unit: 'jobs/s', settings: `concurrency ${TINY_CONCURRENCY}` } as const;
    const med = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    row({ ...base, tool: 'BullMQ + fetch by hand', extra: { redisCommandsPerDelivery: med(commands.bullmq!), redisCpuMsPerDelivery: med(redisCpu.bullmq!) } }, results.get('bullmq')!);
    row({ ...base, tool: 'fleet', extra: { redisCommandsPerDelivery: med(commands.fleet!), redisCpuMsPerDelivery: med(redisCpu.fleet!) } }, results.get('fleet')!);
  } finally {
    redis.disconnect();
    await sink.close();
  }
}

async function scale(): Promise<void> {
  console.warn(`scale-out: ${SCALE_JOBS} deliveries to a sink that answers ${SINK_DELAY_MS} ms late, 1 vs 4 worker processes`);
  const sink = await startHttpSink({ delayMs: SINK_DELAY_MS });
  writeFileSync(join(sourceRoot, 'small.mp4'), Buffer.alloc(64 * 1024, 3));
  const once = (processes: number) => async () => {
    const fleet = fleetOf({ WORKER_POOLS: 'http' }, processes);
    await fleet.start();
    try {
      const queue = fleet.producer.queue('http');
      const started = process.hrtime.bigint();
      const cpuBefore = fleet.cpuSeconds();
      await submitAndWait(
        SCALE_JOBS,
        (i) => fleet.producer.enqueue({ source: { path: 'small.mp4' }, upload: { destination: { type: 'http', url: `${sink.url}/s/${i}`, filename: 'small.mp4', method: 'PUT' } } }),
        async () => (await queue.getJobCounts('completed')).completed ?? 0,
      );
      return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: fleet.cpuSeconds() - cpuBefore, peakRssMiB: fleet.peakRssMiB() };
    } finally {
      await fleet.close();
    }
  };
  try {
    const results = await interleaved(RUNS, [
      { name: '1 process', once: once(1) },
      { name: '4 processes', once: once(4) },
    ]);
    const base = { section: 'scale', path: `scale-out, sink ${SINK_DELAY_MS} ms late, ${SCALE_JOBS} deliveries of 64 KiB`, amount: SCALE_JOBS, unit: 'jobs/s', settings: 'defaults (concurrency 4 per process)' } as const;
    row({ ...base, tool: 'fleet, 1 worker process' }, results.get('1 process')!);
    row({ ...base, tool: 'fleet, 4 worker processes' }, results.get('4 processes')!);
  } finally {
    await sink.close();
  }
}

/** Peak RSS of a fresh worker process uploading one file of each size (HTTP PUT and S3, defaults). */
async function memory(): Promise<void> {
  const sink = await startHttpSink();
  const server = await startS3Server({ buckets: ['memory'] });
  try {
    for (const mib of MEMORY_MIB) {
      console.warn(`memory: ${mib} MiB`);
      const name = `memory-${mib}.mp4`;
      if (mib === FILE_MIB) copyFileSync(file.path, join(sourceRoot, name));
      else await writeRandomFile(sourceRoot, name, mib * MiB);
      flushToDisk(join(sourceRoot, name));
      for (const [path, pools, destination] of [
        ['HTTP PUT', 'http', { type: 'http', url: `${sink.url}/m/${mib}`, filename: name, method: 'PUT' }],
        ['S3 multipart', 's3', { type: 's3', bucket: 'memory', filename: name, aws_access_key_id: S3RVER_KEY, aws_secret_access_key: S3RVER_SECRET, s3host: server.endpoint.replace('http://', '') }],
      ] as const) {
        const fleet = fleetOf({ WORKER_POOLS: pools });
        await fleet.start();
        try {
          await sleep(500);
          const idle = fleet.rssMiB();
          const m = await fleet.deliver(name, destination);
          row({ section: 'memory', path: `memory, ${path}`, tool: 'fleet', settings: `${mib} MiB file`, amount: mib * MiB, unit: 'MiB/s', extra: { idleRssMiB: idle, fileMiB: mib } }, [m]);
        } finally {
          await fleet.close();
        }
      }
      rmSync(join(sourceRoot, name));
    }
  } finally {
    await server.close();
    await sink.close();
  }
}

/** Installs the reference tools that are missing (Debian packages; the machine's user is root here). */
async function ensureTools(): Promise<void> {
  const wanted: [string, string][] = [
    ['/usr/bin/curl', 'curl'],
    ['/usr/bin/socat', 'socat'],
    ['/usr/bin/time', 'time'],
    ['/usr/bin/rclone', 'rclone'],
    [AWS, 'awscli'],
  ];
  const missing = wanted.filter(([path]) => !existsSync(path)).map(([, name]) => name);
  if (missing.length === 0) return;
  console.warn(`installing ${missing.join(', ')} with apt-get`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const update = await run(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'update', '-qq']);
  if (update.code !== 0) throw new Error(`apt-get update failed: ${update.stderr}`);
  const install = await run(sudo[0] ?? 'apt-get', [...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed: ${install.stderr}`);
}

async function toolVersions(): Promise<Record<string, string>> {
  const first = async (command: string, args: string[]) => {
    const r = await run(command, args).catch(() => undefined);
    return (r?.stdout || r?.stderr || '').split('\n')[0]!.trim();
  };
  return {
    curl: await first('curl', ['--version']),
    aws: await first(AWS, ['--version']),
    rclone: await first('rclone', ['--version']),
    socat: (await first('socat', ['-V'])) || 'socat',
    node: process.version,
  };
}
