/**
 * A small renderer for the subset of Helm's Go templates that deploy/helm/upload-fleet
 * uses, because `helm` cannot be installed here (no download; no JS port of Helm's
 * engine on npm). It is strict: an action, function or construct outside the subset
 * throws, so a chart edit that needs more fails the tests instead of rendering wrongly.
 *
 * Supported: text with `{{- -}}` trimming and comments; `if`/`else if`/`else`, `range`
 * (`$k, $v :=` over maps in key order, like Go, and lists), `define`, `end`; `$x := ...`;
 * pipelines with `|`; operands `.a.b`, `$`, `$x.a`, strings, numbers, booleans, `( ... )`;
 * functions include, toYaml, nindent, indent, quote, printf (%s %d %v), list, index,
 * not, and, or, default, eq, contains, until, int.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';

type Value = unknown;
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Token[]; declare?: string }
  | { kind: 'if'; branches: { pipe: Token[]; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'range'; vars: string[]; pipe: Token[]; body: Node[] };

interface Token {
  type: 'string' | 'number' | 'bool' | 'field' | 'var' | 'ident' | 'pipe' | 'open' | 'close';
  text: string;
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** Deep-merged over the chart's values.yaml, like `helm template -f`. */
  values?: Record<string, unknown>;
}

export interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  [key: string]: unknown;
}

