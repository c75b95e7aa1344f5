import { createProcessors, runProcessors } from '../../processor/runner.ts'
import type { RunnableProduct } from '../../processor/runnable.ts'
import { ProductMetrics } from '../../processor/metrics.ts'
import { SnapshotCompactor } from '../../compactor/compactor.ts'
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
}

export interface MeshSummary {
  products: ProductSummary[]
  tables: TableSummary[]
}

/** Runs products; SIGINT/SIGTERM finish the batch in flight, commit, and close. With `env`, in that dev environment. */
export async function runMesh(ctx: CliContext, refs: readonly string[], opts: { untilIdle: boolean; label?: string; env?: string }): Promise<MeshSummary> {
  const runtime = await ctx.runtime()
  const { book, active, retired } = await activeMajors(runtime.log, ctx.products(refs))
  for (const p of retired) logger.warn({ product: p.base, major: p.major, retireAt: book.major(p.base, p.major)?.retireAt }, 'major retired: not started')
  const products = opts.env ? await Promise.all(active.map((p) => enterEnvironment(runtime, p, opts.env!))) : active
  const dirs = [...new Set(products.flatMap((p) => schemaDirsFor(p.dir, runtime.config.schemaDirs)))]
  await registerSchemaFiles(runtime.registry, dirs)
  const processors = await createProcessors(runtime, products)
  // A major retired while it runs stops once its grace period ends (its batch in flight commits).
  const watch = opts.untilIdle ? undefined : new VersionWatch(runtime.log, book, products, (p) => processors.filter((r) => r.product === p).forEach((r) => r.requestStop())).start()
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
    await runProcessors(processors, {
      untilIdle: opts.untilIdle,
      signal: abort.signal,
      onBatch: (p, n) => {
        if (p instanceof SnapshotCompactor) return
        done += n
        if (bar.active && Date.now() - measured > 1000) remeasure()
        bar.update(done)
      },
    })
  } finally {
    await watch?.stop()
    bar.done()
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
  }
  return {
    products: processors.filter((p) => !(p instanceof SnapshotCompactor)).map(summarize),
    tables: processors.filter((p): p is SnapshotCompactor => p instanceof SnapshotCompactor).map((c) => ({
      table: c.name,
      read: ProductMetrics.total(c.metrics.recordsIn),
      rows: c.lake.rows,
      commits: c.lake.commits,
      'audit failures': c.lake.auditFailures,
    })),
  }
}

export const summarize = (p: RunnableProduct): ProductSummary => ({
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
