import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..', '..');

/**
 * Writes one suite's part of docs/benchmarks.md, between `<!-- bench:<name> -->` and
 * `<!-- /bench:<name> -->`, keeping what the other suites wrote: `pnpm bench` runs its
 * suites one after the other, each in its own process, and the page holds them all. A
 * section not yet on the page goes at its end. The suite's figures also go to
 * `docs/benchmarks-<name>.json` (the side-by-side suite keeps `docs/benchmarks.json`).
 */
export function writeBenchSection(name: string, markdown: string[], json?: unknown): void {
  const out = process.env.BENCH_OUT ?? join(repoRoot, 'docs');
  const page = join(out, 'benchmarks.md');
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const section = [open, ...markdown, close].join('\n');
  const before = existsSync(page) ? readFileSync(page, 'utf8') : '';
  const start = before.indexOf(open);
  const end = before.indexOf(close);
  const after =
    start >= 0 && end > start
      ? `${before.slice(0, start)}${section}${before.slice(end + close.length)}`
      : `${before.replace(/\n*$/, '')}${before ? '\n\n' : ''}${section}\n`;
  writeFileSync(page, after);
  if (json !== undefined) writeFileSync(join(out, `benchmarks-${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
}
