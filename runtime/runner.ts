import { SnapshotCompactor } from './compactor/compactor.ts'
import { snapshotTargets } from './compactor/targets.ts'
import { TributaryError, type ErrorCode } from './errors.ts'
import { SloFigures } from './observability/slo.ts'
import { Processor, ensureOutputs, runtimeOptions } from './processor/processor.ts'
import type { ProcessorRunnable } from './processor/runnable.ts'
import { ThreadedProcessor } from './processor/threads/threaded.ts'
import type { Product } from './product/load.ts'
import type { Runtime } from './runtime.ts'
import type { Sink } from './sink/sink.ts'
import type { RestartPolicy } from './supervisor/restart.ts'
import { Supervisor, type SuperviseOptions } from './supervisor/supervisor.ts'

/** What runs for one product: its processor, and a sink per lake table (its outputs with a snapshot, its dead letters). */
export interface ProductRunnables {
  readonly product: Product
  readonly processor: ProcessorRunnable
  readonly sinks: readonly Sink[]
}

/**
 * Builds every product's runnables (in mesh order): the processor in this thread, or in
 * `streamThreads` threads (capped by the input partitions), and its sinks. Every product's output
 * topics exist before any product starts, so downstream inputs resolve. Nothing of a product's own
 * code runs here: its transform loads when its processor starts, under the supervisor, so a product
 * that cannot start stops alone.
 */
export async function createRunnables(runtime: Runtime, products: readonly Product[], options: { lake?: boolean } = {}): Promise<ProductRunnables[]> {
  for (const product of products) await ensureOutputs(product, runtime.log)
  const out: ProductRunnables[] = []
  for (const product of products) {
    const figures = new SloFigures(runtime.stateDir, product.name)
    const threads = Math.min(runtime.config.streamThreads, await streamPartitions(runtime, product))
    let processor: ProcessorRunnable
    if (threads > 1) {
      processor = new ThreadedProcessor(product, runtime, threads, figures)
    } else {
      processor = new Processor(product, { ...runtimeOptions(runtime), figures })
    }
    const sinks =
      (options.lake ?? runtime.config.lake.enabled)
        ? snapshotTargets(product).map((target) => new SnapshotCompactor(product, target, { log: runtime.log, serde: runtime.codec.serde, fastPaths: runtime.codec.fastPaths, stateDir: runtime.stateDir, catalog: runtime.catalog }))
        : []
    out.push({ product, processor, sinks })
  }
  return out
}

const streamPartitions = async (runtime: Runtime, product: Product): Promise<number> => {
  let most = 1
  for (const port of product.inputs)
    if (port.spec.mode === 'stream') most = Math.max(most, (await runtime.log.describeTopic(port.spec.topic))?.partitions.length ?? 1)
  return most
}

/** A supervisor over the products, each one's processor first, then its sinks. */
export const supervise = (units: readonly ProductRunnables[], policy: Partial<RestartPolicy> = {}): Supervisor =>
  new Supervisor(
    units.map((u) => ({ name: u.product.name, runnables: [u.processor, ...u.sinks] })),
    policy,
  )

export interface RunOptions extends SuperviseOptions {
  restart?: Partial<RestartPolicy>
}

/**
 * Runs products under a supervisor until the signal aborts, or with `untilIdle` until nothing
 * moves (in waves, in mesh order, which makes the result deterministic: a downstream product sees
 * everything its upstream produced from the same input). A product that stopped does not stop the
 * others; once they are done, its error is thrown, naming it.
 */
export async function runProducts(units: readonly ProductRunnables[], options: RunOptions = {}): Promise<void> {
  const supervisor = supervise(units, options.restart)
  await supervisor.run(options)
  throwIfStopped(supervisor.stopped())
}

/** A product a failure stopped: which runnable failed, and how. */
export interface StoppedProduct {
  product: string
  runnable: string
  code: ErrorCode
  message: string
}

/** The first stopped product's failure as an error naming the product (and the others that stopped). */
export function throwIfStopped(stopped: readonly StoppedProduct[]): void {
  const first = stopped[0]
  if (!first) return
  const others = stopped.length > 1 ? ` (also stopped: ${stopped.slice(1).map((s) => `${s.product}, ${s.code}`).join('; ')})` : ''
  throw new TributaryError(first.code, `product ${first.product} stopped (${first.runnable}): ${first.message}${others}`, {
    ...('error' in first ? { cause: first.error } : {}),
    details: { product: first.product, runnable: first.runnable },
  })
}
