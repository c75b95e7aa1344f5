const DEFAULT_MAX_WAIT_MS = 1000
/** A poll waits this long for records it knows exist (position below end), even with maxWaitMs 0. */
const FETCH_GRACE_MS = 1000
const RECHECK_MS = 100
/** How often a consumer looks again for subscribed topics that do not exist yet. */
export const TOPIC_RECHECK_MS = 2000

/**
 * How long one poll with nothing to hand out keeps waiting, whichever client drives the consumer:
 * until `maxWaitMs`, and past it (up to a grace) while records it knows exist are still on their
 * way, looking again at least every RECHECK_MS (a signal wakes it sooner).
 */
export class PollWait {
  readonly #began = Date.now()
  readonly #maxWait: number
  #endsRead = false

  constructor(maxWaitMs: number | undefined) {
    this.#maxWait = Math.max(0, maxWaitMs ?? DEFAULT_MAX_WAIT_MS)
  }

  /**
   * 0 when the poll should return empty now; else how many ms to wait before looking again.
   * `readEnds` reads the partitions' ends from the brokers, true when one moved (positions.ts).
   */
  async next(caughtUp: () => boolean, readEnds: () => Promise<boolean>): Promise<number> {
    const waited = Date.now() - this.#began
    if (waited >= this.#maxWait && (waited >= FETCH_GRACE_MS || caughtUp())) {
      // A poll that returns at once asks "is anything left?" (run --until-idle): the ends are read
      // from the brokers first, so a commit acknowledged before it is not missed while the
      // fetches have not seen it yet. Once per poll.
      if (this.#maxWait > 0 || this.#endsRead || waited >= FETCH_GRACE_MS) return 0
      this.#endsRead = true
      return (await readEnds()) ? 1 : 0
    }
    const remaining = (waited < this.#maxWait ? this.#maxWait : FETCH_GRACE_MS) - waited
    return Math.max(1, Math.min(remaining, RECHECK_MS))
  }
}
