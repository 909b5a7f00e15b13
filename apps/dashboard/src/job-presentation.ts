/**
 * How a job looks in Bull Board, beyond redaction: the fields the fleet stores in its own
 * shape, turned into what Bull Board draws.
 */

/**
 * Bull Board draws a progress bar only for a number, or an object with a numeric
 * `progress` (its ProgressBar component). The fleet stores `{ bytes_sent, bytes_total }`,
 * which the status API reads; the dashboard adds the percentage beside them.
 */
export function presentProgress(progress: unknown): unknown {
  if (!progress || typeof progress !== 'object' || Array.isArray(progress)) return progress;
  const { bytes_sent: sent, bytes_total: total } = progress as { bytes_sent?: unknown; bytes_total?: unknown };
  if (typeof sent !== 'number' || typeof total !== 'number' || total <= 0) return progress;
  return { progress: Math.min(100, Math.floor((sent / total) * 100)), ...progress };
}

/**
 * A deferred job waits in BullMQ's delayed set until its score's time. The fleet moves jobs
 * there with `moveToDelayed` (rate limits, shutdown hand-backs) and BullMQ's own backoff;
 * neither sets `opts.delay`, and `delay` counts from the move, not from `timestamp`. Bull
 * Board computes "will run at" as timestamp + (opts.delay || delay) and says "Delay changed;
 * the new run time is currently unknown" when delay !== opts.delay. Given the real run time
 * (from the delayed set), the view states delay and opts.delay so that both agree with it.
 */
export function presentRunAt<T extends { timestamp?: number; delay?: number; opts?: Record<string, unknown> }>(json: T, runAtMs: number | undefined): T {
  if (runAtMs === undefined) return json;
  const delay = Math.max(0, runAtMs - (json.timestamp ?? 0));
  return { ...json, delay, opts: { ...json.opts, delay } };
}

/** BullMQ's delayed-set score: the run time in ms times 0x1000, plus a counter (bullmq getDelayedScore.lua). */
export function runAtOfDelayedScore(score: string | null): number | undefined {
  return score === null ? undefined : Math.floor(Number(score) / 0x1000);
}

/**
 * A stack frame or an error message names files by their absolute path on the server
 * (`at upload (/srv/app/packages/runtime/src/upload-processor.ts:120:9)`,
 * `file:///srv/app/...`): the layout of the server is nobody's business in the browser.
 * Each path that ends in a source location (`:line` or `:line:column`) keeps only its file
 * name; URLs (`https://host/path`) are left alone.
 */
const SOURCE_LOCATION_PATH = /(?:\bfile:\/\/|(?<![\w:/.~-]))\/(?:[^\s/():'"`]+\/)+([^\s/():'"`]+:\d+(?::\d+)?)/g;

export function stripServerPaths(text: string): string {
  return text.replace(SOURCE_LOCATION_PATH, '$1');
}
