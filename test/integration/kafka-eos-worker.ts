/**
 * Child process of kafka-exactly-once.test.ts: consumes the input topic with `exactlyOnce: true`
 * and commits one output per input record together with the offsets, in small batches, until the
 * input is exhausted. The parent SIGKILLs it at random points and starts it again.
 *
 * With `pipelined`, it does what the processor does: it does not wait for a commit before polling
 * again, so consecutive commits share one transaction (commit interval) and a kill lands while a
 * grouped transaction is open.
 *
 *   tsx kafka-eos-worker.ts <broker> <clientId> <group> <input> <output> [pipelined]
 */
import { openKafkaLog } from '../../connectors/kafka/index.ts'
import { configSchema } from '../../runtime/config/schema.ts'
import { nextOffsets } from '../../runtime/log/log.ts'

const [broker, clientId, group, input, output, mode] = process.argv.slice(2) as [string, string, string, string, string, string | undefined]
const pipelined = mode === 'pipelined'
const kafka = configSchema.parse({ transport: { kafka: { brokers: [broker], clientId } } }).transport.kafka
// A killed member stays in the group until its session times out; the broker's minimum keeps restarts quick.
const log = await openKafkaLog({ kafka, defaultPartitions: 1, tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } })
const consumer = log.consumer({ group, topics: [input], exactlyOnce: true, pipelined })
let failure: unknown


let idle = 0
for (;;) {
  const records = await consumer.poll({ maxRecords: 40, maxWaitMs: 200 })
  if (records.length === 0) {
    if (consumer.caughtUp() && ++idle >= 3) break
    continue
  }
  idle = 0
  const outputs = records.map((r) => ({ topic: output, key: r.key, value: Buffer.from(`out:${r.value!.toString()}`) }))
  const commit = consumer.commit({ offsets: nextOffsets(records), records: outputs })
  if (pipelined) commit.catch((e: unknown) => (failure ??= e))
  else await commit
  if (failure !== undefined) throw failure
  process.stdout.write(`committed ${records.length}\n`)
}
await consumer.flush?.()
if (failure !== undefined) throw failure
await consumer.close()
await log.close()
process.stdout.write('done\n')
