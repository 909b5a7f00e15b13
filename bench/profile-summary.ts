/**
 * Summarizes a V8 CPU profile (node --cpu-prof): self time per function and per package, the
 * figures the optimizations in docs/benchmarks.md were chosen by.
 *
 *   pnpm --filter @upload-fleet/bench exec tsx profile-summary.ts /tmp/prof/CPU.*.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [path, topText] = process.argv.slice(2);
const top = Number(topText ?? 25);
const profile = JSON.parse(readFileSync(path!, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const hits = new Map<number, number>();
profile.samples.forEach((id, i) => hits.set(id, (hits.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...hits.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const micros = hits.get(node.id) ?? 0;
  if (!micros) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^file:\/\/.*\/(packages|apps)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  const pkg = url === '' ? functionName : url.startsWith('node:') ? 'node internals' : (/node_modules\/((@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url)?.[1] ?? where.split('/').slice(0, 2).join('/'));
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (of ${(total / 1e6).toFixed(2)} s sampled)`);
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1e6).toFixed(2)} s  ${key}`);
};
print('self time by package', byPackage);
print('self time by function', byFunction);
