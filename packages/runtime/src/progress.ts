import type { UploadProgress } from '@upload-fleet/core';

/**
 * Turns the adapter's frequent byte counts into progress events at most once per
 * interval (each event is a Redis write and a dashboard update). The last value is
 * always sent by `flush`.
 */
export function throttledProgress(total: number, publish: (progress: UploadProgress) => Promise<void>, intervalMs = 1000) {
  let lastSentAt = 0;
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
    async flush() {
      send();
      await pending;
    },
    get bytesSent() {
      return latest;
    },
  };
}
