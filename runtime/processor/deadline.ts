/** How an asynchronous transform call ended, as far as the processor waits for it. */
export type CallOutcome = { kind: 'done'; value: unknown } | { kind: 'failed'; error: unknown } | { kind: 'timeout' } | { kind: 'stopped' }

const TIMEOUT: CallOutcome = { kind: 'timeout' }
const STOPPED: CallOutcome = { kind: 'stopped' }

/**
 * Bounds the wait for asynchronous transform calls. A promise cannot be cancelled: a call that
 * does not settle in `timeoutMs` is given up (`timeout`: its record is dead-lettered, and whatever
 * the call resolves with later is ignored). Once the processor is asked to stop, a call still
 * pending after `stopGraceMs` ends the wait with `stopped` (the batch is then not committed and is
 * read again on the next start), so a stuck transform cannot hold a shutdown past its deadline.
 *
 * Two unref'd timers re-armed per call (calls are sequential), so a call allocates no timer. A
 * timer that fires after its call settled resolves a settled promise: nothing happens.
 */
export class CallDeadline {
  readonly #timeout: NodeJS.Timeout
  readonly #grace: NodeJS.Timeout
  #settle: ((outcome: CallOutcome) => void) | undefined
  #stopping = false

  constructor(timeoutMs: number, stopGraceMs = Math.min(timeoutMs, 5_000)) {
    this.#timeout = setTimeout(() => this.#settle?.(TIMEOUT), timeoutMs).unref()
    // Armed here to have a timer to refresh; it acts only once a stop was asked for.
    this.#grace = setTimeout(() => this.#stopping && this.#settle?.(STOPPED), stopGraceMs).unref()
  }

  /** Waits for one call. */
  wait(call: Promise<unknown>): Promise<CallOutcome> {
    return new Promise<CallOutcome>((resolve) => {
      this.#settle = resolve
      call.then(
        (value) => resolve({ kind: 'done', value }),
        (error: unknown) => resolve({ kind: 'failed', error }),
      )
      this.#timeout.refresh()
      if (this.#stopping) this.#grace.refresh()
    })
  }

  /** From now on, a pending call gets `stopGraceMs` more at most. */
  stop(): void {
    if (this.#stopping) return
    this.#stopping = true
    this.#grace.refresh()
  }

  close(): void {
    this.#settle = undefined
    clearTimeout(this.#timeout)
    clearTimeout(this.#grace)
  }
}
