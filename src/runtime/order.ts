/*
 * Submission order. A call takes its place in line when it is made and submits in that
 * place, however long its preparation takes (a pipeline to compile, a buffer to check):
 * calls made without awaiting each other reach the queue in the order they were made, as
 * WebGPU's own commands would. Once, each submitted when its preparation finished, so a
 * call that wrote into a tensor could land after a later call that read it.
 */

/** A call's place in line. */
export interface Turn {
  /** Settles once every call that took its place before this one has submitted or given up. */
  readonly before: Promise<void>;
  /** This call has submitted, or never will: the next may go. Idempotent. */
  done(): void;
}

export class SubmitOrder {
  private last: Promise<void> = Promise.resolve();
  /** Places taken and not yet given up. */
  private waiting = 0;

  /** Whether no call is in line: work that submits now keeps the order (a read submits at once then). */
  get idle(): boolean {
    return this.waiting === 0;
  }

  /** The next place in line (take it synchronously, when the call is made; give it up with done()). */
  take(): Turn {
    const before = this.last;
    let release!: () => void;
    this.last = new Promise<void>((resolve) => (release = resolve));
    this.waiting++;
    let given = false;
    const done = () => {
      if (given) return;
      given = true;
      this.waiting--;
      release();
    };
    return { before, done };
  }

  /** Runs `f` in a place taken now, given up however `f` ends (f gives it up early once it has submitted). */
  async inTurn<T>(f: (turn: Turn) => Promise<T>): Promise<T> {
    const turn = this.take();
    try {
      return await f(turn);
    } finally {
      turn.done();
    }
  }
}
