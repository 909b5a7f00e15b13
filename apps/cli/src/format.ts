import type { DeliveryStatus, UploadStatus } from './api-client.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` -> `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Seconds as `42s`, `3:05` or `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** `#0 http`: how every line names an upload. */
export function uploadLabel(upload: Pick<UploadStatus, 'index' | 'type'>): string {
  return `#${upload.index} ${upload.type}`;
}

/** A one-line description of an upload that is not transferring (queued, deferred, ended). */
export function describeUpload(upload: UploadStatus): string {
  switch (upload.state) {
    case 'completed':
      return `completed${upload.upload ? `  ${upload.upload}` : ''}`;
    case 'failed':
      return `failed  ${errorText(upload)}${attemptsText(upload)}`;
    case 'deferred': {
      const why = upload.deferred_reason === 'rate_limited' ? `rate limited${upload.limit_key ? ` (${upload.limit_key})` : ''}` : 'waiting to retry';
      const last = upload.error ? `; last error: ${errorText(upload)}` : '';
      return `deferred: ${why} until ${upload.run_at ?? '?'}${last}`;
    }
    case 'active':
      return upload.progress ? `active  ${formatBytes(upload.progress.bytes_sent)} / ${formatBytes(upload.progress.bytes_total)}` : 'active';
    default:
      return upload.state;
  }
}

function errorText(upload: UploadStatus): string {
  return upload.error ? `[${upload.error.code}] ${upload.error.message}` : 'no error message';
}

/**
 * How a failed upload used its attempts. A permanent failure is not retried, so "attempt 1
 * of 5" would promise four more that never come.
 */
function attemptsText(upload: UploadStatus): string {
  if (upload.attempts === 0) return '';
  const tries = `${upload.attempts} attempt${upload.attempts === 1 ? '' : 's'}`;
  const retryable = upload.error?.category === 'transient' || upload.error?.category === 'rate_limited';
  return retryable ? ` (after ${upload.attempts} of ${upload.max_attempts} attempts)` : ` (after ${tries}; not retried: retrying would fail the same way)`;
}

/** The whole status of a delivery, as `status` prints it. */
export function describeDelivery(status: DeliveryStatus): string[] {
  const lines = [`${status.token}  ${status.state}  (created ${status.created_at})`];
  for (const upload of status.uploads) lines.push(`  ${uploadLabel(upload)}  ${describeUpload(upload)}`);
  if (status.webhook) {
    const w = status.webhook;
    lines.push(`  webhook  ${w.state} after ${w.attempts} attempt${w.attempts === 1 ? '' : 's'}${w.last_error ? `: ${w.last_error}` : ''}`);
  }
  return lines;
}

/** One line per delivery, as `list` prints them: token, state, creation time and destination types. */
export function describeDeliveryRow(status: DeliveryStatus): string {
  const types = [...new Set(status.uploads.map((u) => u.type))].join(',');
  return `${status.token}  ${status.state.padEnd(16)}  ${status.created_at}  ${status.uploads.length} upload${status.uploads.length === 1 ? '' : 's'} (${types})`;
}

/** Delivery states in which nothing more will happen. */
export function isFinished(state: DeliveryStatus['state']): boolean {
  return state === 'completed' || state === 'failed' || state === 'partially_failed' || state === 'cancelled';
}

/** States the CLI reports with a non-zero exit: something the user asked for did not happen. */
export function isFailure(state: DeliveryStatus['state']): boolean {
  return state === 'failed' || state === 'partially_failed' || state === 'cancelled';
}
