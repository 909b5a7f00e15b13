import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Job, Queue } from 'bullmq';
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

  constructor(queue: Queue, options: RedactingQueueAdapterOptions) {
    super(queue, {
      readOnlyMode: options.readOnly,
      allowRetries: !options.readOnly,
      // Retrying a completed upload would deliver the file a second time; submit it again instead.
      allowCompletedRetries: false,
      description: options.description,
    } as ConstructorParameters<typeof BullMQAdapter>[1]);
    this.retryJob = options.retry ?? retryWithFreshAttempts;
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    return job ? this.view(job) : job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(...args)).map((job) => this.view(job));
  }

  override async getJobLogs(id: string): Promise<string[]> {
    return (await super.getJobLogs(id)).map(redactText);
  }

  override async getJobSchedulers(): ReturnType<BullMQAdapter['getJobSchedulers']> {
    // Scheduler templates hold job data too (none are used today; this keeps it that way if one is).
    return (await super.getJobSchedulers()).map((scheduler) => redactValue(scheduler) as typeof scheduler);
  }

  /**
   * A read view of a job: what Bull Board reads is redacted; its actions go to the real
   * job (bound to it, so BullMQ's internals never see the proxy), retry as configured.
   */
  private view(job: Job): Job {
    const retry = () => this.retryJob(job);
    return new Proxy(job, {
      get(target, property) {
        if (property === 'toJSON') return () => redactValue(target.toJSON());
        if (property === 'retry') return retry;
        const value: unknown = Reflect.get(target, property, target);
        if (JOB_FIELDS_SHOWN.has(property)) return redactValue(value);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
