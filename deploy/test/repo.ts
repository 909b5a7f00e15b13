/** Paths and file readers shared by the deploy tests. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'deploy/helm/upload-fleet');

export const readRepoFile = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The apps the one image runs, by command (deploy/docker-entrypoint.sh). */
export const IMAGE_APPS = ['api', 'worker', 'dashboard', 'cli'] as const;

/** Variables that hold secrets: never a literal in compose, only secretKeyRef in the chart. */
export const SECRET_ENV = ['REDIS_URL', 'ENCRYPTION_KEYS', 'API_KEYS', 'WEBHOOK_SECRET', 'DASHBOARD_USERS'] as const;

/** Directories of the workspace packages, from pnpm-workspace.yaml's globs (`dir` or `dir/*`). */
export function workspacePackageDirs(): string[] {
  const workspace = parseYaml(readRepoFile('pnpm-workspace.yaml')) as { packages: string[] };
  return workspace.packages
    .flatMap((glob) =>
      glob.endsWith('/*')
        ? readdirSync(join(REPO_ROOT, glob.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => `${glob.slice(0, -2)}/${entry.name}`)
        : [glob],
    )
    .filter((dir) => existsSync(join(REPO_ROOT, dir, 'package.json')))
    .sort();
}

export interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export const readManifest = (dir: string): Manifest => JSON.parse(readRepoFile(`${dir}/package.json`)) as Manifest;

/** Parses `NAME=value` lines (comments and blanks skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}
