/**
 * "N parts in flight", for uploads sent in parts (S3 multipart, Azure staged blocks).
 *
 * Reading is sequential (one source stream, reopened only where a resume skips parts),
 * sending is concurrent: `inFlight` senders each take the next part from `read` only once
 * their previous one is sent, so at most `inFlight` parts are in memory, whatever the
 * file's size. The first failure stops the others at once (the signal handed to `send`
 * and `read` fires) and is the one thrown; the parts that finished before it stay sent.
 */
export interface PartsInFlight<P> {
  /** How many parts may be sent at once (at least 1). */
  inFlight: number;
  /** The upload's own signal: shutdown, lost lock, job timeout. */
  signal: AbortSignal;
  /**
   * The parts still to send, in order, each read from the source only when asked for.
   * `signal` fires on the upload's abort or another part's failure: an open source stream
   * must be destroyed then, so a slow source cannot hold up a shutdown.
   */
  read(signal: AbortSignal): AsyncGenerator<P>;
  /** Sends one part; `signal` fires when the upload aborts or another part failed. */
  send(part: P, signal: AbortSignal): Promise<void>;
}

export async function sendPartsInFlight<P>(job: PartsInFlight<P>): Promise<void> {
  const stop = new AbortController();
  const signal = AbortSignal.any([job.signal, stop.signal]);
  const parts = job.read(signal);
  let failure: { error: unknown } | undefined;

  // An async generator runs one next() at a time, so the senders read in turn.
  const sender = async () => {
    while (!signal.aborted) {
      const next = await parts.next();
      if (next.done) return;
      await job.send(next.value, signal);
    }
  };
  const senders = Array.from({ length: Math.max(1, Math.floor(job.inFlight)) }, () =>
    sender().catch((error: unknown) => {
      failure ??= { error };
      stop.abort();
    }),
  );
  await Promise.all(senders);
  await parts.return(undefined);
  if (failure) throw failure.error;
  // Aborted between two parts: nothing failed, but the upload must not go on.
  job.signal.throwIfAborted();
}
