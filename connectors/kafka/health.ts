import type { TransportHealth } from '../../runtime/log/log.ts'
import type { AdminWire, Driver } from './driver.ts'
import { describe } from './errors.ts'
import { log } from './logger.ts'
import type { ResolvedKafkaOptions } from './options.ts'

/**
 * Whether the brokers answer, for readiness: a client library rides a broker outage out inside its
 * consumers (kafkajs' fetches return nothing, nothing fails), so the processor never sees one. A
 * metadata request every `healthIntervalMs`, on a client of its own, bounded by `healthTimeoutMs`:
 * it tries each listed broker once at most (the libraries move to another seed broker on each retry),
 * so one broker of a larger cluster being down is not an outage. Two failed checks in a row make
 * the brokers unreachable (one alone may be a blip); one answer makes them reachable again.
 * Transitions are logged once each.
 */
export class BrokerWatch {
  readonly #driver: Driver
  readonly #options: ResolvedKafkaOptions
  #admin: AdminWire | undefined
  #timer: NodeJS.Timeout | undefined
  #failures = 0
  #firstFailureAt = 0
  #cause = ''
  #checking = false
  #closed = false

  constructor(driver: Driver, options: ResolvedKafkaOptions) {
    this.#driver = driver
    this.#options = options
  }

  /** Starts the checks (once). */
  start(): this {
    if (this.#timer === undefined && !this.#closed) this.#timer = setInterval(() => void this.#check(), this.#options.tuning.healthIntervalMs).unref()
    return this
  }

  health(): TransportHealth {
    const brokers = this.#options.kafka.brokers.join(',')
    if (this.#failures < 2) return { reachable: true }
    return {
      reachable: false,
      since: this.#firstFailureAt,
      message: `Kafka brokers ${brokers} unreachable for ${Date.now() - this.#firstFailureAt} ms (${this.#failures} checks failed; last: ${this.#cause})`,
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#drop(), new Promise((resolve) => (timer = setTimeout(resolve, this.#options.tuning.healthTimeoutMs)))])
    clearTimeout(timer)
  }

  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return
    this.#checking = true
    let timer: NodeJS.Timeout | undefined
    try {
      this.#admin ??= this.#driver.admin(this.#options, 'health', this.#options.kafka.brokers.length - 1, true)
      const admin = this.#admin
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.#options.tuning.healthTimeoutMs} ms`)), this.#options.tuning.healthTimeoutMs)
      })
      await Promise.race([admin.connect().then(() => admin.describeCluster()), timeout])
      if (this.#failures >= 2) log.info({ brokers: this.#options.kafka.brokers, downMs: Date.now() - this.#firstFailureAt }, 'Kafka brokers reachable again')
      this.#failures = 0
    } catch (e) {
      if (this.#failures === 0) this.#firstFailureAt = Date.now()
      this.#failures++
      this.#cause = describe(e)
      if (this.#failures === 2) log.warn({ brokers: this.#options.kafka.brokers, cause: this.#cause }, 'Kafka brokers unreachable: not ready until they answer')
      // A client that lost its connection is made anew, so the next check starts clean. Not
      // awaited: disconnecting a client whose connect hangs waits for that connect.
      void this.#drop()
    } finally {
      clearTimeout(timer)
      this.#checking = false
    }
  }

  async #drop(): Promise<void> {
    const admin = this.#admin
    this.#admin = undefined
    await admin?.close().catch(() => undefined)
  }
}
