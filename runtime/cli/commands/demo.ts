import fs from 'node:fs'
import path from 'node:path'
import { generateSampleData, playsTopic, usersTopic } from '../../../products/sample-data/generate.ts'
import { AUDIT_BRANCH } from '../../compactor/compactor.ts'
import { TributaryError } from '../../errors.ts'
import { MAIN_BRANCH } from '../../lake/index.ts'
import { lakeTables, runQuery } from '../../query/query.ts'
import type { CliContext } from '../context.ts'
import { print, table } from '../output.ts'
import { progressBar } from '../progress.ts'
import { formatResult } from './query.ts'
import { throwIfStopped } from '../../runner.ts'
import { runMesh, type MeshSummary } from './run.ts'
import { minOf } from '../../util/arrays.ts'

const marker = 'demo.json'
/** The example mesh ships with the package, so `demo` runs it from any folder. */
const examples = path.resolve(import.meta.dirname, '../../../products')
const firstDayTag = 'first-day'

export async function demo(ctx: CliContext, opts: { users: number; plays: number; seed: number; reset?: boolean }): Promise<void> {
  ctx.quietLogs()
  const dataDir = path.resolve(ctx.config().dataDir)
  resetDataDir(dataDir, Boolean(opts.reset))
  const runtime = await ctx.runtime()
  for (const topic of [usersTopic, playsTopic]) await runtime.log.ensureTopic(topic, { partitions: 3 })
  const generating = progressBar('generating sample data')
  generating.update(0)
  const { records, summary } = await generateSampleData(runtime.registry, { users: opts.users, plays: opts.plays, seed: opts.seed })
  generating.done()
  fs.writeFileSync(path.join(dataDir, marker), JSON.stringify({ createdAt: new Date().toISOString(), ...opts, summary }, null, 2))

  // Two runs, a simulated day apart, so the lake holds history to travel back to.
  const cut = minOf(records.map((r) => r.timestamp ?? 0)) + 86_400_000
  await runtime.log.append(records.filter((r) => (r.timestamp ?? 0) < cut))
  const first = await runMesh(ctx, [examples], { untilIdle: true, label: 'day 1' })
  throwIfStopped(first.stopped)
  const tables = await lakeTables(runtime.catalog)
  for (const t of tables.filter((t) => t.port !== 'dlq')) {
    const lake = await runtime.catalog.loadTable(t.identifier)
    if (lake.metadata.refs[MAIN_BRANCH]) await lake.tag(firstDayTag)
  }
  await runtime.log.append(records.filter((r) => (r.timestamp ?? 0) >= cut))
  const second = await runMesh(ctx, [examples], { untilIdle: true, label: 'day 2' })
  throwIfStopped(second.stopped)

  const rel = path.relative(process.cwd(), dataDir) || '.'
  const invalid = Object.values(summary.invalid).reduce((n, m) => n + Object.values(m).reduce((a, b) => a + b, 0), 0)
  print(`Sample data: ${summary.records[usersTopic]} change events on ${usersTopic}, ${summary.records[playsTopic]} play events on ${playsTopic}`)
  print(`(${invalid} of them invalid on purpose: they go to the dead-letter topics)\n`)
  print(table(merge(first, second).products))
  print()
  print(table(merge(first, second).tables))

  const top = "SELECT podcast_id, plays, listeners, top_country FROM top_podcasts.daily_plays WHERE day = DATE '2026-11-02' ORDER BY plays DESC, podcast_id LIMIT 5"
  print(`\nThe top podcasts of 2026-11-02, from the lake:\n  npx tributary query "${top}"\n`)
  print(indent(formatResult(await runQuery(runtime.catalog, tables, top), 'table')))
  const plans = 'SELECT plan, count(*) AS users FROM user_profiles.profiles GROUP BY plan ORDER BY plan'
  print(`\nTime travel: users per plan after the first day (tag ${firstDayTag}) and now:\n  npx tributary query "${plans}" --as-of ${firstDayTag}\n`)
  const then = await runQuery(runtime.catalog, tables, plans, { asOf: { ref: firstDayTag } })
  const now = await runQuery(runtime.catalog, tables, plans)
  print(indent(table(now.rows.map((r) => ({ plan: r[0], [firstDayTag]: then.rows.find((x) => x[0] === r[0])?.[1] ?? 0, now: r[1] })))))

  print(`\nState is in ${rel}/ (log, registry, state, lake). Try:`)
  for (const line of [
    'npx tributary topics                                     # partitions, end offsets, lag per group',
    'npx tributary tail user-profiles.profiles --from earliest',
    'npx tributary tail user-profiles.dlq                     # why each bad record was rejected',
    'npx tributary lake snapshots user-profiles.profiles',
    'npx tributary query "SELECT * FROM user_profiles.dlq"',
    `npx tributary lake audit top-podcasts.daily-plays        # the quality gate (${AUDIT_BRANCH} branch → main)`,
  ])
    print(`  ${line}`)
}

const indent = (text: string): string => text.replace(/^/gm, '  ')

function merge(a: MeshSummary, b: MeshSummary): MeshSummary {
  const sum = <T extends Record<string, unknown>>(xs: T[], ys: T[], key: keyof T): T[] =>
    xs.map((x) => {
      const y = ys.find((z) => z[key] === x[key])
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === 'number' && y ? v + (y[k] as number) : v])) as T
    })
  return { products: sum(a.products, b.products, 'product'), tables: sum(a.tables, b.tables, 'table'), stopped: [...a.stopped, ...b.stopped] }
}

/** A demo starts from nothing; it only wipes a folder it made itself, unless told to. */
function resetDataDir(dataDir: string, force: boolean): void {
  if (!fs.existsSync(dataDir) || fs.readdirSync(dataDir).length === 0) return
  if (!force && !fs.existsSync(path.join(dataDir, marker)))
    throw new TributaryError('TRIB_USAGE', `${dataDir} holds data that no demo created; pass --reset to wipe it, or --data-dir to use another folder`)
  fs.rmSync(dataDir, { recursive: true, force: true })
}
