import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import kafkajs from 'kafkajs'
import { generateSampleData, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { loadProduct } from '../../runtime/product/load.ts'
import { createRunnables } from '../../runtime/runner.ts'
import { openRuntime, type Runtime } from '../../runtime/runtime.ts'
import { productsDir } from '../helpers/runtime.ts'
import { kafkaBroker as broker, resetKafka, unique } from '../integration/kafka-support.ts'
import { nextOffsets, type Log } from '../../runtime/log/log.ts'

const ROUNDS = 3
const PARTITIONS = 6
/** The processor's default batch size (processing.batchSize). */
const BATCH = 2000
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const PRODUCT = 'user-profiles'

/**
 * On the real broker (`npm run infra:up`), over the same messages (user-profiles' input: Avro
 * Debezium CDC from products/sample-data, on its own topic): (a) the user-profiles processor in
 * Kafka mode, end to end (decode, contract, transform, encode, produce and commit per batch,
 * exactly-once as its spec asks: one transaction per batch); (b) bare kafkajs pass-through (eachBatch, an idempotent producer
 * with acks all, manual offset commits; no decoding); (c) the Log adapter's poll →
 * commit({records, offsets}) pass-through, at-least-once and (d) exactly-once (one transaction per
 * batch). Timed from the first record received to the last commit, so group joins are not
 * counted; each figure is the median of three rounds.
 */
export async function benchKafka(users = 60_000): Promise<Record<string, number>> {
  await resetKafka({ topics: (t) => t === usersTopic || t.startsWith('user-profiles.'), groups: (g) => g === PRODUCT }, broker)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-bench-kafka-'))
  const runtime = await openRuntime(
    loadConfig({ env: {}, flags: { dataDir: dir, 'transport.kind': 'kafka', 'transport.kafka.brokers': [broker], 'transport.kafka.clientId': unique('bench'), 'transport.defaultPartitions': PARTITIONS } }),
  )
  try {
    const log = runtime.log
    await log.ensureTopic(usersTopic, { partitions: PARTITIONS })
    const { records } = await generateSampleData(runtime.registry, { users, plays: 0, invalid: false })
    for (let i = 0; i < records.length; i += 10_000) await log.append(records.slice(i, i + 10_000))
    const n = records.length

    const processor: number[] = []
    const bare: number[] = []
    const adapter: number[] = []
    const exactlyOnce: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      processor.push(await userProfiles(runtime, n))
      bare.push(await bareKafkajs(usersTopic, n))
      adapter.push(await viaAdapter(log, usersTopic, n, false))
      exactlyOnce.push(await viaAdapter(log, usersTopic, n, true))
    }
    return {
      events: n,
      partitions: PARTITIONS,
      userProfilesPerSec: Math.round(median(processor)),
      bareKafkajsPerSec: Math.round(median(bare)),
      ratioUserProfilesToBare: Number((median(processor) / median(bare)).toFixed(3)),
      adapterPassThroughPerSec: Math.round(median(adapter)),
      adapterExactlyOncePassThroughPerSec: Math.round(median(exactlyOnce)),
      ratioAdapterToBare: Number((median(adapter) / median(bare)).toFixed(3)),
      ratioExactlyOnceToBare: Number((median(exactlyOnce) / median(bare)).toFixed(3)),
    }
  } finally {
    await runtime.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** One round of the user-profiles processor from the start of its input (its group is deleted first). */
async function userProfiles(runtime: Runtime, n: number): Promise<number> {
  await resetKafka({ topics: () => false, groups: (g) => g === PRODUCT }, broker)
  const p = (await createRunnables(runtime, [loadProduct(path.join(productsDir, PRODUCT))]))[0]?.processor
  await p!.start()
  let processed = 0
  let started = 0
  try {
    while (processed < n) {
      const k = await p!.step(1000)
      if (k > 0 && started === 0) started = performance.now()
      processed += k
    }
    return n / ((performance.now() - started) / 1000)
  } finally {
    await p!.close()
  }
}

async function bareKafkajs(input: string, n: number): Promise<number> {
  const output = unique('bench-bare-out')
  const client = new kafkajs.Kafka({ brokers: [broker], clientId: unique('bench-bare'), logLevel: kafkajs.logLevel.NOTHING })
  const admin = client.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: output, numPartitions: PARTITIONS }], waitForLeaders: true })
  await admin.disconnect()
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner })
  const consumer = client.consumer({ groupId: unique('bench-bare'), allowAutoTopicCreation: false })
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topics: [input], fromBeginning: true })
  let done = 0
  let started = 0
  let finish: (ms: number) => void
  const finished = new Promise<number>((resolve) => (finish = resolve))
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (started === 0) started = performance.now()
      const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }))
      await producer.send({ topic: output, acks: -1, messages })
      const last = batch.messages[batch.messages.length - 1]!.offset
      resolveOffset(last)
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) }])
      done += messages.length
      if (done >= n) finish(performance.now() - started)
    },
  })
  const ms = await finished
  await consumer.disconnect()
  await producer.disconnect()
  return n / (ms / 1000)
}

async function viaAdapter(log: Log, input: string, n: number, exactlyOnce: boolean): Promise<number> {
  const output = unique('bench-adapter-out')
  await log.ensureTopic(output, { partitions: PARTITIONS })
  const consumer = log.consumer({ group: unique('bench-adapter'), topics: [input], exactlyOnce })
  let done = 0
  let started = 0
  while (done < n) {
    const records = await consumer.poll({ maxRecords: BATCH, maxWaitMs: 1000 })
    if (records.length === 0) continue
    if (started === 0) started = performance.now()
    await consumer.commit({ offsets: nextOffsets(records), records: records.map((r) => ({ topic: output, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })) })
    done += records.length
  }
  const ms = performance.now() - started
  await consumer.close()
  return n / (ms / 1000)
}


// `tsx test/bench/kafka.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { setLogLevel } = await import('../../runtime/logger.ts')
  setLogLevel(process.env.TRIBUTARY_LOG_LEVEL ?? 'warn')
  process.stdout.write(`${JSON.stringify(await benchKafka(Number(process.argv[2] ?? 60_000)), null, 2)}\n`)
}
