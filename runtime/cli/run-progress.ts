import { backfillShare, type VersionBook } from '../lifecycle/book.ts'
import type { Log } from '../log/log.ts'
import type { Product } from '../product/load.ts'
import { progressBar, type Progress, type ProgressOptions } from './progress.ts'

/**
 * The progress bar of `run` (stderr, on a terminal only; see progress.ts).
 *
 * While a new major backfills (its product has an older major in the version book, and its
 * committed offsets are short of the target recorded when it first started: where its inputs
 * ended then), the bar is a backfill bar toward that known end: `backfill user-profiles.v2 […] 40%
 * 1,600/4,000 records`. It is measured from the group's committed offsets, so a run resumed after a
 * crash starts where the last one committed. Once every target is reached, and for other runs, the
 * bar counts the records processed against what the groups have left to read, re-measured every
 * second (upstream products add to downstream inputs).
 */
export class RunProgress {
  readonly #log: Log
  readonly #products: readonly Product[]
  readonly #label: string
  readonly #options: ProgressOptions
  #backfills: Array<{ product: Product; record: NonNullable<ReturnType<VersionBook['major']>> }>
  #bar: Progress
  #done = 0
  #measured = 0

  constructor(log: Log, book: VersionBook, products: readonly Product[], label: string, options: ProgressOptions = {}) {
    this.#log = log
    this.#products = products
    this.#label = label
    this.#options = options
    this.#backfills = products.flatMap((product) => {
      const record = book.major(product.base, product.major)
      const newer = book.majorsOf(product.base).some((m) => m.major < product.major)
      return record && newer && record.backfillTo.some((t) => t.offset > 0) ? [{ product, record }] : []
    })
    this.#bar = this.#backfills.length > 0 ? progressBar(`backfill ${this.#backfills.map((b) => b.product.name).join(', ')}`, options) : progressBar(label, options)
  }

  get active(): boolean {
    return this.#bar.active
  }

  /** Draws the first frame: a resumed backfill shows what is already done; one already complete shows nothing. */
  async start(): Promise<void> {
    if (!this.#bar.active) return
    const complete = []
    for (const b of this.#backfills) {
      const share = await backfillShare(this.#log, b.product, b.record)
      if (share.done >= share.total) complete.push(b)
    }
    if (complete.length > 0 && complete.length === this.#backfills.length) {
      this.#backfills = []
      this.#bar = progressBar(this.#label, this.#options)
    }
    await this.#measure()
  }

  /** A batch of `records` input records of one of the products was processed. */
  batch(records: number): void {
    if (!this.#bar.active) return
    this.#done += records
    if (Date.now() - this.#measured > 1000) void this.#measure().catch(() => undefined)
    else if (this.#backfills.length === 0) this.#bar.update(this.#done)
  }

  /** Clears the bar; a backfill leaves a last line: reached, or how far it got. */
  async done(): Promise<void> {
    if (this.#bar.active && this.#backfills.length > 0) {
      const { done, total } = await this.#backfillShare().catch(() => ({ done: 0, total: 0 }))
      if (total > 0) return this.#bar.done(done >= total ? reached(total) : `stopped at ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} records (the next run resumes there)`)
    }
    this.#bar.done()
  }

  async #backfillShare(): Promise<{ done: number; total: number }> {
    let done = 0
    let total = 0
    for (const { product, record } of this.#backfills) {
      const share = await backfillShare(this.#log, product, record)
      done += share.done
      total += share.total
    }
    return { done, total }
  }

  async #measure(): Promise<void> {
    this.#measured = Date.now()
    if (this.#backfills.length > 0) {
      const { done, total } = await this.#backfillShare()
      this.#bar.update(done, total)
      if (done < total) return
      this.#bar.done(reached(total))
      this.#backfills = []
      this.#bar = progressBar(this.#label, this.#options)
    }
    const left = await unread(this.#log, this.#products)
    this.#bar.update(this.#done, this.#done + left)
  }
}

const reached = (total: number) => `done: ${total.toLocaleString('en-US')} records, the end of its inputs when it first started`

/** Records the products' consumer groups have yet to read on their stream inputs. */
export async function unread(log: Log, products: readonly Product[]): Promise<number> {
  let left = 0
  for (const p of products) {
    const committed = new Map((await log.groupOffsets(p.name)).map((o) => [`${o.topic}/${o.partition}`, o.offset]))
    for (const topic of new Set(p.inputs.filter((i) => i.spec.mode === 'stream').map((i) => i.spec.topic)))
      for (const part of (await log.describeTopic(topic))?.partitions ?? []) left += Math.max(0, part.end - (committed.get(`${topic}/${part.partition}`) ?? part.start))
  }
  return left
}
