import os from 'node:os'
import { AUDIT_BRANCH } from '../../compactor/compactor.ts'
import { snapshotTargets } from '../../compactor/targets.ts'
import { TributaryError, isTributaryError } from '../../errors.ts'
import { MAIN_BRANCH } from '../../lake/index.ts'
import { backfillShare, majorsOf, readVersionBook, writePromotion, writeRetirement } from '../../lifecycle/book.ts'
import { parseMajor } from '../../lifecycle/versions.ts'
import type { Product } from '../../product/load.ts'
import type { Runtime } from '../../runtime.ts'
import { parseDuration } from '../../util/duration.ts'
import type { CliContext } from '../context.ts'
import { print, printJson, table } from '../output.ts'

const actor = (): string => process.env.TRIBUTARY_ACTOR ?? os.userInfo().username

function major(text: string): number {
  const m = parseMajor(text)
  if (m === undefined) throw new TributaryError('TRIB_USAGE', `version ${JSON.stringify(text)}: expected a major version such as 2 or v2`)
  return m
}

/**
 * `tributary promote <product> <major>`: its plain names (discovery, catalog, query, HTTP) serve
 * this major from now on. It must have backfilled its inputs up to where they ended when it first
 * started, and every table it has written must have passed its audit (main at the audit branch's
 * head); --force skips both checks.
 */
export async function promote(ctx: CliContext, name: string, version: string, opts: { force?: boolean }): Promise<void> {
  const m = major(version)
  const runtime = await ctx.runtime()
  const book = await readVersionBook(runtime.log)
  const product = ctx.products([]).find((p) => p.base === name && p.major === m)
  if (!opts.force) {
    if (!product)
      throw new TributaryError('TRIB_PRODUCT_NOT_FOUND', `${name} v${m} is not among the configured products: promote reads its spec to check its backfill and its tables (or pass --force)`)
    const backfill = await backfillShare(runtime.log, product, book.major(name, m))
    if (backfill.done < backfill.total)
      throw new TributaryError('TRIB_VERSION_STATE', `${name} v${m} is still backfilling: ${backfill.done} of ${backfill.total} input records (run it until it is idle, or pass --force)`)
    const problems = await unpublishedTables(runtime, product)
    if (problems.length > 0) throw new TributaryError('TRIB_VERSION_STATE', `${name} v${m}: ${problems.join('; ')} (see tributary lake audit, or pass --force)`)
  }
  const before = book.served(name, ctx.products([]).filter((p) => p.base === name).map((p) => p.major))
  await writePromotion(runtime.log, book, name, m, actor())
  print(`${name}: v${m} is promoted${before !== undefined && before !== m ? ` (was v${before})` : ''}. Discovery, the catalog, query and the HTTP ports serve it under the plain names now.`)
  if (before !== undefined && before !== m)
    print(`v${before} keeps running for its consumers until \`tributary retire ${name} ${before}\`; its topics and tables stay readable as ${name}.v${before}.`)
}

/** The tables of a major that main does not publish yet: written but never audited, or whose last audit failed. */
async function unpublishedTables(runtime: Runtime, product: Product): Promise<string[]> {
  const problems: string[] = []
  for (const t of snapshotTargets(product).filter((t) => t.kind === 'port')) {
    try {
      const md = (await runtime.catalog.loadTable(t.identifier)).metadata
      const main = md.refs[MAIN_BRANCH]?.['snapshot-id']
      const audit = md.refs[AUDIT_BRANCH]?.['snapshot-id']
      if (main === undefined) problems.push(`table ${t.name} has no published snapshot (its audit has not passed)`)
      else if (audit !== undefined && audit !== main) problems.push(`table ${t.name}: main is behind the audit branch (the last audit failed)`)
    } catch (e) {
      if (!isTributaryError(e, 'TRIB_LAKE_NOT_FOUND')) throw e
      const records = ((await runtime.log.describeTopic(t.topic))?.partitions ?? []).reduce((n, p) => n + p.end - p.start, 0)
      if (records > 0) problems.push(`table ${t.name} does not exist yet, but ${t.topic} holds ${records} records`)
    }
  }
  return problems
}

/**
 * `tributary retire <product> <major> [--after 7d]`: the major stops (now, or after the grace
 * period) wherever it runs, and does not start again; its topics and tables stay as they are.
 */
export async function retire(ctx: CliContext, name: string, version: string, opts: { after?: string }): Promise<void> {
  const m = major(version)
  const grace = opts.after === undefined ? 0 : parseDuration(opts.after)
  if (grace === undefined) throw new TributaryError('TRIB_USAGE', `--after ${JSON.stringify(opts.after)}: expected a duration such as 30s, 12h or 7d`)
  const runtime = await ctx.runtime()
  const book = await readVersionBook(runtime.log)
  const at = new Date(Date.now() + grace)
  await writeRetirement(runtime.log, book, name, m, at, actor(), ctx.products([]).filter((p) => p.base === name).map((p) => p.major))
  const retireAt = book.major(name, m)!.retireAt!
  print(`${name}: v${m} ${Date.parse(retireAt) <= Date.now() ? 'is retired' : `retires at ${retireAt}`}. Where it runs it finishes its batch in flight and stops; it does not start again.`)
  print(`Its history stays readable: topics as they are, tables as ${name}.v${m}.<port> in tributary query.`)
}

/** `tributary versions [product]`: every major, its status, backfill and topics. */
export async function versions(ctx: CliContext, name: string | undefined, opts: { format: string }): Promise<void> {
  const runtime = await ctx.runtime()
  const book = await readVersionBook(runtime.log)
  const products = ctx.products([])
  const bases = name ? [name] : [...new Set([...products.map((p) => p.base), ...[...book.majors.values()].map((m) => m.product)])].sort()
  const rows = []
  for (const base of bases)
    for (const v of majorsOf(book, products, base)) {
      const p = products.find((x) => x.base === base && x.major === v.major)
      const backfill = p ? await backfillShare(runtime.log, p, book.major(base, v.major)) : undefined
      rows.push({
        product: base,
        major: v.major,
        version: v.version,
        instance: v.instance,
        status: v.status,
        backfill: backfill && backfill.total > 0 ? `${Math.floor((backfill.done / backfill.total) * 100)}%` : backfill ? 'done' : null,
        topics: Object.values(v.topics).join(', ') || null,
        'retire at': v.retireAt,
      })
    }
  if (opts.format === 'json') printJson(rows)
  else print(table(rows))
}
