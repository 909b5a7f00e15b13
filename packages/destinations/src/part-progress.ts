/**
 * The progress of an upload sent in parts (S3 parts, Azure blocks) as one number: bytes
 * the service has confirmed (parts it holds) plus bytes of the parts being sent that the
 * socket has taken. It never goes back (a part that is retried counts from 0 again, which
 * would look like a step back) and never exceeds the file's size.
 */
export interface PartProgress {
  /** Parts the service already holds, found on resume; the first call reports even 0. */
  confirmed(bytes: number): void;
  /** `bytes` of part `partNumber` handed to the socket so far (this try). */
  sending(partNumber: number, bytes: number): void;
  /** Part `partNumber` of `bytes` is on the server. */
  finished(partNumber: number, bytes: number): void;
  /** Part `partNumber` failed; its bytes no longer count as in flight. */
  dropped(partNumber: number): void;
  /** Everything is there. */
  complete(): void;
}

export function createPartProgress(size: number, report: (bytes: number) => void): PartProgress {
  let confirmed = 0;
  const inFlight = new Map<number, number>();
  let reported = -1;
  const publish = () => {
    let bytes = confirmed;
    for (const sent of inFlight.values()) bytes += sent;
    bytes = Math.min(bytes, size);
    if (bytes > reported) {
      reported = bytes;
      report(bytes);
    }
  };
  return {
    confirmed(bytes) {
      confirmed += bytes;
      publish();
    },
    sending(partNumber, bytes) {
      inFlight.set(partNumber, bytes);
      publish();
    },
    finished(partNumber, bytes) {
      inFlight.delete(partNumber);
      confirmed += bytes;
      publish();
    },
    dropped(partNumber) {
      inFlight.delete(partNumber);
    },
    complete() {
      inFlight.clear();
      confirmed = size;
      if (reported < size) {
        reported = size;
        report(size);
      }
    },
  };
}
