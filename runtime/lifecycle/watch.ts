import type { Consumer, Log } from '../log/log.ts'
import { moduleLogger } from '../logger.ts'
import type { Product } from '../product/load.ts'
import { VERSIONS_TOPIC, type VersionBook } from './book.ts'

const logger = moduleLogger('versions')

/**
 * Follows the version book while products run, so that what `tributary promote` and `retire`
 * write reaches every container: the book is kept current (discovery, query and subscriptions
 * resolve plain names with it), and a running major that is retired is handed to `onRetired` once
 * its grace period has passed (the caller stops it: the batch in flight finishes and commits).
 */
export class VersionWatch {
  readonly #log: Log
  readonly #book: VersionBook
  readonly #running: Set<Product>
  readonly #onRetired: (product: Product) => void
  #consumer: Consumer | undefined
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<void> = Promise.resolve()

  constructor(log: Log, book: VersionBook, running: readonly Product[], onRetired: (product: Product) => void) {
    this.#log = log
    this.#book = book
    this.#running = new Set(running)
    this.#onRetired = onRetired
  }

  start(intervalMs = 2000): this {
    this.#timer = setInterval(() => {
      this.#ticking = this.#ticking.then(() => this.tick()).catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'reading the version book failed; retrying'))
    }, intervalMs)
    this.#timer.unref()
    return this
  }

  /** Reads what was appended to the book since the last tick and stops retired majors. */
  async tick(now = Date.now()): Promise<void> {
    if (!this.#consumer && (await this.#log.describeTopic(VERSIONS_TOPIC)))
      this.#consumer = this.#log.consumer({ group: null, topics: [VERSIONS_TOPIC], from: { kind: 'earliest' } })
    if (this.#consumer) for (let batch = await this.#consumer.poll({ maxWaitMs: 0 }); batch.length > 0; batch = await this.#consumer.poll({ maxWaitMs: 0 })) batch.forEach((r) => this.#book.apply(r))
    for (const p of [...this.#running])
      if (this.#book.retired(p.base, p.major, now)) {
        this.#running.delete(p)
        logger.info({ product: p.base, major: p.major, retireAt: this.#book.major(p.base, p.major)?.retireAt }, 'major retired: stopping it')
        this.#onRetired(p)
      }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#ticking.catch(() => undefined)
    await this.#consumer?.close()
    this.#consumer = undefined
  }
}
