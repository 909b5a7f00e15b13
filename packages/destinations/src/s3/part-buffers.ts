/**
 * The buffers parts are read into, reused from part to part: an upload in flight holds at
 * most `parts in flight` of them, whatever the file's size. A new buffer per part would
 * leave each sent one to the garbage collector, which frees memory outside the JS heap
 * late: with 5 MiB parts, tens of MiB of sent parts were still resident at the peak.
 *
 * A buffer comes back only once its part is on the server. A part that failed keeps its
 * buffer: the request may still hold it (an aborted socket write), and the upload stops.
 */
export class PartBuffers {
  private readonly free: Buffer[] = [];

  constructor(private readonly partSize: number) {}

  /** A buffer of `length` bytes (at most the part size), to be filled and sent. */
  take(length: number): Buffer {
    if (length > this.partSize) throw new RangeError(`a part of ${length} bytes does not fit the ${this.partSize}-byte part buffers`);
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.partSize);
    return buffer.subarray(0, length);
  }

  /** Hands the buffer of a sent part back for the next part. */
  give(part: Buffer): void {
    this.free.push(Buffer.from(part.buffer, part.byteOffset, this.partSize));
  }
}
