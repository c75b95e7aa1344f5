import type { Product } from '../product/load.ts'
import type { ProductMetrics } from './metrics.ts'
import type { PiiAction } from './policy.ts'

/** What the runner drives: one product, in this thread or in several stream threads. */
export interface RunnableProduct {
  readonly name: string
  readonly product: Product
  readonly metrics: ProductMetrics
  start(): Promise<void>
  /** One batch (per thread); the number of input records handled, 0 when idle. */
  step(maxWaitMs?: number): Promise<number>
  idle(): boolean
  /** Processes until requestStop; the batch in flight finishes and commits. */
  run(onBatch?: (records: number) => void): Promise<void>
  requestStop(): void
  close(): Promise<void>
  /** Replaces an output port's PII policy for records encoded from now on (processors only). */
  setPolicy?(port: string, pii: Readonly<Record<string, PiiAction>>): void
}
