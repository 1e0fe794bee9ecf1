import { TooManyRequestsError } from '../errors/cleanroom-error.ts';

/**
 * How many uploads load at once: room-wide (each CSV load holds an engine connection and a worker
 * thread reading its pipe for as long as its client sends, and its incoming table counts against the
 * engine's memory) and one per member, so one member's slow or hostile uploads can hold at most one
 * of the room's slots. Found in a hostile review: four 1-byte-per-second uploads took all four of
 * libuv's threads and froze every query.
 */
export class UploadSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  readonly #members = new Set<string>();

  constructor(readonly total: number) {
    this.#free = total;
  }

  /** Takes a slot for `member` (waiting for a free one); refuses a member already uploading. */
  async acquire(member: string): Promise<() => void> {
    if (this.#members.has(member))
      throw new TooManyRequestsError(
        'UPLOAD_IN_PROGRESS',
        `Member "${member}" already has an upload loading; this room loads one upload per member at a time.`,
        { member },
      );
    this.#members.add(member);
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#members.delete(member);
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free += 1;
    };
  }
}
