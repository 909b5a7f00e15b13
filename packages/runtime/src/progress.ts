import type { UploadProgress } from '@upload-fleet/core';

/**
 * Turns the adapter's frequent byte counts into progress events at most once per
 * interval (each event is a Redis round trip and a dashboard update), the first one an
 * interval after the upload started. An upload that ends within its first interval so
 * publishes nothing: a tiny file would otherwise pay two writes (0 bytes, then all of them)
 * for a state nobody could see, and its end is in the delivery record, which the status
 * reads first. Once something was published, `flush` publishes the last value, so the job
 * never shows a stale count.
 */
export function throttledProgress(total: number, publish: (progress: UploadProgress) => Promise<void>, intervalMs = 1000) {
  let lastSentAt = Date.now();
  let latest = 0;
  let sent = -1;
  let pending: Promise<void> = Promise.resolve();
  const send = () => {
    if (latest === sent) return;
    sent = latest;
    lastSentAt = Date.now();
    const progress = { bytes_sent: latest, bytes_total: total };
    // Progress is advisory: a failed write must not fail the upload.
    pending = pending.then(() => publish(progress)).catch(() => undefined);
  };
  return {
    report(bytesSent: number) {
      latest = Math.min(Math.max(latest, bytesSent), total);
      if (Date.now() - lastSentAt >= intervalMs) send();
    },
    /** Publishes the last value if an earlier one was published, and waits for the writes. */
    async flush() {
      if (sent !== -1) send();
      await pending;
    },
    get bytesSent() {
      return latest;
    },
  };
}
