import path from 'node:path'
import type { Log, OutgoingRecord, PartitionOffset } from '../../log/log.ts'
import { StateDb } from '../../state/db.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print } from '../output.ts'
import { parseFrom } from '../../log/start-from.ts'
import { pushAll } from '../../util/arrays.ts'

export async function replay(ctx: CliContext, ref: string, opts: { from: string }): Promise<void> {
  const from = parseFrom(opts.from)
  if (from.kind !== 'earliest' && from.kind !== 'timestamp')
    throw new TributaryError('TRIB_USAGE', '--from must be earliest or an ISO 8601 time')
  const [product] = ctx.products([ref])
  const runtime = await ctx.runtime()
  const { log } = runtime
  const topics = product!.inputs.filter((p) => p.spec.mode === 'stream').map((p) => p.spec.topic)
  const offsets: PartitionOffset[] = []
  for (const topic of topics) {
    if (from.kind === 'timestamp') pushAll(offsets, await log.offsetsForTimestamp(topic, from.timestamp))
    else for (const p of (await log.describeTopic(topic))?.partitions ?? []) offsets.push({ topic, partition: p.partition, offset: p.start })
  }
  const changelog = `${product!.name}.changelog`
  const resets = from.kind === 'earliest' ? await stateTombstones(log, changelog) : []
  // Offsets and state reset in one commit of the product's own group: it fails if the product runs.
  const consumer = log.consumer({ group: product!.name, topics })
  try {
    await consumer.commit({ offsets, records: resets })
  } finally {
    await consumer.close()
  }
  if (from.kind === 'earliest') {
    const db = StateDb.open(path.join(runtime.stateDir, product!.name))
    db.clear('kv')
    await db.close()
  }
  print(`${product!.name} rewound to ${opts.from} on ${topics.join(', ')}${resets.length ? `; ${resets.length} state keys reset` : ''}.`)
  print('The next `tributary run` reprocesses from there and appends the re-derived outputs after the old ones:')
  print('subscribers see those records again (same keys, new offsets); keyed views converge, event consumers see repeats.')
  if (from.kind === 'timestamp') print('ctx.state is kept as it is: aggregates count replayed records again. Use --from earliest to rebuild from scratch.')
}

/** A delete for every key the changelog currently holds, so a rebuild starts with empty state. */
async function stateTombstones(log: Log, topic: string): Promise<OutgoingRecord[]> {
  const info = await log.describeTopic(topic)
  if (!info) return []
  const live = new Map<string, OutgoingRecord>()
  const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'earliest' } })
  try {
    for (;;) {
      const records = await consumer.poll({ maxRecords: 5000, maxWaitMs: 0 })
      if (records.length === 0 && consumer.caughtUp()) break
      for (const r of records) {
        const k = `${r.partition}\u0000${r.key?.toString('base64')}`
        if (r.value === null) live.delete(k)
        else live.set(k, { topic, partition: r.partition, key: r.key, value: null })
      }
    }
  } finally {
    await consumer.close()
  }
  return [...live.values()]
}
