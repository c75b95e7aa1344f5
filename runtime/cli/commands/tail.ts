import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { viewIds } from '../../codec/index.ts'
import { parseFrom } from '../../log/start-from.ts'
import { print, toJsonLine } from '../output.ts'

export async function tail(ctx: CliContext, topic: string, opts: { from: string; follow?: boolean; max?: number; format: string }): Promise<void> {
  const from = parseFrom(opts.from)
  const { log, codec } = await ctx.runtime('read')
  if (!(await log.describeTopic(topic))) {
    const known = (await log.listTopics()).map((t) => t.name)
    throw new TributaryError('TRIB_TOPIC_NOT_FOUND', `topic ${topic} does not exist (known: ${known.join(', ') || 'none'})`, { details: { topic } })
  }
  const consumer = log.consumer({ group: null, topics: [topic], from })
  let stop = false
  const onSignal = () => (stop = true)
  process.once('SIGINT', onSignal)
  let shown = 0
  try {
    while (!stop && (opts.max === undefined || shown < opts.max)) {
      const records = await consumer.poll({ maxRecords: 500, maxWaitMs: opts.follow ? 500 : 0 })
      if (records.length === 0 && !opts.follow && consumer.caughtUp()) break
      await codec.prefetch(viewIds(records))
      for (const r of records) {
        if (opts.max !== undefined && shown >= opts.max) break
        const v = codec.view(r)
        if (opts.format === 'json') print(toJsonLine(v))
        else print(`${v.partition}@${v.offset} ${v.timestamp} key=${toJsonLine(v.key)} ${toJsonLine(v.value)}${Object.keys(v.headers).length ? ` headers=${toJsonLine(v.headers)}` : ''}`)
        shown++
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    await consumer.close()
  }
}
