import type { Product } from '../product/load.ts'
import type { ProductMetrics } from '../observability/metrics.ts'
import type { SloCounts } from '../observability/slo.ts'
import type { Runnable } from '../supervisor/runnable.ts'
import type { PiiAction } from './policy.ts'

/** A product's processor as the runner, metrics and discovery see it: in this thread, or in its stream threads. */
export interface ProcessorRunnable extends Runnable {
  readonly product: Product
  /** This process's counts (cumulative over restarts). */
  readonly metrics: ProductMetrics
  /** The validity SLO's counts over the product's life (they survive restarts of the process). */
  lifetime(): SloCounts
  /** Replaces an output port's PII policy for records encoded from now on. */
  setPolicy(port: string, pii: Readonly<Record<string, PiiAction>>): void
}
