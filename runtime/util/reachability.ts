import type { Logger } from '../logger.ts'

/** Whether a remote service (the transport's brokers, the schema registry) answers now, for readiness. */
export type Reachability = { reachable: true } | { reachable: false; since: number; message: string }

export interface ReachabilityProbe {
  /** What messages and logs name, e.g. "Kafka brokers a:9092,b:9092". */
  what: string
  intervalMs: number
  /** A check without an answer by then failed. */
  timeoutMs: number
  /** One check: resolves when the service answered. */
  check(): Promise<void>
  /**
   * After a failed check and at close: let go of what the checks hold (a client that lost its
   * connection), so the next check starts clean. Never awaited after a failure: closing a client
   * whose connect hangs waits for that connect.
   */
  reset?(): Promise<void>
  /** How a failed check's error reads in the message (default: its message). */
  describe?(e: unknown): string
  logger: Logger
}

/**
 * A service's reachability from periodic cheap checks, for the services whose outages the clients
 * ride out inside (a Kafka client waits for its brokers; a registry is only asked for a schema it
 * has not cached), so nothing would fail and readiness would not know. Two failed checks in a row
 * make it unreachable (one alone may be a blip); one answer makes it reachable again. Transitions
 * are logged once each.
 */
export class ReachabilityWatch {
  readonly #probe: ReachabilityProbe
  #timer: NodeJS.Timeout | undefined
  #failures = 0
  #firstFailureAt = 0
  #cause = ''
  #checking = false
  #closed = false

  constructor(probe: ReachabilityProbe) {
    this.#probe = probe
  }

  /** Starts the checks (once). */
  start(): this {
    if (this.#timer === undefined && !this.#closed) this.#timer = setInterval(() => void this.#check(), this.#probe.intervalMs).unref()
    return this
  }

  health(): Reachability {
    if (this.#failures < 2) return { reachable: true }
    return {
      reachable: false,
      since: this.#firstFailureAt,
      message: `${this.#probe.what} unreachable for ${Date.now() - this.#firstFailureAt} ms (${this.#failures} checks failed; last: ${this.#cause})`,
    }
  }

  /** Stops the checks and resets the probe, waiting for that at most the check timeout. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#probe.reset?.().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, this.#probe.timeoutMs)))])
    clearTimeout(timer)
  }

  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return
    this.#checking = true
    const { what, timeoutMs, logger } = this.#probe
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      await Promise.race([this.#probe.check(), timeout])
      if (this.#failures >= 2) logger.info({ service: what, downMs: Date.now() - this.#firstFailureAt }, `${what} reachable again`)
      this.#failures = 0
    } catch (e) {
      if (this.#failures === 0) this.#firstFailureAt = Date.now()
      this.#failures++
      this.#cause = this.#probe.describe?.(e) ?? (e instanceof Error ? e.message : String(e))
      if (this.#failures === 2) logger.warn({ service: what, cause: this.#cause }, `${what} unreachable: not ready until it answers`)
      void this.#probe.reset?.().catch(() => undefined)
    } finally {
      clearTimeout(timer)
      this.#checking = false
    }
  }
}
