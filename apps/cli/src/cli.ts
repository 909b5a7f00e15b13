import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '@upload-fleet/core/settings';
import { ApiClient, ApiRequestError, ApiUnreachableError, type DeliveryStatus } from './api-client.js';
import { describeDelivery, describeDeliveryRow, isFailure, isFinished } from './format.js';
import { ProgressView, type ProgressStream } from './progress-view.js';
import { resolveSettings, type CliSettings } from './settings.js';
import { InputError, requestFromFile, requestFromFlags } from './submit-request.js';

/** Exit codes: 0 done, 1 failed (the delivery, the request or the API), 2 wrong usage, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface CliIo {
  argv: string[];
  env: Record<string, string | undefined>;
  /** Where `.data/api-key` is looked for (the folder `pnpm start` runs in). */
  cwd: string;
  /** Relative file arguments are read from here (pnpm's INIT_CWD when run as `pnpm upload-fleet`). */
  fileCwd?: string;
  stdout: { write(text: string): unknown };
  /** Progress and errors; a terminal gets redrawn bars. */
  stderr: ProgressStream;
  readStdin: () => string;
  /** Aborted on Ctrl-C: stop waiting, leave the delivery running. */
  signal?: AbortSignal;
  /** How often --wait reads the status (default 500 ms). */
  pollIntervalMs?: number;
}

export const USAGE = `Usage: upload-fleet <command> [options]

Commands:
  submit <request.json | ->          Submit a delivery request (a JSON file, or - for standard input)
  submit --source-path <path> | --source-url <url> --destination <json | @file.json> [--destination ...]
         [--extension mp4] [--callback-url <url>] [--idempotency-key <key>]
                                     Submit a delivery built from flags (one destination: "upload", more: "uploads")
  status <token>                     Show the state of every upload of a delivery
  retry <token>                      Re-queue the failed uploads of a delivery
  cancel <token>                     Cancel the uploads that have not started yet
  list [--state <s,...>] [--type <type>] [--created-after <time>] [--created-before <time>]
       [--limit <n>] [--cursor <c>]  List your deliveries, newest first (states: pending, in_progress,
                                     completed, failed, partially_failed, cancelled; times ISO 8601)
  replay-webhook <token>             Send a finished delivery's webhook to its callback_url again

Options:
  --wait                 submit, status, retry: follow the uploads until they end (progress on standard error)
  --timeout <seconds>    with --wait: give up waiting after this long (the delivery goes on)
  --json                 print the API's JSON answers instead of text
  --api-url <url>        the API (default UPLOAD_FLEET_API_URL, else http://localhost:8080)
  --api-key <key>        the API key (default UPLOAD_FLEET_API_KEY, else .data/api-key as \`pnpm start\` writes it)
  -h, --help             show this help

Exit codes: 0 done; 1 the delivery failed, was cancelled or was refused, or the API could not be reached;
2 wrong usage; 130 interrupted (the delivery goes on).
`;

