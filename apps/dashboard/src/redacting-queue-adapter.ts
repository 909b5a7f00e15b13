import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Job, Queue } from 'bullmq';
import { presentProgress, presentRunAt, runAtOfDelayedScore, stripServerPaths } from './job-presentation.js';
import { redactText, redactValue } from './redaction.js';

export interface RedactingQueueAdapterOptions {
  readOnly: boolean;
  description: string;
  /**
   * What "retry" means for a failed job of this queue. Default: back to waiting with a
   * fresh set of attempts. The upload queues also reopen the delivery record, as the API's
   * retry does, so the status and the webhook see the new run.
   */
  retry?: (job: Job) => Promise<void>;
}

/** Fields of a job that the dashboard reads directly and that may quote a credential. */
const JOB_FIELDS_SHOWN = new Set<PropertyKey>(['data', 'returnvalue', 'failedReason', 'stacktrace', 'progress', 'opts', 'name']);

export const retryWithFreshAttempts = (job: Job) => job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });

/**
 * Bull Board's BullMQ adapter, but every job it hands to Bull Board is a redacting view.
 * Bull Board's own formatters reach only data, returnValue, name and progress; its job
 * answer also carries failedReason, stacktrace and opts straight from `job.toJSON()`, and
 * logs come through `getJobLogs`. So the view redacts `toJSON()` as a whole (and the same
 * fields read directly), and the logs are redacted here: no path from Redis to the browser
 * skips redaction. The HTTP layer redacts every API answer once more (dashboard.ts).
 */
export class RedactingQueueAdapter extends BullMQAdapter {
  private readonly retryJob: (job: Job) => Promise<void>;
  private readonly bullQueue: Queue;

  constructor(queue: Queue, options: RedactingQueueAdapterOptions) {
    super(queue, {
      readOnlyMode: options.readOnly,
      allowRetries: !options.readOnly,
      // Retrying a completed upload would deliver the file a second time; submit it again instead.
      allowCompletedRetries: false,
      description: options.description,
    } as ConstructorParameters<typeof BullMQAdapter>[1]);
    this.retryJob = options.retry ?? retryWithFreshAttempts;
    this.bullQueue = queue;
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    if (!job) return job;
    const [runAt] = await this.runTimesOf([job]);
    return this.view(job, runAt);
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    const jobs = await super.getJobs(...args);
    const runTimes = await this.runTimesOf(jobs);
    return jobs.map((job, i) => this.view(job, runTimes[i]));
  }

  override async getJobLogs(id: string): Promise<string[]> {
    return (await super.getJobLogs(id)).map(redactText);
  }

  override async getJobSchedulers(): ReturnType<BullMQAdapter['getJobSchedulers']> {
    // Scheduler templates hold job data too (none are used today; this keeps it that way if one is).
    return (await super.getJobSchedulers()).map((scheduler) => redactValue(scheduler) as typeof scheduler);
  }

  /** When each job runs, for those waiting in the delayed set (undefined for the others). */
  private async runTimesOf(jobs: Job[]): Promise<(number | undefined)[]> {
    if (jobs.length === 0) return [];
    const client = await this.bullQueue.getBackend().client;
    const delayedKey = this.bullQueue.keys.delayed!;
    return Promise.all(jobs.map(async (job) => runAtOfDelayedScore(await client.zscore(delayedKey, String(job.id)).catch(() => null))));
  }

  /**
   * A read view of a job: what Bull Board reads is redacted, server paths stripped from
   * failures, progress given as a percentage and a deferred job's run time stated; its
   * actions go to the real job (bound to it, so BullMQ's internals never see the proxy),
   * retry as configured.
   */
  private view(job: Job, runAtMs: number | undefined): Job {
    const retry = () => this.retryJob(job);
    return new Proxy(job, {
      get(target, property) {
        if (property === 'toJSON') return () => presentJson(target.toJSON() as unknown as JobJson, runAtMs);
        if (property === 'retry') return retry;
        const value: unknown = Reflect.get(target, property, target);
        if (JOB_FIELDS_SHOWN.has(property)) return presentField(property, value);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

interface JobJson {
  timestamp?: number;
  delay?: number;
  opts?: Record<string, unknown>;
  progress?: unknown;
  failedReason?: string;
  stacktrace?: string[] | null;
}

function presentJson(json: JobJson, runAtMs: number | undefined): unknown {
  const shown = presentRunAt(json, runAtMs);
  return redactValue({
    ...shown,
    progress: presentProgress(shown.progress),
    ...(typeof shown.failedReason === 'string' ? { failedReason: stripServerPaths(shown.failedReason) } : {}),
    ...(Array.isArray(shown.stacktrace) ? { stacktrace: shown.stacktrace.map((line) => (typeof line === 'string' ? stripServerPaths(line) : line)) } : {}),
  });
}

function presentField(property: PropertyKey, value: unknown): unknown {
  if (property === 'progress') return redactValue(presentProgress(value));
  if (property === 'failedReason' && typeof value === 'string') return redactText(stripServerPaths(value));
  if (property === 'stacktrace' && Array.isArray(value)) return value.map((line) => (typeof line === 'string' ? redactText(stripServerPaths(line)) : line));
  return redactValue(value);
}
