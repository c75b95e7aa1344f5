import type { Command } from 'commander'
import { createRunnables, supervise, throwIfStopped, type StoppedProduct } from '../../runner.ts'
import type { ProcessorRunnable } from '../../processor/runnable.ts'
import { HeapWatch } from '../../observability/heap.ts'
import { ProductMetrics } from '../../observability/metrics.ts'
import { registerSchemaFiles } from '../../runtime.ts'
import { schemaDirsFor } from '../../spec/schemas.ts'
import { moduleLogger } from '../../logger.ts'
import type { CliContext } from '../context.ts'
import { print, printJson, progress, table } from '../output.ts'

const logger = moduleLogger('cli')

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run data products (all configured ones by default) until stopped, or until idle')
    .argument('[products...]', 'product folders or names')
    .option('--until-idle', 'stop once every input is read to its end and nothing moves')
    .option('--format <format>', 'summary format: text or json', 'text')
    .action(async (refs: string[], opts: { untilIdle?: boolean; format: string }) => {
      const summary = await runMesh(ctx, refs, { untilIdle: Boolean(opts.untilIdle) })
      if (opts.format === 'json') printJson(summary)
      else print(`${table(summary.products)}\n\n${table(summary.tables)}`)
      // The others ran to the end; the run still fails, naming what stopped.
      throwIfStopped(summary.stopped)
    })
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
 * A product that stops for good does not stop the others; the caller reports it (throwIfStopped).
 */
export async function runMesh(ctx: CliContext, refs: readonly string[], opts: { untilIdle: boolean }): Promise<MeshSummary> {
  const products = ctx.products(refs)
  const runtime = await ctx.runtime()
  const dirs = [...new Set(products.flatMap((p) => schemaDirsFor(p.dir, runtime.config.schemaDirs)))]
  await registerSchemaFiles(runtime.registry, dirs)
  const units = await createRunnables(runtime, products)
  const supervisor = supervise(units)
  const heap = new HeapWatch(runtime.config.heapWatermark)
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
  const bar = progress('processing')
  let total = 0
  try {
    await supervisor.run({
      untilIdle: opts.untilIdle,
      signal: abort.signal,
      onBatch: (_p, n) => {
        total += n
        bar.update(`${total} records`)
      },
    })
  } finally {
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
