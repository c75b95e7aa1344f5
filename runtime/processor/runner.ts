import type { Product } from '../product/load.ts'
import { loadTransform } from '../product/load.ts'
import type { Runtime } from '../runtime.ts'
import { moduleLogger } from '../logger.ts'
import { Processor, ensureOutputs } from './processor.ts'
import type { RunnableProduct } from './runnable.ts'
import { ThreadedProcessor } from './threads/threaded.ts'
import { SnapshotCompactor } from '../compactor/compactor.ts'
import { snapshotTargets } from '../compactor/targets.ts'

const logger = moduleLogger('runner')

export interface RunOptions {
  /** Stop once every product has read its inputs to the end and nothing moves any more. */
  untilIdle?: boolean
  signal?: AbortSignal
  onBatch?: (processor: RunnableProduct, records: number) => void
  /** Told when a runnable has started (its consumers joined, its stores open). */
  onStarted?: (processor: RunnableProduct) => void
}

/**
 * Builds one runnable per product (in mesh order): in this thread, or in `streamThreads` threads
 * (capped by the input partitions). Every product's outputs exist before any product starts, so
 * downstream inputs resolve.
 */
export async function createProcessors(runtime: Runtime, products: readonly Product[], options: { lake?: boolean } = {}): Promise<RunnableProduct[]> {
  for (const product of products) await ensureOutputs(product, runtime.log)
  const runnables: RunnableProduct[] = []
  for (const product of products) {
    const threads = Math.min(runtime.config.streamThreads, await streamPartitions(runtime, product))
    if (threads > 1) {
      runnables.push(new ThreadedProcessor(product, runtime, threads))
    } else {
      const processor = new Processor(product, await loadTransform(product), {
        log: runtime.log,
        codec: runtime.codec,
        stateDir: runtime.stateDir,
        piiSalt: runtime.config.pii.salt,
      })
      await processor.prepareOutputs()
      runnables.push(processor)
    }
    // The product's tables follow it: each compacts one of its output topics (and its dead letters).
    if (options.lake ?? runtime.config.lake.enabled)
      for (const target of snapshotTargets(product))
        runnables.push(new SnapshotCompactor(product, target, { log: runtime.log, serde: runtime.codec.serde, fastPaths: runtime.codec.fastPaths, stateDir: runtime.stateDir, catalog: runtime.catalog }))
  }
  return runnables
}

const streamPartitions = async (runtime: Runtime, product: Product): Promise<number> => {
  let most = 1
  for (const port of product.inputs)
    if (port.spec.mode === 'stream') most = Math.max(most, (await runtime.log.describeTopic(port.spec.topic))?.partitions.length ?? 1)
  return most
}

/**
 * Runs the products. With `untilIdle`, products run in waves in mesh order (each drained before
 * the next), which makes the result deterministic: a downstream product sees everything its
 * upstream produced from the same input. Otherwise they run concurrently until the signal aborts;
 * each finishes its batch and commits before returning.
 */
export async function runProcessors(processors: readonly RunnableProduct[], options: RunOptions = {}): Promise<void> {
  const started: RunnableProduct[] = []
  try {
    for (const p of processors) {
      await p.start()
      started.push(p)
      options.onStarted?.(p)
    }
    if (options.untilIdle) {
      for (;;) {
        let moved = 0
        for (const p of processors) {
          if (options.signal?.aborted) return
          for (let n = await p.step(0); n > 0; n = await p.step(0)) {
            moved += n
            options.onBatch?.(p, n)
          }
        }
        if (moved === 0 && processors.every((p) => p.idle())) return
      }
    }
    const stop = () => processors.forEach((p) => p.requestStop())
    if (options.signal?.aborted) return
    options.signal?.addEventListener('abort', stop, { once: true })
    await Promise.all(processors.map((p) => p.run((n) => options.onBatch?.(p, n))))
  } finally {
    for (const p of started) await p.close()
    logger.debug('processors closed')
  }
}
