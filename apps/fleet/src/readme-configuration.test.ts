/**
 * The README's configuration table against the code: every variable in it is defined, with
 * the default and the processes it documents, and every setting a process defines is in it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiServiceConfig } from '@upload-fleet/api';
import { cliConfig } from '@upload-fleet/cli';
import type { AnySetting, SettingGroup } from '@upload-fleet/core';
import { dashboardConfig } from '@upload-fleet/dashboard';
import { workerConfig } from '@upload-fleet/runtime';
import { fleetSettings } from './config.js';

const readers: Record<string, SettingGroup> = {
  api: apiServiceConfig.settings,
  worker: workerConfig().settings,
  dashboard: dashboardConfig.settings,
  cli: cliConfig.settings,
};

const settings = new Map<string, AnySetting>(
  [...Object.values(readers), fleetSettings].flatMap((group) => Object.values(group).map((setting) => [setting.name, setting] as const)),
);

/** Who reads a setting, as the table says it: `pnpm start` only for what it alone (with the CLI) reads. */
function expectedUsers(name: string): string[] {
  const users = Object.keys(readers).filter((process) => name in readers[process]!);
  const runsOthers = users.some((u) => u !== 'cli');
  return name in fleetSettings && !runsOthers ? ['`pnpm start`', ...users] : users;
}

/** Splits a cell at ", " outside backticks and parentheses. */
function splitCell(cell: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let code = false;
  let current = '';
  for (let i = 0; i < cell.length; i++) {
    const char = cell[i]!;
    if (char === '`') code = !code;
    if (!code && char === '(') depth++;
    if (!code && char === ')') depth--;
    if (!code && depth === 0 && cell.startsWith(', ', i)) {
      parts.push(current);
      current = '';
      i++;
      continue;
    }
    current += char;
  }
  return [...parts, current].map((p) => p.trim());
}

/** What a default cell part says: a literal default, "empty", "unset" or "required" (each may carry a note in parentheses). */
function documentedDefault(part: string): { defaultText?: string; required?: true } | undefined {
  const note = String.raw`(\s+\(.*\))?$`;
  const literal = new RegExp(`^\`([^\`]*)\`${note}`).exec(part);
  if (literal) return { defaultText: literal[1]! };
  if (new RegExp(`^empty${note}`).test(part)) return { defaultText: '' };
  if (new RegExp(`^unset${note}`).test(part)) return {};
  if (new RegExp(`^required${note}`).test(part)) return { required: true };
  return undefined;
}

interface Row {
  names: string[];
  users: string[];
  defaults: string[];
}

function readmeTable(): Row[] {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names, users, defaults] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''));
      return {
        names: [...names!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!),
        users: users === 'all' ? ['api', 'worker', 'dashboard'] : splitCell(users!),
        defaults: splitCell(defaults!),
      };
    });
}

describe("the README's configuration table", () => {
  const rows = readmeTable();

  it('is found, one row per group of variables', () => {
    expect(rows.length).toBeGreaterThan(30);
  });

  it('names only defined settings, each with the default, requirement and readers the code has', () => {
    for (const row of rows) {
      expect(row.defaults.length === 1 || row.defaults.length === row.names.length, `${row.names.join(', ')}: one default for all, or one per variable`).toBe(true);
      row.names.forEach((name, i) => {
        const setting = settings.get(name);
        expect(setting, `${name} is in the README but no process defines it`).toBeDefined();
        const part = row.defaults[row.defaults.length === 1 ? 0 : i]!;
        const documented = documentedDefault(part);
        expect(documented, `${name}: the default "${part}" is not \`value\`, empty, unset or required`).toBeDefined();
        expect({ defaultText: documented!.defaultText, required: documented!.required ?? false }, name).toEqual({ defaultText: setting!.defaultText, required: setting!.required });
        expect([...row.users].sort(), `${name}: used by`).toEqual(expectedUsers(name).sort());
      });
    }
  });

  it('lists every setting the code defines, once', () => {
    const documented = rows.flatMap((row) => row.names);
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]);
    expect([...settings.keys()].filter((name) => !documented.includes(name))).toEqual([]);
  });
});
