import { Job, type JobsOptions } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { UploadJobData } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import type { DeliveryIndex } from './delivery-index.js';
import type { DeliveryQueues } from './delivery-queues.js';
import type { DeliveryMeta, DeliveryStore } from './delivery-store.js';

/** One upload job as the submitter planned it: where it goes and what it carries. */
export interface PlannedJob {
  type: DestinationType;
  shard: number;
  name: string;
  data: UploadJobData;
  opts: JobsOptions & { jobId: string };
}

/** Everything one submitted delivery writes: its record, its jobs, its place in the index. */
export interface DeliveryWrite {
  meta: DeliveryMeta;
  jobs: PlannedJob[];
  /** When the delivery was created (ms): its score in the index. */
  createdAtMs: number;
  /** An earlier request with the same idempotency key left this record: keep it, finish its work. */
  keepRecord: boolean;
}

/**
 * Writes a submitted delivery to Redis, all or nothing, in as few round trips as the key
 * layout allows:
 *
 * - **one slot** (one server, Sentinel, or a hash-tagged cluster prefix): a single MULTI
 *   with the record (marked enqueued), every job (BullMQ's own add script, queued into the
 *   transaction with Job.addJob, as BullMQ's FlowProducer does) and the index entries. One
 *   round trip; Redis runs it as one unit, so no reader ever sees half a delivery. The
 *   deliveries submitted in one turn of the event loop (a batch, or concurrent requests)
 *   go out together, one MULTI each in one pipeline (writeGroup).
 * - **spread** (a cluster): the record, the jobs and the index live in different slots, and a
 *   MULTI or a script cannot span slots. Three steps, each one round trip (the commands of a
 *   step go out together): the record (not yet marked), then the jobs, then the enqueued
 *   mark with the index entries. The record comes first because a worker may finish a job
 *   at once and writes its outcome into the record (the webhook decision reads the
 *   record's total); the mark comes last because it is what an idempotent replay and the
 *   console take as "submitted". A failed step removes what the earlier ones wrote.
 */
export class DeliveryWriter {
  /** Deliveries waiting for this turn's group write (writeInOneTransaction). */
  private readonly pending: { delivery: DeliveryWrite; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: DeliveryQueues,
    private readonly index: DeliveryIndex,
  ) {}

  async write(delivery: DeliveryWrite): Promise<void> {
    if (this.store.layout.spread) await this.writeAcrossSlots(delivery);
    else await this.writeInOneTransaction(delivery);
  }

  /**
   * Joins the group of deliveries to be written in this turn of the event loop (see
   * writeGroup); settles with this delivery's own outcome.
   */
  private writeInOneTransaction(delivery: DeliveryWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ delivery, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.writeGroup());
    });
  }

  /**
   * Writes every delivery submitted in one turn of the event loop in one pipeline, each in
   * its own MULTI ... EXEC: all or nothing per delivery as before, but one socket write and
   * one reply read for the group instead of one each (under load most of a submit's Redis
   * cost was the write and the wake-up of Redis it causes, and ioredis's making of a MULTI).
   */
  private async writeGroup(): Promise<void> {
    const group = this.pending.splice(0);
    try {
      // BullMQ defines its scripts on the connection when a queue first connects; after that
      // this answers at once (no round trip).
      const queuesOf = group.map(({ delivery }) => delivery.jobs.map((job) => this.queues.upload(job.type, job.shard)));
      await Promise.all([...new Set(queuesOf.flat())].map((queue) => queue.waitUntilReady()));
      const pipeline = this.store.pipeline();
      const blocks: { from: number; exec: number }[] = [];
      for (const [n, { delivery }] of group.entries()) {
        const from = pipeline.length;
        // ioredis pipelines take MULTI blocks (its types leave multi out of ChainableCommander).
        (pipeline as unknown as { multi(): void }).multi();
        this.store.createIn(pipeline, delivery.meta, { enqueued: true, takeOver: delivery.keepRecord });
        // Queued synchronously into the transaction; the promises settle without any I/O.
        await Promise.all(delivery.jobs.map((job, i) => new Job(queuesOf[n]![i]!, job.name, job.data, job.opts, job.opts.jobId).addJob(bullmqTransaction(pipeline))));
        this.index.addIn(pipeline, delivery.meta.token, delivery.meta.owner, delivery.createdAtMs);
        void pipeline.exec(); // with a MULTI open, this queues its EXEC; the pipeline goes below
        blocks.push({ from, exec: pipeline.length - 1 });
      }
      const results = (await pipeline.exec()) ?? [];
      await Promise.all(
        group.map(async ({ delivery, resolve, reject }, n) => {
          const { from, exec } = blocks[n]!;
          const [execError, replies] = results[exec] ?? [new Error('Redis answered no EXEC for the delivery')];
          // EXECABORT (a command refused while queued) comes with the refusal before it; a
          // command that failed inside the transaction (the others ran) is an Error among the replies.
          const failure = execError ? (results.slice(from, exec).find(([error]) => error)?.[0] ?? execError) : (replies as unknown[]).find((reply) => reply instanceof Error);
          if (!failure) return resolve();
          await this.rollBack(delivery.meta).catch(() => undefined);
          reject(failure);
        }),
      );
    } catch (error) {
      for (const { reject } of group) reject(error);
    }
  }

  private async writeAcrossSlots({ meta, jobs, createdAtMs, keepRecord }: DeliveryWrite): Promise<void> {
    // A take-over keeps the record the first request wrote (any outcomes of its jobs).
    if (!keepRecord) await this.store.create(meta);
    const added = await Promise.allSettled(jobs.map((job) => this.queues.upload(job.type, job.shard).add(job.name, job.data, job.opts)));
    const failure = added.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failure) {
      // All or nothing: a client that saw an error must not find half a delivery running.
      await this.rollBack(meta).catch(() => undefined);
      throw failure.reason;
    }
    await Promise.all([this.store.markEnqueued(meta.token), this.index.add(meta.token, meta.owner, createdAtMs)]);
  }

  private async rollBack(meta: DeliveryMeta): Promise<void> {
    // Settled, not all: a job that cannot be removed (its queue is what failed) must not
    // keep the record and the index entry from going.
    const jobs = await Promise.allSettled(meta.uploads.map(async (u) => (await this.queues.upload(u.type, u.shard).getJob(u.job_id))?.remove()));
    await Promise.all([this.store.delete(meta.token), this.index.remove(meta.token, meta.owner)]);
    const failed = jobs.find((j): j is PromiseRejectedResult => j.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * BullMQ adds a job through `runCommand(<script name>, args)` on its own client wrapper; on
 * an ioredis MULTI the script is a method of that name (ioredis copies the connection's
 * defined commands onto each transaction).
 */
function bullmqTransaction(multi: ChainableCommander): Parameters<Job['addJob']>[0] {
  const transaction = {
    runCommand(name: string, args: unknown[]) {
      (multi as unknown as Record<string, (args: unknown[]) => unknown>)[name]!(args);
      return transaction;
    },
  };
  return transaction as unknown as Parameters<Job['addJob']>[0];
}
