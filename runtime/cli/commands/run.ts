import type { Command } from 'commander'
import { createProcessors, runProcessors } from '../../processor/runner.ts'
import type { RunnableProduct } from '../../processor/runnable.ts'
import { ProductMetrics } from '../../processor/metrics.ts'
import { SnapshotCompactor } from '../../compactor/compactor.ts'
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
}

export interface MeshSummary {
  products: ProductSummary[]
  tables: TableSummary[]
}

/** Runs products; SIGINT/SIGTERM finish the batch in flight, commit, and close. */
export async function runMesh(ctx: CliContext, refs: readonly string[], opts: { untilIdle: boolean }): Promise<MeshSummary> {
  const products = ctx.products(refs)
  const runtime = await ctx.runtime()
  const dirs = [...new Set(products.flatMap((p) => schemaDirsFor(p.dir, runtime.config.schemaDirs)))]
  await registerSchemaFiles(runtime.registry, dirs)
  const processors = await createProcessors(runtime, products)
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
    await runProcessors(processors, {
      untilIdle: opts.untilIdle,
      signal: abort.signal,
      onBatch: (_p, n) => {
        total += n
        bar.update(`${total} records`)
      },
    })
  } finally {
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
