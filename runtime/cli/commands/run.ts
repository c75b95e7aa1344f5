import { createRunnables, supervise, throwIfStopped, type StoppedProduct } from '../../runner.ts'
import type { ProcessorRunnable } from '../../processor/runnable.ts'
import { HeapWatch } from '../../observability/heap.ts'
import { ProductMetrics } from '../../observability/metrics.ts'
import { registerSchemaFiles } from '../../runtime.ts'
import { schemaDirsFor } from '../../spec/schemas.ts'
import { moduleLogger } from '../../logger.ts'
import { activeMajors } from '../../lifecycle/book.ts'
import { VersionWatch } from '../../lifecycle/watch.ts'
import { enterEnvironment } from '../../lifecycle/environments.ts'
import type { CliContext } from '../context.ts'
import type { Log } from '../../log/log.ts'
import type { Product } from '../../product/load.ts'
import { print, printJson, table } from '../output.ts'
import { progressBar } from '../progress.ts'

const logger = moduleLogger('cli')

export async function run(ctx: CliContext, refs: string[], opts: { untilIdle?: boolean; env?: string; format: string }): Promise<void> {
  const summary = await runMesh(ctx, refs, { untilIdle: Boolean(opts.untilIdle), ...(opts.env ? { env: opts.env } : {}) })
  if (opts.format === 'json') printJson(summary)
  else print(`${table(summary.products)}\n\n${table(summary.tables)}`)
  // The others ran to the end; the run still fails, naming what stopped.
  throwIfStopped(summary.stopped)
}

export interface ProductSummary extends Record<string, unknown> {
  product: string
  in: number
  out: number
  dlq: number
  skipped: number
}

export interface TableSummary extends Record<string, unknown> {
  table: string
  read: number
  rows: number
  commits: number
  'audit failures': number
  /** Records the table could not hold, now in the product's dead letters. */
  'dead letters': number
}

export interface MeshSummary {
  products: ProductSummary[]
  tables: TableSummary[]
  /** Products a failure stopped (the others ran on), and why. */
  stopped: StoppedProduct[]
}

/**
 * Runs products under a supervisor; SIGINT/SIGTERM finish the batch in flight, commit, and close.
 * With `env`, in that dev environment. A product that stops for good does not stop the others; the
 * caller reports it (throwIfStopped).
 */
export async function runMesh(ctx: CliContext, refs: readonly string[], opts: { untilIdle: boolean; label?: string; env?: string }): Promise<MeshSummary> {
  const runtime = await ctx.runtime()
  const { book, active, retired } = await activeMajors(runtime.log, ctx.products(refs))
  for (const p of retired) logger.warn({ product: p.base, major: p.major, retireAt: book.major(p.base, p.major)?.retireAt }, 'major retired: not started')
  const products = opts.env ? await Promise.all(active.map((p) => enterEnvironment(runtime, p, opts.env!))) : active
  const dirs = [...new Set(products.flatMap((p) => schemaDirsFor(p.dir, runtime.config.schemaDirs)))]
  await registerSchemaFiles(runtime.registry, dirs)
  const units = await createRunnables(runtime, products)
  const supervisor = supervise(units)
  const heap = new HeapWatch(runtime.config.heapWatermark)
  const processors = new Set<unknown>(units.map((u) => u.processor))
  // A major retired while it runs stops once its grace period ends (its batch in flight commits).
  const watch = opts.untilIdle ? undefined : new VersionWatch(runtime.log, book, products, (p) => supervisor.retire(p.name)).start()
  const abort = new AbortController()
  const onSignal = (signal: string) => {
    if (abort.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(130)
    }
    logger.info({ signal }, 'stopping: finishing the current batch')
    abort.abort()
  }
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal)
  // The bar counts input records of the products (not of their tables) against what their groups
  // have left to read, re-measured every second: upstream products add to downstream inputs.
  const bar = progressBar(opts.label ?? (opts.env ? `processing (environment ${opts.env})` : 'processing'))
  let done = 0
  let measured = 0
  const remeasure = () => {
    measured = Date.now()
    void unread(runtime.log, products).then((left) => bar.update(done, done + left), () => undefined)
  }
  if (bar.active) remeasure()
  try {
    await supervisor.run({
      untilIdle: opts.untilIdle,
      signal: abort.signal,
      onBatch: (p, n) => {
        if (!processors.has(p)) return
        done += n
        if (bar.active && Date.now() - measured > 1000) remeasure()
        bar.update(done)
      },
    })
  } finally {
    await watch?.stop()
    bar.done()
    heap.close()
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
  }
  const summary: MeshSummary = {
    products: units.map((u) => summarize(u.processor)),
    tables: units.flatMap((u) =>
      u.sinks.map((s) => ({
        table: s.name,
        read: s.stats.read,
        rows: s.stats.rows,
        commits: s.stats.commits,
        'audit failures': s.stats.auditFailures,
        'dead letters': ProductMetrics.total(s.stats.deadLetters),
      })),
    ),
    stopped: supervisor.stopped().map(({ product, runnable, code, message }) => ({ product, runnable, code, message })),
  }
  return summary
}

export const summarize = (p: ProcessorRunnable): ProductSummary => ({
  product: p.name,
  in: ProductMetrics.total(p.metrics.recordsIn),
  out: ProductMetrics.total(p.metrics.recordsOut),
  dlq: ProductMetrics.total(p.metrics.deadLetters),
  skipped: ProductMetrics.total(p.metrics.skipped),
})

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
