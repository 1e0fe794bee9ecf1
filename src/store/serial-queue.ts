/**
 * Runs async tasks one at a time, in order. DuckDB transactions on one connection must not
 * interleave, and serialising writers is what makes budget spending and audit appends atomic.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
