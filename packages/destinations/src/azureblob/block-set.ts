/**
 * Block indexes as inclusive [first, last] runs: the form the checkpoint stores after every
 * block. Blocks are staged roughly in order, so a file of 50,000 blocks still has a handful
 * of runs; listing every id would make each save grow with the file.
 */
export type IndexRuns = [number, number][];

/**
 * The staged blocks of one upload (indexes 0 to count - 1). A bitmap, so computing the runs
 * after each of up to 50,000 blocks stays linear and cheap.
 */
export class BlockSet {
  private readonly bits: Uint8Array;
  private count_ = 0;

  constructor(readonly capacity: number) {
    this.bits = new Uint8Array(capacity);
  }

  static fromRuns(capacity: number, runs: IndexRuns): BlockSet {
    const set = new BlockSet(capacity);
    for (const [first, last] of runs) for (let index = first; index <= last; index += 1) set.add(index);
    return set;
  }

  get size(): number {
    return this.count_;
  }

  has(index: number): boolean {
    return this.bits[index] === 1;
  }

  /** Adds an index; indexes outside 0..capacity-1 are ignored. */
  add(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.capacity || this.bits[index] === 1) return;
    this.bits[index] = 1;
    this.count_ += 1;
  }

  runs(): IndexRuns {
    return this.runsWhere(true);
  }

  /** The indexes not in the set, as runs of consecutive blocks (what a resume must still stage). */
  missingRuns(): IndexRuns {
    return this.runsWhere(false);
  }

  private runsWhere(present: boolean): IndexRuns {
    const runs: IndexRuns = [];
    let start = -1;
    for (let index = 0; index <= this.capacity; index += 1) {
      const inRun = index < this.capacity && (this.bits[index] === 1) === present;
      if (inRun && start < 0) start = index;
      if (!inRun && start >= 0) {
        runs.push([start, index - 1]);
        start = -1;
      }
    }
    return runs;
  }
}
