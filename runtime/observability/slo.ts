import fs from 'node:fs'
import path from 'node:path'
import { moduleLogger } from '../logger.ts'
import { ProductMetrics } from './metrics.ts'

const logger = moduleLogger('slo')

/** The counts the validity SLO is computed from. */
export interface SloCounts {
  recordsIn: number
  deadLetters: number
}

/** At most one write per this many ms while running (and one at close). */
const SAVE_EVERY_MS = 1_000

/**
 * The validity SLO's counts over the product's whole life, not one process's: kept in the
 * product's state folder (`<stateDir>/<product>/slo.json`) and added to on every save. A crash
 * loses at most the last second of counts (the SLO is a share, so that barely moves it); a replay
 * counts reprocessed records again, as the process metrics do.
 */
export class SloFigures {
  readonly #file: string
  #base: SloCounts | undefined
  /** What of the current metrics is already in the file. */
  #saved: SloCounts = { recordsIn: 0, deadLetters: 0 }
  #savedAt = 0

  constructor(stateDir: string, product: string) {
    this.#file = path.join(stateDir, product, 'slo.json')
  }

  /** Persisted counts plus what `metrics` counted since. */
  total(metrics: ProductMetrics): SloCounts {
    const base = this.#load()
    const now = counts(metrics)
    return { recordsIn: base.recordsIn + now.recordsIn - this.#saved.recordsIn, deadLetters: base.deadLetters + now.deadLetters - this.#saved.deadLetters }
  }

  /** Saves when the last save is old enough (`force`: now). Never throws: counts are not worth stopping a product for. */
  save(metrics: ProductMetrics, force = false): void {
    const at = Date.now()
    if (!force && at - this.#savedAt < SAVE_EVERY_MS) return
    this.#savedAt = at
    const total = this.total(metrics)
    try {
      fs.mkdirSync(path.dirname(this.#file), { recursive: true })
      const tmp = `${this.#file}.${process.pid}.tmp`
      fs.writeFileSync(tmp, JSON.stringify(total))
      fs.renameSync(tmp, this.#file)
      this.#base = total
      this.#saved = counts(metrics)
    } catch (e) {
      logger.warn({ file: this.#file, err: (e as Error).message }, 'could not save the SLO counts')
    }
  }

  #load(): SloCounts {
    if (this.#base) return this.#base
    try {
      const read = JSON.parse(fs.readFileSync(this.#file, 'utf8')) as Partial<SloCounts>
      this.#base = { recordsIn: Number(read.recordsIn) || 0, deadLetters: Number(read.deadLetters) || 0 }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ file: this.#file, err: (e as Error).message }, 'SLO counts unreadable: counting from zero')
      this.#base = { recordsIn: 0, deadLetters: 0 }
    }
    return this.#base
  }
}

const counts = (m: ProductMetrics): SloCounts => ({ recordsIn: ProductMetrics.total(m.recordsIn), deadLetters: ProductMetrics.total(m.deadLetters) })
