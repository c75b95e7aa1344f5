/**
 * Counters of one running product. Plain maps on the hot path; exporters (CLI summary, Prometheus)
 * read them when asked.
 */
export class ProductMetrics {
  readonly recordsIn = new Map<string, number>()
  readonly recordsOut = new Map<string, number>()
  readonly deadLetters = new Map<string, number>()
  readonly skipped = new Map<string, number>()
  batches = 0
  lastCommitAt = 0
  /** Wall-clock milliseconds spent per batch, from poll result to commit acknowledged. */
  readonly batchMillis: number[] = []

  static add(map: Map<string, number>, key: string, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n)
  }

  static total(map: Map<string, number>): number {
    let t = 0
    for (const v of map.values()) t += v
    return t
  }

  observeBatch(ms: number): void {
    this.batches++
    this.lastCommitAt = Date.now()
    if (this.batchMillis.length >= 1024) this.batchMillis.shift()
    this.batchMillis.push(ms)
  }
}
