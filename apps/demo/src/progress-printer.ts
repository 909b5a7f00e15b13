import type { DeliveryStatus, UploadStatus } from '@upload-fleet/core';

/**
 * Turns successive status reads of one delivery into terminal lines: one per upload when
 * its state changes, and one per quarter of the file while it is active. The final lines
 * have a fixed shape that apps/demo/src/demo.test.ts parses:
 *
 *   result <type>[:<provider>] completed <url>
 *   result <type>[:<provider>] failed <code> <message>
 *   demo finished: <n> of <m> uploads completed
 */
export class ProgressPrinter {
  private readonly seen = new Map<number, { state: string; quarter: number }>();

  constructor(private readonly print: (line: string) => void) {}

  update(status: DeliveryStatus): void {
    for (const upload of status.uploads) {
      const before = this.seen.get(upload.index);
      const quarter = quarterOf(upload);
      if (before?.state === upload.state && (upload.state !== 'active' || quarter <= before.quarter)) continue;
      this.seen.set(upload.index, { state: upload.state, quarter });
      this.print(`  ${label(upload)} ${upload.state.padEnd(9)} ${detail(upload)}`);
    }
  }

  summary(status: DeliveryStatus): void {
    for (const upload of status.uploads) {
      if (upload.state === 'completed') this.print(`result ${resultLabel(upload)} completed ${whereStored(upload)}`);
      else this.print(`result ${resultLabel(upload)} ${upload.state} ${upload.error?.code ?? ''} ${upload.error?.message ?? ''}`.trimEnd());
    }
    const completed = status.uploads.filter((u) => u.state === 'completed').length;
    this.print(`demo finished: ${completed} of ${status.uploads.length} uploads completed`);
  }
}

function label(upload: UploadStatus): string {
  return `[${upload.index} ${upload.type}]`.padEnd(14);
}

/** The type, and for an S3-compatible provider the provider too (`s3:r2`): one delivery has several S3 uploads. */
function resultLabel(upload: UploadStatus): string {
  const provider = (upload.result as { provider?: unknown } | undefined)?.provider;
  return typeof provider === 'string' ? `${upload.type}:${provider}` : upload.type;
}

function quarterOf(upload: UploadStatus): number {
  const { bytes_sent: sent = 0, bytes_total: total = 0 } = upload.progress ?? {};
  return total > 0 ? Math.floor((4 * sent) / total) : 0;
}

function detail(upload: UploadStatus): string {
  switch (upload.state) {
    case 'active': {
      const sent = upload.progress?.bytes_sent ?? 0;
      const total = upload.progress?.bytes_total;
      return total ? `${sent}/${total} bytes (${Math.round((100 * sent) / total)} %)` : `${sent} bytes`;
    }
    case 'completed':
      return `${upload.result?.bytes ?? '?'} bytes -> ${whereStored(upload)}`;
    case 'deferred':
      return `${upload.deferred_reason ?? ''} until ${upload.run_at ?? '?'}${upload.error ? ` (${upload.error.code})` : ''}`;
    case 'failed':
      return `${upload.error?.code ?? ''}: ${upload.error?.message ?? ''} after ${upload.attempts} attempt(s)`;
    default:
      return `attempt ${upload.attempts} of ${upload.max_attempts}`;
  }
}

/** The file's URL; Dropbox gives none (a shared link is a separate call), so its path instead. */
function whereStored(upload: UploadStatus): string {
  if (upload.upload) return upload.upload;
  const path = (upload.result as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${upload.type}:${path}` : '(no URL)';
}