/** Renders every template of a chart directory and parses the YAML documents. */
export function renderChart(chartDir: string, options: RenderOptions = {}): Manifest[] {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const values = deepMerge(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>, options.values ?? {});
  const root = {
    Values: values,
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Release: { Name: options.releaseName ?? 'release', Namespace: options.namespace ?? 'default', Service: 'Helm' },
  };
  const files = readdirSync(join(chartDir, 'templates')).sort();
  const defines = new Map<string, Node[]>();
  const templates: [string, Node[]][] = [];
  for (const file of files) {
    const nodes = parseTemplate(readFileSync(join(chartDir, 'templates', file), 'utf8'), defines, file);
    if (file.endsWith('.yaml')) templates.push([file, nodes]);
  }
  const engine = new Engine(defines);
  const manifests: Manifest[] = [];
  for (const [file, nodes] of templates) {
    const text = engine.run(nodes, root, root);
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: rendered YAML does not parse: ${doc.errors[0]?.message}\n${text}`);
      const manifest = doc.toJS() as Manifest | null;
      if (manifest) manifests.push(manifest);
    }
  }
  return manifests;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    // Like Helm: null in an override removes the key (e.g. `pools: { ftp: null }`).
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    out[key] = isMap(value) && isMap(current) ? deepMerge(current, value) : value;
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- parsing ----

function parseTemplate(source: string, defines: Map<string, Node[]>, file: string): Node[] {
  const pieces: ({ text: string } | { action: string })[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open === -1) {
      pieces.push({ text: source.slice(at) });
      break;
    }
    let text = source.slice(at, open);
    const close = source.indexOf('}}', open);
    if (close === -1) throw new Error(`${file}: unclosed action`);
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      while (next < source.length && /\s/.test(source[next] ?? '')) next += 1;
    }
    pieces.push({ text }, { action: inner.trim() });
    at = next;
  }

  let index = 0;
  const parseBlock = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (index < pieces.length) {
      const piece = pieces[index++]!;
      if ('text' in piece) {
        if (piece.text) nodes.push({ kind: 'text', text: piece.text });
        continue;
      }
      const action = piece.action;
      if (action.startsWith('/*')) continue;
      const keyword = /^(if|else if|else|end|range|define)\b/.exec(action)?.[1];
      if (keyword && stopAt.includes(keyword)) return { nodes, stop: action };
      if (keyword === 'if') nodes.push(parseIf(action.slice(2)));
      else if (keyword === 'range') nodes.push(parseRange(action.slice(5)));
      else if (keyword === 'define') {
        const name = /^define\s+"([^"]+)"$/.exec(action)?.[1];
        if (!name) throw new Error(`${file}: bad define: ${action}`);
        defines.set(name, parseBlock(['end']).nodes);
      } else if (keyword) throw new Error(`${file}: unexpected {{ ${action} }}`);
      else {
        const declared = /^(\$\w+)\s*:=\s*(.*)$/s.exec(action);
        nodes.push(declared ? { kind: 'action', declare: declared[1]!, pipe: lex(declared[2]!) } : { kind: 'action', pipe: lex(action) });
      }
    }
    if (stopAt.length > 0) throw new Error(`${file}: missing {{ end }}`);
    return { nodes, stop: '' };
  };
  const parseIf = (condition: string): Node => {
    const branches: { pipe: Token[]; body: Node[] }[] = [];
    let pipe = lex(condition);
    for (;;) {
      const { nodes, stop } = parseBlock(['else if', 'else', 'end']);
      branches.push({ pipe, body: nodes });
      if (stop.startsWith('else if')) {
        pipe = lex(stop.slice(7));
        continue;
      }
      const otherwise = stop === 'else' ? parseBlock(['end']).nodes : [];
      return { kind: 'if', branches, otherwise };
    }
  };
  const parseRange = (header: string): Node => {
    const match = /^\s*(?:(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=)?\s*(.*)$/s.exec(header)!;
    const vars = [match[1], match[2]].filter((v): v is string => v !== undefined);
    const { nodes } = parseBlock(['end']);
    return { kind: 'range', vars, pipe: lex(match[3]!), body: nodes };
  };
  return parseBlock([]).nodes;
}

function lex(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)\b|(true|false)\b|(\$\w*(?:\.\w+)*)|(\.(?:\w+(?:\.\w+)*)?)|([A-Za-z_]\w*)|(\|)|(\()|(\))/y;
  let at = 0;
  while (at < source.length) {
    pattern.lastIndex = at;
    const m = pattern.exec(source);
    if (!m) throw new Error(`cannot read template action at "${source.slice(at)}"`);
    at = pattern.lastIndex;
    if (m[1] !== undefined) tokens.push({ type: 'string', text: JSON.parse(`"${m[1]}"`) as string });
    else if (m[2] !== undefined) tokens.push({ type: 'number', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ type: 'bool', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ type: 'var', text: m[4] });
    else if (m[5] !== undefined) tokens.push({ type: 'field', text: m[5] });
    else if (m[6] !== undefined) tokens.push({ type: 'ident', text: m[6] });
    else if (m[7] !== undefined) tokens.push({ type: 'pipe', text: '|' });
    else if (m[8] !== undefined) tokens.push({ type: 'open', text: '(' });
    else if (m[9] !== undefined) tokens.push({ type: 'close', text: ')' });
  }
  return tokens;
}

// ---- evaluation ----

type Scope = Map<string, Value>;

class Engine {
  constructor(private readonly defines: Map<string, Node[]>) {}

  run(nodes: Node[], dot: Value, root: Value): string {
    return this.block(nodes, dot, [new Map([['$', root]])]);
  }

  private block(nodes: Node[], dot: Value, scopes: Scope[]): string {
    const inner = [...scopes, new Map<string, Value>()];
    let out = '';
    for (const node of nodes) {
      if (node.kind === 'text') out += node.text;
      else if (node.kind === 'action') {
        const value = this.pipeline(node.pipe, dot, inner);
        if (node.declare) inner[inner.length - 1]!.set(node.declare, value);
        else out += display(value);
      } else if (node.kind === 'if') {
        const branch = node.branches.find((b) => truthy(this.pipeline(b.pipe, dot, inner)));
        out += this.block(branch ? branch.body : node.otherwise, dot, inner);
      } else {
        const collection = this.pipeline(node.pipe, dot, inner);
        const entries: [Value, Value][] = Array.isArray(collection)
          ? collection.map((v, i) => [i, v])
          : isMap(collection)
            ? Object.keys(collection).sort().map((k) => [k, collection[k]])
            : [];
        for (const [key, value] of entries) {
          const scope = new Map<string, Value>();
          if (node.vars.length === 1) scope.set(node.vars[0]!, value);
          if (node.vars.length === 2) scope.set(node.vars[0]!, key).set(node.vars[1]!, value);
          out += this.block(node.body, value, [...inner, scope]);
        }
      }
    }
    return out;
  }

  private pipeline(tokens: Token[], dot: Value, scopes: Scope[]): Value {
    const commands: Token[][] = [[]];
    let depth = 0;
    for (const token of tokens) {
      if (token.type === 'open') depth += 1;
      if (token.type === 'close') depth -= 1;
      if (token.type === 'pipe' && depth === 0) commands.push([]);
      else commands[commands.length - 1]!.push(token);
    }
    let piped: Value[] = [];
    for (const command of commands) piped = [this.command(command, dot, scopes, piped)];
    return piped[0];
  }

  private command(tokens: Token[], dot: Value, scopes: Scope[], piped: Value[]): Value {
    const args: Value[] = [];
    let name: string | undefined;
    for (let i = 0; i < tokens.length; i += 1) {
      const token = tokens[i]!;
      if (token.type === 'ident' && i === 0) name = token.text;
      else if (token.type === 'open') {
        let depth = 1;
        let j = i + 1;
        for (; j < tokens.length && depth > 0; j += 1) {
          if (tokens[j]!.type === 'open') depth += 1;
          if (tokens[j]!.type === 'close') depth -= 1;
        }
        args.push(this.pipeline(tokens.slice(i + 1, j - 1), dot, scopes));
        i = j - 1;
      } else args.push(this.operand(token, dot, scopes));
    }
    if (name === undefined) {
      if (args.length !== 1 || piped.length > 0) throw new Error('only a function can take arguments or a pipe');
      return args[0];
    }
    return this.call(name, [...args, ...piped]);
  }

  private operand(token: Token, dot: Value, scopes: Scope[]): Value {
    switch (token.type) {
      case 'string':
        return token.text;
      case 'number':
        return Number(token.text);
      case 'bool':
        return token.text === 'true';
      case 'field':
        return path(dot, token.text.slice(1));
      case 'var': {
        const [name, ...rest] = token.text.split('.');
        const scope = [...scopes].reverse().find((s) => s.has(name!));
        if (!scope) throw new Error(`undefined variable ${name}`);
        return path(scope.get(name!), rest.join('.'));
      }
      default:
        throw new Error(`unexpected "${token.text}"`);
    }
  }

  private call(name: string, args: Value[]): Value {
    switch (name) {
      case 'include': {
        const body = this.defines.get(String(args[0]));
        if (!body) throw new Error(`include: no template "${String(args[0])}"`);
        return this.run(body, args[1], args[1]);
      }
      case 'toYaml':
        return args[0] === undefined || args[0] === null ? 'null' : stringify(args[0]).trimEnd();
      case 'nindent':
        return `\n${indent(Number(args[0]), display(args[1]))}`;
      case 'indent':
        return indent(Number(args[0]), display(args[1]));
      case 'quote':
        return JSON.stringify(display(args[0]));
      case 'printf': {
        const rest = args.slice(1);
        return String(args[0]).replace(/%[sdv]/g, () => display(rest.shift()));
      }
      case 'list':
        return args;
      case 'index':
        return args.slice(1).reduce<Value>((v, k) => (v as Record<string, unknown> | undefined)?.[String(k)], args[0]);
      case 'not':
        return !truthy(args[0]);
      case 'and':
        return args.find((a) => !truthy(a)) ?? args[args.length - 1];
      case 'or':
        return args.find((a) => truthy(a)) ?? args[args.length - 1];
      case 'default':
        return truthy(args[1]) ? args[1] : args[0];
      case 'eq':
        return args[0] === args[1];
      case 'until':
        // Sprig: until N is the list 0 .. N-1.
        return Array.from({ length: Number(args[0]) }, (_, i) => i);
      case 'int':
        return Math.trunc(Number(args[0] ?? 0));
      case 'contains':
        // Sprig: contains SUBSTRING STRING.
        return display(args[1]).includes(display(args[0]));
      default:
        throw new Error(`function "${name}" is not supported by deploy/test/helm-template.ts`);
    }
  }
}

function path(value: Value, dotted: string): Value {
  if (!dotted) return value;
  return dotted.split('.').reduce<Value>((v, key) => (isMap(v) ? v[key] : undefined), value);
}

function truthy(value: Value): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

function display(value: Value): string {
  return value === undefined || value === null ? '' : String(value);
}

function indent(spaces: number, text: string): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}
