import { dropEnvironment, mergeEnvironment, readEnvironments } from '../../lifecycle/environments.ts'
import type { CliContext } from '../context.ts'
import { print, printJson, table } from '../output.ts'

/** `tributary env list`: every environment, per product, with its fork and state. */
export async function list(ctx: CliContext, opts: { format: string }): Promise<void> {
  const runtime = await ctx.runtime()
  const rows = [...(await readEnvironments(runtime)).values()].map((r) => ({
    env: r.env,
    product: r.product,
    created: r.createdAt,
    merged: r.mergedAt ?? null,
    topics: r.topics.join(', '),
  }))
  if (opts.format === 'json') printJson(rows)
  else print(table(rows))
}

/** `tributary env merge <name>`: main fast-forwards to the environment, or nothing changes. */
export async function merge(ctx: CliContext, name: string): Promise<void> {
  const runtime = await ctx.runtime()
  for (const r of await mergeEnvironment(runtime, name, ctx.products([])))
    print(`${r.product}: main is at environment ${name}: ${r.records} records appended to its topics, ${r.tables.length} tables moved${r.tables.length ? ` (${r.tables.map((t) => `${t.table}@${t.snapshot}`).join(', ')})` : ''}`)
  print(`Drop the environment when done: tributary env drop ${name}`)
}

/** `tributary env drop <name>`: its topics, groups, state and branches go. */
export async function drop(ctx: CliContext, name: string): Promise<void> {
  const runtime = await ctx.runtime()
  const products = await dropEnvironment(runtime, name)
  print(`environment ${name} dropped (${products.join(', ')}): its topics, consumer groups, state and table branches are gone`)
}