const OPTIONS = {
  'api-url': { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  'source-path': { type: 'string' },
  'source-url': { type: 'string' },
  destination: { type: 'string', multiple: true },
  extension: { type: 'string' },
  'callback-url': { type: 'string' },
  'idempotency-key': { type: 'string' },
  state: { type: 'string' },
  type: { type: 'string' },
  'created-after': { type: 'string' },
  'created-before': { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const REQUEST_FLAGS = ['source-path', 'source-url', 'destination', 'extension', 'callback-url', 'idempotency-key'] as const;
const LIST_FLAGS = ['state', 'type', 'created-after', 'created-before', 'limit', 'cursor'] as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

/** Watching stopped on request (Ctrl-C) or after --timeout; the delivery goes on. */
class StoppedWatching extends Error {
  constructor(
    readonly token: string,
    readonly interrupted: boolean,
  ) {
    super(interrupted ? 'interrupted' : 'timed out');
  }
}

/** How long --wait keeps trying while the API cannot be reached, before it gives up. */
const UNREACHABLE_GRACE_MS = 30_000;

/** Runs one command; answers the exit code. Never calls process.exit (tests run it in-process too). */
export async function runCli(io: CliIo): Promise<number> {
  const err = (line: string) => io.stderr.write(`${line}\n`);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  let settings: CliSettings | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: io.argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help || positionals.length === 0) {
      (values.help ? out : err)(USAGE.trimEnd());
      return values.help ? EXIT.ok : EXIT.usage;
    }
    const [command, argument, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}".`);
    const timeoutMs = parseTimeout(values.timeout);
    if (values.wait !== true && timeoutMs !== undefined) throw new UsageError('--timeout only applies with --wait.');
    const requestFlagsGiven = REQUEST_FLAGS.filter((flag) => values[flag] !== undefined);
    if (command !== 'submit' && requestFlagsGiven.length > 0) throw new UsageError(`--${requestFlagsGiven[0]} only applies to submit.`);
    const listFlagsGiven = LIST_FLAGS.filter((flag) => values[flag] !== undefined);
    if (command !== 'list' && listFlagsGiven.length > 0) throw new UsageError(`--${listFlagsGiven[0]} only applies to list.`);

    settings = resolveSettings({ flags: { apiUrl: values['api-url'], apiKey: values['api-key'] }, env: io.env, cwd: io.cwd });
    const client = new ApiClient({ apiUrl: settings.apiUrl, apiKey: settings.apiKey });
    const wait = (token: string) => watch(client, token, io, timeoutMs);

    switch (command) {
      case 'submit': {
        const fileCwd = io.fileCwd ?? io.cwd;
        let request: unknown;
        if (argument !== undefined) {
          if (requestFlagsGiven.length > 0) throw new UsageError(`give a request file or request flags (--${requestFlagsGiven[0]}), not both.`);
          request = requestFromFile(argument, fileCwd, io.readStdin);
        } else {
          if (requestFlagsGiven.length === 0) throw new UsageError('submit needs a request file (or -), or --source-path/--source-url and --destination.');
          request = requestFromFlags(
            {
              sourcePath: values['source-path'],
              sourceUrl: values['source-url'],
              destinations: values.destination ?? [],
              extension: values.extension,
              callbackUrl: values['callback-url'],
              idempotencyKey: values['idempotency-key'],
            },
            fileCwd,
          );
        }
        const accepted = await client.submit(request);
        if (values.json && !values.wait) out(JSON.stringify(accepted, null, 2));
        else if (!values.json) out(accepted.token);
        const types = accepted.uploads.map((u) => u.type).join(', ');
        err(`${accepted.created ? 'Submitted' : 'Already submitted (same idempotency_key)'}: ${accepted.token}, ${accepted.uploads.length} upload${accepted.uploads.length === 1 ? '' : 's'} (${types}).`);
        if (!values.wait) return EXIT.ok;
        return report(await wait(accepted.token), values, out, err);
      }
      case 'status': {
        const token = requireToken(command, argument);
        if (values.wait) return report(await wait(token), values, out, err);
        const status = await client.get(token);
        if (values.json) out(JSON.stringify(status, null, 2));
        else describeDelivery(status).forEach(out);
        return isFailure(status.state) ? EXIT.failed : EXIT.ok;
      }
      case 'retry': {
        const token = requireToken(command, argument);
        const answer = await client.retry(token);
        if (values.json && !values.wait) out(JSON.stringify(answer, null, 2));
        for (const index of answer.retried) err(`Re-queued upload #${index}.`);
        for (const skipped of answer.not_retried) err(`Not retried: upload #${skipped.index} (${skipped.state})${skipped.reason ? `: ${skipped.reason}` : ''}.`);
        if (answer.retried.length === 0) {
          err(`error: nothing to retry in ${token}: only failed uploads are retried.`);
          return EXIT.failed;
        }
        if (!values.wait) return EXIT.ok;
        return report(await wait(token), values, out, err);
      }
      case 'cancel': {
        const token = requireToken(command, argument);
        const answer = await client.cancel(token);
        if (values.json) out(JSON.stringify(answer, null, 2));
        for (const index of answer.cancelled) err(`Cancelled upload #${index}.`);
        for (const skipped of answer.not_cancelled) err(`Not cancelled: upload #${skipped.index} is ${skipped.state}${skipped.state === 'active' ? ' (it has started; it runs to its end)' : ''}.`);
        if (answer.cancelled.length === 0) {
          err(`error: nothing to cancel in ${token}: every upload has started or ended.`);
          return EXIT.failed;
        }
        return EXIT.ok;
      }
      case 'list': {
        if (argument !== undefined) throw new UsageError(`unexpected argument "${argument}": list takes only options.`);
        if (values.wait) throw new UsageError('--wait does not apply to list.');
        const page = await client.list({
          state: values.state,
          type: values.type,
          created_after: values['created-after'],
          created_before: values['created-before'],
          limit: values.limit,
          cursor: values.cursor,
        });
        if (values.json) out(JSON.stringify(page, null, 2));
        else page.deliveries.forEach((d) => out(describeDeliveryRow(d)));
        if (!values.json && page.deliveries.length === 0) err('No deliveries match.');
        if (page.next_cursor) err(`More may follow: add --cursor ${page.next_cursor}`);
        return EXIT.ok;
      }
      case 'replay-webhook': {
        const token = requireToken(command, argument);
        if (values.wait) throw new UsageError('--wait does not apply to replay-webhook.');
        const answer = await client.replayWebhook(token);
        if (values.json) out(JSON.stringify(answer, null, 2));
        err(`Queued the webhook of ${token} again; \`upload-fleet status ${token}\` shows how it went.`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown command "${command}" (submit, status, retry, cancel, list, replay-webhook).`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message}`);
      err('Run upload-fleet --help for the commands and options.');
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      err(`error: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof StoppedWatching) {
      err(
        error.interrupted
          ? `Stopped watching; delivery ${error.token} goes on. Follow it with: upload-fleet status ${error.token} --wait`
          : `error: gave up waiting (--timeout); delivery ${error.token} goes on. Follow it with: upload-fleet status ${error.token} --wait`,
      );
      return error.interrupted ? EXIT.interrupted : EXIT.failed;
    }
    if (error instanceof ApiRequestError) {
      err(`error: ${error.message}`);
      for (const problem of error.problems) err(`  - ${problem.path}: ${problem.message}`);
      if (error.status === 401 && settings) err(`  (API key used: ${settings.apiKey ? `from ${settings.apiKeySource}` : settings.apiKeySource})`);
      return EXIT.failed;
    }
    if (error instanceof InputError || error instanceof ApiUnreachableError) {
      err(`error: ${error.message}`);
      return EXIT.failed;
    }
    err(`error: ${(error as Error).message ?? String(error)}`);
    return EXIT.failed;
  }
}

/** Prints the final status (text or JSON) and answers the exit code; a failure also goes to standard error. */
function report(status: DeliveryStatus, values: Values, out: (line: string) => void, err: (line: string) => void): number {
  if (values.json) out(JSON.stringify(status, null, 2));
  else describeDelivery(status).forEach(out);
  if (!isFailure(status.state)) return EXIT.ok;
  const problems = status.uploads.filter((u) => u.state !== 'completed');
  err(`error: delivery ${status.token} ${status.state.replace('_', ' ')}.`);
  for (const upload of problems) {
    err(`  #${upload.index} ${upload.type} ${upload.state}${upload.error ? `: [${upload.error.code}] ${upload.error.message}` : ''}`);
  }
  return EXIT.failed;
}

/** Follows a delivery until every upload has ended, showing progress on standard error. */
async function watch(client: ApiClient, token: string, io: CliIo, timeoutMs: number | undefined): Promise<DeliveryStatus> {
  const view = new ProgressView(io.stderr);
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  const pollMs = io.pollIntervalMs ?? 500;
  let unreachableSince: number | undefined;
  try {
    for (;;) {
      if (io.signal?.aborted) throw new StoppedWatching(token, true);
      let status: DeliveryStatus | undefined;
      try {
        status = await client.get(token);
        unreachableSince = undefined;
      } catch (error) {
        // A restarting API (unreachable, 5xx) is waited out for a while; a 4xx is final.
        const transient = error instanceof ApiUnreachableError || (error instanceof ApiRequestError && error.status >= 500);
        if (!transient) throw error;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > UNREACHABLE_GRACE_MS) throw error;
      }
      if (status && isFinished(status.state)) {
        view.finish(status);
        return status;
      }
      if (status) view.update(status);
      if (Date.now() > deadline) throw new StoppedWatching(token, false);
      try {
        await sleep(pollMs, undefined, io.signal ? { signal: io.signal } : undefined);
      } catch {
        throw new StoppedWatching(token, true);
      }
    }
  } finally {
    view.stop();
  }
}

function requireToken(command: string, token: string | undefined): string {
  if (!token) throw new UsageError(`${command} needs a delivery token, like: upload-fleet ${command} dlv_...`);
  return token;
}

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError('--timeout must be a number of seconds.');
  return Number(value) * 1000;
}
