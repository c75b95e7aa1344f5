import v8 from 'node:v8'
import { moduleLogger } from '../logger.ts'

const logger = moduleLogger('heap')
const YOUNG_GENERATION_BYTES = 48 * 2 ** 20

/**
 * Warns before the V8 heap runs out. A transform that leaks (a growing module-level cache, say)
 * otherwise ends in an out-of-memory abort with no warning; this logs once when the used heap
 * crosses `watermark` (a share of the limit), again when it falls back, and sets a gauge
 * (`tributary_heap_watermark_exceeded`) that alerting can watch. The limit is what the old
 * generation may grow to, where V8 runs out: heap_size_limit less the young generation's 48 MiB
 * (3 semi-spaces of 16 MiB, V8's default on 64-bit; at most a third of a small heap). Checked every
 * 250 ms on an unref'd timer, so it keeps nothing alive. Main thread only: stream threads have
 * heaps of their own.
 */
export class HeapWatch {
  readonly watermark: number
  readonly limitBytes: number
  usedBytes = 0
  exceeded = false
  readonly #timer: NodeJS.Timeout

  constructor(watermark: number, intervalMs = 250) {
    this.watermark = watermark
    const limit = v8.getHeapStatistics().heap_size_limit
    this.limitBytes = limit - Math.min(YOUNG_GENERATION_BYTES, limit / 3)
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
