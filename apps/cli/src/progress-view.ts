import type { DeliveryStatus, UploadStatus } from './api-client.js';
import { describeUpload, formatBytes, formatDuration, uploadLabel } from './format.js';

/** Where progress goes: standard error, so standard output keeps only the results. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressViewOptions {
  /** A terminal gets bars redrawn at most this often (default 250 ms: ~4 times a second). */
  minRedrawMs?: number;
  /** Elsewhere (a log, a pipe) an upload gets a new line at most this often while it transfers (default 1 s). */
  plainIntervalMs?: number;
  /** How far back the transfer rate is averaged (default 10 s). */
  rateWindowMs?: number;
  now?: () => number;
}

interface Sample {
  at: number;
  bytes: number;
}

const BAR_WIDTH = 24;
const ESC = '\u001b[';

/**
 * Shows the uploads of a delivery while the CLI waits for it: on a terminal one bar per
 * upload (bytes, rate, ETA) redrawn in place; elsewhere plain lines, one per change.
 * Feed it every status the CLI reads; it decides what to draw.
 */
export class ProgressView {
  private readonly minRedrawMs: number;
  private readonly plainIntervalMs: number;
  private readonly rateWindowMs: number;
  private readonly now: () => number;
  private readonly samples = new Map<number, Sample[]>();
  private readonly printed = new Map<number, { state: string; bytes: number; at: number }>();
  private status: DeliveryStatus | undefined;
  private drawnLines = 0;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ProgressStream,
    options: ProgressViewOptions = {},
  ) {
    this.minRedrawMs = options.minRedrawMs ?? 250;
    this.plainIntervalMs = options.plainIntervalMs ?? 1000;
    this.rateWindowMs = options.rateWindowMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get isTerminal(): boolean {
    return this.stream.isTTY === true;
  }

  update(status: DeliveryStatus): void {
    this.record(status);
    if (!this.isTerminal) return this.printChanges(status, false);
    const wait = this.lastDrawAt + this.minRedrawMs - this.now();
    if (wait <= 0) return this.draw();
    // A trailing redraw, so the last status is shown even when no other one follows soon.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
    this.timer.unref?.();
  }

  /** Shows the final state (the bars one last time, or the last lines) and stops redrawing. */
  finish(status: DeliveryStatus): void {
    this.record(status);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.isTerminal) this.draw();
    else this.printChanges(status, true);
  }

  /** Stops redrawing without drawing again (interrupted). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Bytes per second over the rate window; undefined until two readings apart in time differ. */
  rateOf(index: number): number | undefined {
    const samples = this.samples.get(index);
    if (!samples || samples.length < 2) return undefined;
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const seconds = (last.at - first.at) / 1000;
    if (seconds <= 0) return undefined;
    return (last.bytes - first.bytes) / seconds;
  }

  /** The line an upload gets, bar or plain. */
  lineOf(upload: UploadStatus, bar: boolean): string {
    const label = uploadLabel(upload).padEnd(14);
    const progress = upload.state === 'active' ? upload.progress : undefined;
    if (!progress) return `${label} ${describeUpload(upload)}`;
    const { bytes_sent: sent, bytes_total: total } = progress;
    const fraction = total > 0 ? Math.min(1, sent / total) : 0;
    const percent = `${Math.floor(fraction * 100)}%`;
    const rate = this.rateOf(upload.index);
    const speed = rate === undefined ? '-- /s' : `${formatBytes(Math.round(rate))}/s`;
    const eta = rate && rate > 0 ? formatDuration((total - sent) / rate) : '--';
    const amounts = `${formatBytes(sent)} / ${formatBytes(total)}`;
    if (!bar) return `${label} active  ${amounts} (${percent})  ${speed}  ETA ${eta}`;
    const filled = Math.round(fraction * BAR_WIDTH);
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent.padStart(4)}  ${amounts}  ${speed}  ETA ${eta}`;
  }

  private record(status: DeliveryStatus): void {
    this.status = status;
    const at = this.now();
    for (const upload of status.uploads) {
      const bytes = upload.progress?.bytes_sent;
      if (upload.state !== 'active' || bytes === undefined) continue;
      let samples = this.samples.get(upload.index) ?? [];
      // A new attempt starts again from fewer bytes: its rate has nothing to do with the last one's.
      if (samples.length > 0 && bytes < samples[samples.length - 1]!.bytes) samples = [];
      samples.push({ at, bytes });
      while (samples.length > 2 && at - samples[0]!.at > this.rateWindowMs) samples.shift();
      this.samples.set(upload.index, samples);
    }
  }

  private draw(): void {
    const status = this.status;
    if (!status) return;
    this.lastDrawAt = this.now();
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    // Lines longer than the terminal would wrap, and moving up would then miss the top.
    const lines = [`${status.token}  ${status.state}`, ...status.uploads.map((u) => this.lineOf(u, true))].map((line) => line.slice(0, width));
    let out = this.drawnLines > 0 ? `${ESC}${this.drawnLines}A` : '';
    for (const line of lines) out += `\r${ESC}2K${line}\n`;
    this.stream.write(out);
    this.drawnLines = lines.length;
  }

  private printChanges(status: DeliveryStatus, final: boolean): void {
    const at = this.now();
    for (const upload of status.uploads) {
      const last = this.printed.get(upload.index);
      const bytes = upload.progress?.bytes_sent ?? 0;
      const changedState = last?.state !== upload.state;
      const moved = upload.state === 'active' && bytes !== last?.bytes && (at - (last?.at ?? 0) >= this.plainIntervalMs || final);
      if (!changedState && !moved) continue;
      this.printed.set(upload.index, { state: upload.state, bytes, at });
      this.stream.write(`${this.lineOf(upload, false)}\n`);
    }
  }
}
