/**
 * Counters of one running product. Plain maps on the hot path; exporters (CLI summary, Prometheus)
 * read them when asked. Everything here is cumulative, so snapshots from stream threads add up.
 */
export class ProductMetrics {
  readonly recordsIn = new Map<string, number>()
  readonly recordsOut = new Map<string, number>()
  readonly deadLetters = new Map<string, number>()
  readonly skipped = new Map<string, number>()
  /** Records per codec stage and path: `decode/fast`, `encode/reference`, … */
  readonly codecPaths = new Map<string, number>()
  batches = 0
  lastCommitAt = 0
  /** Seconds per batch, from poll result to commit acknowledged. */
  readonly batchSeconds = new Histogram()

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
    this.batchSeconds.observe(ms / 1000)
  }

  /** Adds another's counts (a stream thread's snapshot) into this one. */
  merge(other: MetricsSnapshot): void {
    for (const [k, v] of other.recordsIn) ProductMetrics.add(this.recordsIn, k, v)
    for (const [k, v] of other.recordsOut) ProductMetrics.add(this.recordsOut, k, v)
    for (const [k, v] of other.deadLetters) ProductMetrics.add(this.deadLetters, k, v)
    for (const [k, v] of other.skipped) ProductMetrics.add(this.skipped, k, v)
    for (const [k, v] of other.codecPaths) ProductMetrics.add(this.codecPaths, k, v)
    this.batches += other.batches
    this.lastCommitAt = Math.max(this.lastCommitAt, other.lastCommitAt)
    this.batchSeconds.merge(other.batchSeconds)
  }

  snapshot(): MetricsSnapshot {
    return {
      recordsIn: [...this.recordsIn],
      recordsOut: [...this.recordsOut],
      deadLetters: [...this.deadLetters],
      skipped: [...this.skipped],
      codecPaths: [...this.codecPaths],
      batches: this.batches,
      lastCommitAt: this.lastCommitAt,
      batchSeconds: this.batchSeconds.snapshot(),
    }
  }
}

/** Structured-clone-safe form of ProductMetrics (sent by stream threads). */
export interface MetricsSnapshot {
  recordsIn: Array<[string, number]>
  recordsOut: Array<[string, number]>
  deadLetters: Array<[string, number]>
  skipped: Array<[string, number]>
  codecPaths: Array<[string, number]>
  batches: number
  lastCommitAt: number
  batchSeconds: HistogramSnapshot
}

export interface HistogramSnapshot {
  buckets: number[]
  counts: number[]
  sum: number
  count: number
}

/** A cumulative histogram with fixed upper bounds (Prometheus style: counts are per bucket, not cumulative). */
export class Histogram {
  static readonly defaultBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  readonly buckets: readonly number[]
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(buckets: readonly number[] = Histogram.defaultBuckets) {
    this.buckets = buckets
    this.counts = new Array<number>(buckets.length).fill(0)
  }

  observe(value: number): void {
    this.sum += value
    this.count++
    const i = this.buckets.findIndex((b) => value <= b)
    if (i >= 0) this.counts[i]!++
  }

  merge(other: HistogramSnapshot): void {
    other.counts.forEach((c, i) => (this.counts[i] = (this.counts[i] ?? 0) + c))
    this.sum += other.sum
    this.count += other.count
  }

  snapshot(): HistogramSnapshot {
    return { buckets: [...this.buckets], counts: [...this.counts], sum: this.sum, count: this.count }
  }
}
