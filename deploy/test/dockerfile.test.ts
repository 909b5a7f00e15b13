/**
 * deploy/Dockerfile, deploy/docker-entrypoint.sh and .dockerignore, checked statically (no
 * Docker engine here): the image installs exactly the workspace the lockfile describes,
 * ships the compiled JS of every package its apps import at run time, and every run-time
 * import is installed by `pnpm install --prod`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { IMAGE_APPS, REPO_ROOT, readManifest, readRepoFile, workspacePackageDirs } from './repo.js';

const dockerfile = readRepoFile('deploy/Dockerfile');
/** Instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

interface Stage {
  name: string;
  from: string;
  lines: string[];
}
const stages: Stage[] = [];
for (const line of instructions) {
  const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
  if (from) stages.push({ from: from[1]!, name: from[2] ?? '', lines: [] });
  else stages.at(-1)?.lines.push(line);
}
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`deploy/Dockerfile has no stage "${name}"`);
  return found;
};
const finalStage = stages.at(-1)!;

const packageDirByName = new Map(workspacePackageDirs().map((dir) => [readManifest(dir).name, dir]));

/** Workspace packages an app needs at run time: its `dependencies`, transitively. */
function runtimeWorkspaceClosure(dir: string, seen = new Set<string>()): Set<string> {
  if (seen.has(dir)) return seen;
  seen.add(dir);
  for (const name of Object.keys(readManifest(dir).dependencies ?? {})) {
    const depDir = packageDirByName.get(name);
    if (depDir) runtimeWorkspaceClosure(depDir, seen);
  }
  return seen;
}
const shippedDirs = [...new Set(IMAGE_APPS.flatMap((app) => [...runtimeWorkspaceClosure(`apps/${app}`)]))].sort();

/** Bridges: `ln -s` lines that link a package --prod leaves out (deploy/Dockerfile says why). */
const bridges = [...dockerfile.matchAll(/ln -s \S+ (\S+)\/node_modules\/(\S+)$/gm)].map((m) => ({ dir: m[1]!, name: m[2]! }));

