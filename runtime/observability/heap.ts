import v8 from 'node:v8'
import { moduleLogger } from '../logger.ts'

const logger = moduleLogger('heap')

/**
 * Warns before the V8 heap runs out. A transform that leaks (a growing module-level cache, say)
 * otherwise ends in an out-of-memory abort with no warning; this logs once when the used heap
 * crosses `watermark` (a share of the heap limit), again when it falls back, and sets a gauge
 * (`tributary_heap_watermark_exceeded`) that alerting can watch. Checked on an unref'd timer, so it
 * keeps nothing alive. Main thread only: stream threads have heaps of their own.
 */
export class HeapWatch {
  readonly watermark: number
  readonly limitBytes: number
  usedBytes = 0
  exceeded = false
  readonly #timer: NodeJS.Timeout

  constructor(watermark: number, intervalMs = 1_000) {
    this.watermark = watermark
    this.limitBytes = v8.getHeapStatistics().heap_size_limit
    this.check()
    this.#timer = setInterval(() => this.check(), intervalMs).unref()
  }

  get usedRatio(): number {
    return this.usedBytes / this.limitBytes
  }

  check(): void {
    this.usedBytes = v8.getHeapStatistics().used_heap_size
    const over = this.usedRatio >= this.watermark
    if (over === this.exceeded) return
    this.exceeded = over
    const fields = { usedMiB: Math.round(this.usedBytes / 2 ** 20), limitMiB: Math.round(this.limitBytes / 2 ** 20), watermark: this.watermark }
    if (over) logger.warn(fields, 'heap above its watermark: the process may run out of memory (a leaking transform?)')
    else logger.info(fields, 'heap back below its watermark')
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
