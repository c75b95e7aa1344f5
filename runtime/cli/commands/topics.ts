import type { CliContext } from '../context.ts'
import { print, printJson, table } from '../output.ts'

export async function topics(ctx: CliContext, opts: { format: string }): Promise<void> {
  const { log } = await ctx.runtime('read')
  const topics = await log.listTopics()
  const ends = new Map(topics.flatMap((t) => t.partitions.map((p) => [`${t.name}/${p.partition}`, p.end] as const)))
  const groups = []
  for (const group of await log.listGroups()) {
    for (const o of await log.groupOffsets(group)) {
      const end = ends.get(`${o.topic}/${o.partition}`) ?? o.offset
      groups.push({ group, topic: o.topic, partition: o.partition, committed: o.offset, end, lag: Math.max(0, end - o.offset) })
    }
  }
  if (opts.format === 'json') {
    printJson({ topics, groups })
    return
  }
  const damaged = topics.flatMap((t) => t.partitions.filter((p) => p.damaged !== undefined).map((p) => ({ topic: t.name, ...p })))
  print(table(topics.map((t) => ({
    topic: t.name,
    partitions: t.partitions.length,
    records: t.partitions.reduce((n, p) => n + p.end - p.start, 0),
    'end offsets': t.partitions.map((p) => p.end).join(','),
    ...(damaged.length > 0 ? { damaged: t.partitions.filter((p) => p.damaged !== undefined).map((p) => p.partition).join(',') || '-' } : {}),
  }))))
  for (const d of damaged) process.stderr.write(`damaged: ${d.topic}-${d.partition}: ${d.damaged}\n`)
  print()
  const byGroupTopic = new Map<string, { group: string; topic: string; committed: number; end: number; lag: number }>()
  for (const g of groups) {
    const k = `${g.group}\u0000${g.topic}`
    const row = byGroupTopic.get(k) ?? { group: g.group, topic: g.topic, committed: 0, end: 0, lag: 0 }
    row.committed += g.committed
    row.end += g.end
    row.lag += g.lag
    byGroupTopic.set(k, row)
  }
  print(table([...byGroupTopic.values()]))
}
