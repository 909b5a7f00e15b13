import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sendPartsInFlight } from './parts-in-flight.js';

/** Parts 0..count-1, recording how many are held (read, not yet sent) at once and whether the reader was closed. */
function partsOf(count: number) {
  const state = { held: 0, mostHeld: 0, read: [] as number[], closed: false };
  async function* read(signal: AbortSignal): AsyncGenerator<number> {
    try {
      for (let part = 0; part < count; part += 1) {
        signal.throwIfAborted();
        await sleep(1);
        state.read.push(part);
        state.held += 1;
        state.mostHeld = Math.max(state.mostHeld, state.held);
        yield part;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, read };
}

describe('sendPartsInFlight', () => {
  it.each([1, 3, 8])('holds at most %i parts at once, reads them in order and sends every one', async (inFlight) => {
    const { state, read } = partsOf(20);
    const sent: number[] = [];
    let sending = 0;
    let mostSending = 0;
    await sendPartsInFlight({
      inFlight,
      signal: new AbortController().signal,
      read,
      send: async (part) => {
        sending += 1;
        mostSending = Math.max(mostSending, sending);
        await sleep(40);
        sending -= 1;
        state.held -= 1;
        sent.push(part);
      },
    });
    expect(state.read).toEqual([...Array(20).keys()]);
    expect([...sent].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(state.mostHeld).toBeLessThanOrEqual(inFlight);
    expect(mostSending).toBe(inFlight);
    expect(state.closed).toBe(true);
  });

  it('stops the other parts at the first failure and throws it, keeping what was sent', async () => {
    const { state, read } = partsOf(50);
    const failure = new Error('part 4 failed');
    const sent: number[] = [];
    const stopped: number[] = [];
    const error = await sendPartsInFlight({
      inFlight: 3,
      signal: new AbortController().signal,
      read,
      send: async (part, signal) => {
        if (part === 4) throw failure;
        state.held -= 1;
        if (part > 4) {
          // Waits for the abort, as a request does.
          await new Promise<void>((_resolve, reject) => {
            const stop = () => {
              stopped.push(part);
              reject(new Error('aborted'));
            };
            if (signal.aborted) stop();
            else signal.addEventListener('abort', stop);
          });
        }
        sent.push(part);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBe(failure);
    expect(sent).toEqual([0, 1, 2, 3]);
    expect(stopped.length).toBeGreaterThan(0);
    expect(state.read.length).toBeLessThan(50);
    expect(state.closed).toBe(true);
  });

  it('throws the reading failure', async () => {
    const failure = new Error('the source changed');
    async function* read(): AsyncGenerator<number> {
      yield 0;
      throw failure;
    }
    await expect(sendPartsInFlight({ inFlight: 2, signal: new AbortController().signal, read, send: async () => undefined })).rejects.toBe(failure);
  });

  it("throws the upload's abort reason when it fires between two parts", async () => {
    const controller = new AbortController();
    const { state, read } = partsOf(10);
    const reason = new Error('shutdown');
    const error = await sendPartsInFlight({
      inFlight: 1,
      signal: controller.signal,
      read,
      send: async (part) => {
        state.held -= 1;
        if (part === 2) controller.abort(reason);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBe(reason);
    expect(state.read).toEqual([0, 1, 2]);
    expect(state.closed).toBe(true);
  });
});
