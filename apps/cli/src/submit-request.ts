import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A mistake in what the user typed or pointed at; the CLI prints its message and exits 1. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface RequestFlags {
  sourcePath?: string | undefined;
  sourceUrl?: string | undefined;
  /** Each a destination as JSON, or `@file.json`. */
  destinations: string[];
  extension?: string | undefined;
  callbackUrl?: string | undefined;
  idempotencyKey?: string | undefined;
}

/**
 * Builds the body of POST /v1/deliveries from flags. Only the JSON is checked here; the
 * request itself is validated by the API, which lists every problem by field path (one
 * source of truth for the rules). One destination becomes `upload`, several `uploads`.
 */
export function requestFromFlags(flags: RequestFlags, cwd: string): Record<string, unknown> {
  const source = flags.sourcePath !== undefined || flags.sourceUrl !== undefined
    ? { ...(flags.sourcePath !== undefined ? { path: flags.sourcePath } : {}), ...(flags.sourceUrl !== undefined ? { url: flags.sourceUrl } : {}) }
    : undefined;
  const uploads = flags.destinations.map((text, i) => ({
    ...(flags.extension !== undefined ? { extension: flags.extension } : {}),
    destination: parseJson(text.startsWith('@') ? readText(text.slice(1), cwd) : text, text.startsWith('@') ? text.slice(1) : `--destination #${i + 1}`),
  }));
  return {
    ...(source ? { source } : {}),
    ...(uploads.length === 1 ? { upload: uploads[0] } : uploads.length > 1 ? { uploads } : {}),
    ...(flags.callbackUrl !== undefined ? { callback_url: flags.callbackUrl } : {}),
    ...(flags.idempotencyKey !== undefined ? { idempotency_key: flags.idempotencyKey } : {}),
  };
}

/** Reads a request file (`-` is standard input) and parses it as JSON. */
export function requestFromFile(file: string, cwd: string, stdin: () => string): unknown {
  return file === '-' ? parseJson(stdin(), 'standard input') : parseJson(readText(file, cwd), file);
}

function readText(file: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${file}: no such file.` : `${file}: cannot be read (${code ?? (error as Error).message}).`);
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // Node's message names the position (line and column) of the mistake.
    throw new InputError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}
