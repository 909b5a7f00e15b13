import { randomUUID } from 'node:crypto';
import type { ValidationProblem } from '@upload-fleet/core';

/**
 * Filename templates: the target-path field of a destination (the one its definition names
 * in `targetPath`: S3 key, blob name, Dropbox or FTP path...) may hold variables, in the
 * manner of Transloadit's assembly variables and Shotstack's filename:
 *
 *   ${token}            the delivery's token
 *   ${index}            the upload's position in the delivery (0-based)
 *   ${extension}        the upload's `extension`, else the source file's (without the dot)
 *   ${metadata.<key>}   a value of the delivery's `metadata`
 *   ${date}             the submit time, UTC, as YYYY-MM-DD
 *   ${date:<format>}    the submit time, UTC, in a format of YYYY MM DD HH mm ss and separators
 *   ${uuid}             a random UUID, one per upload
 *
 * Expanded once per upload, when the delivery is submitted: the job holds the expanded
 * name, so every retry and every resumed attempt writes the same file. A variable this
 * page does not list is a 400 at submit time, naming the field and the variable.
 */

const VARIABLE = /\$\{([^}]*)\}/g;
const DATE_TOKEN = /YYYY|MM|DD|HH|mm|ss/g;
const DATE_FORMAT = /^(?:YYYY|MM|DD|HH|mm|ss|[^A-Za-z])+$/;

/** What the variables of one upload stand for. */
export interface TemplateValues {
  token: string;
  index: number;
  /** Without the dot; undefined when neither the upload nor the source names one. */
  extension: string | undefined;
  metadata: Readonly<Record<string, string | number | boolean>> | undefined;
  /** The submit time. */
  now: Date;
  /** A fresh UUID per call (randomUUID unless a test fixes it). */
  uuid?: () => string;
}

/** Why a variable cannot be expanded for these values; undefined when it can. */
function variableProblem(name: string, values: Pick<TemplateValues, 'extension' | 'metadata'>): string | undefined {
  if (name === 'token' || name === 'index' || name === 'uuid' || name === 'date') return undefined;
  if (name === 'extension') {
    return values.extension === undefined ? 'needs an extension: give the upload\'s "extension", or a source whose name ends in one' : undefined;
  }
  if (name.startsWith('date:')) {
    return DATE_FORMAT.test(name.slice(5)) ? undefined : 'has a date format with letters other than YYYY, MM, DD, HH, mm and ss (UTC); separators like "/", "-" and "_" are kept as they are';
  }
  if (name.startsWith('metadata.')) {
    const key = name.slice(9);
    return values.metadata && Object.hasOwn(values.metadata, key) ? undefined : `names the metadata key "${key}", which the delivery's metadata does not hold`;
  }
  return 'is not a known variable; use ${token}, ${index}, ${extension}, ${metadata.<key>}, ${date:YYYY/MM/DD} or ${uuid}';
}

/** Every variable of `template` that cannot be expanded, as problems at `path`. */
export function templateProblems(template: string, path: string, values: Pick<TemplateValues, 'extension' | 'metadata'>): ValidationProblem[] {
  return [...template.matchAll(VARIABLE)].flatMap(([variable, name = '']) => {
    const problem = variableProblem(name, values);
    return problem ? [{ path, message: `the variable ${variable} ${problem}` }] : [];
  });
}

/** The template with every variable replaced; call `templateProblems` first (an unknown variable throws). */
export function expandTemplate(template: string, values: TemplateValues): string {
  const uuid = values.uuid ?? randomUUID;
  return template.replace(VARIABLE, (variable, name: string) => {
    if (variableProblem(name, values)) throw new Error(`${variable} cannot be expanded`);
    if (name === 'token') return values.token;
    if (name === 'index') return String(values.index);
    if (name === 'uuid') return uuid();
    if (name === 'extension') return values.extension!;
    if (name === 'date') return formatUtc(values.now, 'YYYY-MM-DD');
    if (name.startsWith('date:')) return formatUtc(values.now, name.slice(5));
    return String(values.metadata![name.slice(9)]);
  });
}

function formatUtc(date: Date, format: string): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    YYYY: String(date.getUTCFullYear()).padStart(4, '0'),
    MM: two(date.getUTCMonth() + 1),
    DD: two(date.getUTCDate()),
    HH: two(date.getUTCHours()),
    mm: two(date.getUTCMinutes()),
    ss: two(date.getUTCSeconds()),
  };
  return format.replace(DATE_TOKEN, (token) => parts[token]!);
}

/** The extension of a source path or URL's last segment (without the dot), if it has one. */
export function extensionOfSource(source: { path: string } | { url: string }): string | undefined {
  const name = 'path' in source ? source.path : new URL(source.url).pathname;
  const last = name.split(/[\\/]/).at(-1) ?? '';
  const match = /\.([A-Za-z0-9]{1,16})$/.exec(last);
  return match?.[1];
}