/** Bare module specifiers the compiled JS of a package imports (what tsc emits, type-only imports gone). */
function emittedImports(dir: string): Set<string> {
  const build = JSON.parse(readRepoFile(`${dir}/tsconfig.build.json`)) as { exclude?: string[] };
  const excluded = (build.exclude ?? []).map(
    (glob) => new RegExp(`^${glob.replace(/\./g, '\\.').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(?:.*/)?')}$`),
  );
  const files: string[] = [];
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(REPO_ROOT, dir, sub), { withFileTypes: true })) {
      const rel = `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts') && !excluded.some((re) => re.test(rel))) files.push(rel);
    }
  };
  walk('src');
  const specifiers = new Set<string>();
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(join(REPO_ROOT, dir, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true },
      fileName: file,
    });
    for (const m of outputText.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      specifiers.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return specifiers;
}

describe('deploy/Dockerfile', () => {
  it('builds on Node 24 (bookworm-slim) with the pnpm the repository pins', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    for (const s of stages) expect(s.from === '${NODE_IMAGE}' || stages.some((o) => o.name === s.from), `FROM ${s.from}`).toBe(true);
    const pinned = (JSON.parse(readRepoFile('package.json')) as { packageManager: string }).packageManager;
    const version = /^ARG PNPM_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
    expect(`pnpm@${version}`).toBe(pinned);
  });

  it('installs with the manifest of every workspace package, so --frozen-lockfile sees the whole workspace', () => {
    const gather = stage('manifest-files').lines.find((line) => line.startsWith('RUN '));
    expect(gather).toContain('cp package.json pnpm-lock.yaml pnpm-workspace.yaml /manifests/');
    const depth = Number(/-maxdepth (\d+)/.exec(gather ?? '')?.[1]);
    expect(gather).toMatch(/find \. -mindepth 2 -maxdepth \d+ -name package\.json -not -path '\*\/node_modules\/\*' -exec cp --parents \{\} \/manifests\/ \\;/);
    // find's depth of ./<dir>/package.json is the number of path segments.
    for (const dir of workspacePackageDirs()) expect(`${dir}/package.json`.split('/').length, `${dir} is within -maxdepth`).toBeLessThanOrEqual(depth);
    expect(stage('manifests').lines).toContain('COPY --from=manifest-files /manifests ./');
  });

  it('compiles in a full install and ships production dependencies only', () => {
    expect(stage('build').lines).toContainEqual(expect.stringMatching(/pnpm install --frozen-lockfile/));
    expect(stage('build').lines).toContain('RUN pnpm build');
    const prod = stage('prod-deps').lines.find((line) => line.includes('pnpm install'));
    expect(prod).toMatch(/pnpm install --prod --frozen-lockfile/);
    expect(finalStage.from).toBe('${NODE_IMAGE}');
    expect(finalStage.lines).toContain('COPY --from=prod-deps /app ./');
    expect(finalStage.lines.some((line) => /COPY --from=build \/app\/(node_modules|\s)/.test(line))).toBe(false);
  });

  it('ships the compiled JS of every app and of every workspace package they import at run time', () => {
    const copiedDist = finalStage.lines
      .map((line) => /^COPY --from=build \/app\/(\S+)\/dist \1\/dist$/.exec(line)?.[1])
      .filter((dir): dir is string => dir !== undefined)
      .sort();
    const needed = [...new Set([...shippedDirs, ...bridges.map((b) => packageDirByName.get(b.name)!)])].sort();
    expect(copiedDist).toEqual(needed);
    for (const dir of needed) {
      const main = (readManifest(dir) as { exports?: Record<string, { default?: string }> }).exports?.['.']?.default;
      expect(main, `${dir} resolves to its dist in production`).toBe('./dist/index.js');
    }
  });

  it('has every run-time import installed by --prod (dependencies, or a bridge the Dockerfile documents)', () => {
    const missing: string[] = [];
    for (const dir of shippedDirs) {
      const manifest = readManifest(dir);
      for (const spec of emittedImports(dir)) {
        if (manifest.dependencies?.[spec] === undefined) missing.push(`${dir} -> ${spec}`);
      }
    }
    // A bridge with nothing missing any more must go: the package.json was fixed.
    expect(missing.sort(), 'run-time imports that --prod does not install and no bridge covers').toEqual(bridges.map((b) => `${b.dir} -> ${b.name}`).sort());
  });

  it('runs as a non-root user given by number (Kubernetes runAsNonRoot can check it)', () => {
    const user = finalStage.lines.filter((line) => line.startsWith('USER ')).at(-1);
    expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/);
  });

  it('starts through the entrypoint, which maps api|worker|dashboard|cli to apps/<app>/dist/main.js', () => {
    expect(finalStage.lines).toContain('ENTRYPOINT ["docker-entrypoint.sh"]');
    const script = readRepoFile('deploy/docker-entrypoint.sh');
    expect(script).toContain(`  ${IMAGE_APPS.join(' | ')})`);
    expect(script).toContain('exec node "/app/apps/$app/dist/main.js" "$@"');
    // The worker's peak RSS target (issue 12) holds only with the young generation capped.
    expect(script).toContain('if [ "$app" = worker ]; then export NODE_OPTIONS="--max-semi-space-size=8');
    for (const app of IMAGE_APPS) expect(existsSync(join(REPO_ROOT, `apps/${app}/src/main.ts`)), `apps/${app}/src/main.ts`).toBe(true);
    const unknown = spawnSync('sh', [join(REPO_ROOT, 'deploy/docker-entrypoint.sh'), 'fleet'], { encoding: 'utf8' });
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain('api|worker|dashboard|cli');
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output, local state and secrets out of the build context', () => {
    const ignored = readRepoFile('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['**/node_modules', '**/dist', '.git', '.data', '.env', 'renders']) expect(ignored).toContain(entry);
    expect(ignored).not.toContain('deploy/docker-entrypoint.sh');
  });
});
