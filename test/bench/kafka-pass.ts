/**
 * One benchmark process of the Kafka section (test/bench/kafka.ts starts it): a fresh Node.js
 * process runs `passes` passes of one job over the input topic and prints one JSON line per pass.
 * A pass is timed from the first record received to the commit covering the last one, with the
 * process's CPU time over the same span; with passes > 1 only the last counts (warm: the earlier
 * ones compile and fill caches, as the JVM's first pass does for Kafka Streams).
 *
 *   tsx test/bench/kafka-pass.ts '<json Job>'
 */
import path from 'node:path'
import kafkajs from 'kafkajs'
import { loadConfig } from '../../runtime/config/load.ts'
import type { Consumer, ConsumerOptions, Log } from '../../runtime/log/log.ts'
import { loadProduct, loadTransform, type Product } from '../../runtime/product/load.ts'
import { Processor, runtimeOptions } from '../../runtime/processor/processor.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { setLogLevel } from '../../runtime/logger.ts'
import { productsDir } from '../helpers/runtime.ts'

export interface Job {
  kind: 'tributary' | 'kafkajs' | 'platformatic'
  guarantee: 'exactly-once' | 'at-least-once'
  passes: number
  /** Input records (tombstones included): a pass ends when all are committed. */
  records: number
  broker: string
  input: string
  /** kafkajs: the output topic of the timed pass (earlier passes write to `<output>.warmup`). */
  output?: string
  /** tributary: the data folder holding the embedded registry the input was framed with. */
  dataDir?: string
  /** tributary: configuration flags on top (e.g. `transport.kafka.commitIntervalMs`). */
  flags?: Record<string, unknown>
  /** platformatic: where the candidate client is installed (its package entry point). */
  module?: string
}

export interface PassResult {
  pass: number
  timed: boolean
  records: number
  seconds: number
  cpuSeconds: number
  /** tributary: end offsets of the product's output topic before this pass (its outputs follow them). */
  outputFrom?: Record<number, number>
}

const PRODUCT = 'user-profiles'

/** Marks when the first record arrives and when the pass ends, with the CPU time in between. */
class Clock {
  private started = 0
  private cpu = 0
  start(): void {
    if (this.started !== 0) return
    this.started = performance.now()
    const u = process.cpuUsage()
    this.cpu = u.user + u.system
  }
  stop(pass: number, timed: boolean, records: number): PassResult {
    const u = process.cpuUsage()
    return { pass, timed, records, seconds: (performance.now() - this.started) / 1000, cpuSeconds: (u.user + u.system - this.cpu) / 1e6 }
  }
}

/** The log, with a consumer whose first non-empty poll starts the clock (group joins are not timed). */
function timedLog(log: Log, clock: Clock): Log {
  const wrap = (c: Consumer): Consumer =>
    new Proxy(c, {
      get(target, prop) {
        if (prop === 'poll')
          return async (...args: Parameters<Consumer['poll']>) => {
            const records = await target.poll(...args)
            if (records.length > 0) clock.start()
            return records
          }
        const v = Reflect.get(target, prop) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'consumer') return (o: ConsumerOptions) => wrap(target.consumer(o))
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

async function deleteGroup(broker: string, group: string): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: [broker], clientId: 'bench-reset', logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.deleteGroups([group]).catch(() => undefined)
  } finally {
    await admin.disconnect()
  }
}

async function tributary(job: Job, emit: (r: PassResult) => void): Promise<void> {
  const runtime = await openRuntime(
    loadConfig({ env: {}, flags: { dataDir: job.dataDir!, 'transport.kind': 'kafka', 'transport.kafka.brokers': [job.broker], 'transport.kafka.clientId': `bench-${process.pid}`, ...job.flags } }),
  )
  try {
    const loaded = loadProduct(path.join(productsDir, PRODUCT))
    const product: Product = { ...loaded, spec: { ...loaded.spec, processing: { ...loaded.spec.processing, guarantee: job.guarantee } } }
    const transform = await loadTransform(product)
    const outputTopic = product.outputs[0]!.spec.topic
    for (let pass = 1; pass <= job.passes; pass++) {
      await deleteGroup(job.broker, PRODUCT)
      const before = await runtime.log.describeTopic(outputTopic)
      const clock = new Clock()
      const p = new Processor(product, { ...runtimeOptions(runtime), module: transform, log: timedLog(runtime.log, clock) })
      await p.start()
      let processed = 0
      try {
        while (processed < job.records) processed += await p.step(1000)
        await p.flush()
        const result = clock.stop(pass, pass === job.passes, processed)
        result.outputFrom = Object.fromEntries((before?.partitions ?? []).map((x) => [x.partition, x.end]))
        emit(result)
      } finally {
        await p.close()
      }
    }
  } finally {
    await runtime.close()
  }
}

/**
 * Bare kafkajs consume → produce of the same messages, no decoding: an idempotent producer with
 * acks all and manual offset commits per fetched batch (at-least-once), or one transaction per batch
 * with its offsets (exactly-once), as a kafkajs user would write it.
 */
async function bareKafkajs(job: Job, emit: (r: PassResult) => void): Promise<void> {
  const eos = job.guarantee === 'exactly-once'
  for (let pass = 1; pass <= job.passes; pass++) {
    const timed = pass === job.passes
    const output = timed ? job.output! : `${job.output!}.warmup`
    const client = new kafkajs.Kafka({ brokers: [job.broker], clientId: `bench-bare-${process.pid}`, logLevel: kafkajs.logLevel.NOTHING })
    const group = `bench-bare-${process.pid}-${pass}-${Date.now()}`
    const producer = client.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      ...(eos ? { transactionalId: group, retry: { initialRetryTime: 10, retries: 10 } } : {}),
    })
    const consumer = client.consumer({ groupId: group, allowAutoTopicCreation: false, readUncommitted: false })
    await producer.connect()
    await consumer.connect()
    await consumer.subscribe({ topics: [job.input], fromBeginning: true })
    const clock = new Clock()
    let done = 0
    let finish!: () => void
    const finished = new Promise<void>((resolve) => (finish = resolve))
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        clock.start()
        const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }))
        const last = batch.messages[batch.messages.length - 1]!.offset
        const offsets = [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(last) + 1) }] }]
        if (eos) {
          const txn = await producer.transaction()
          await txn.send({ topic: output, acks: -1, messages })
          await txn.sendOffsets({ consumerGroupId: group, topics: offsets })
          await txn.commit()
        } else {
          await producer.send({ topic: output, acks: -1, messages })
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: offsets[0]!.partitions[0]!.offset }])
        }
        resolveOffset(last)
        done += messages.length
        if (done >= job.records) finish()
      },
    })
    await finished
    const result = clock.stop(pass, timed, done)
    await consumer.disconnect()
    await producer.disconnect()
    emit(result)
  }
}

/**
 * Bare @platformatic/kafka consume → produce, no decoding, for the client comparison: the consumer
 * stream's messages sent in batches of what arrived (at most 2,000), each batch produced (idempotent,
 * acks all) and its offsets committed, or produced in a transaction with its offsets (exactly-once).
 */
async function barePlatformatic(job: Job, emit: (r: PassResult) => void): Promise<void> {
  type Msg = { topic: string; partition: number; offset: bigint; key: Buffer; value: Buffer; headers: Map<Buffer, Buffer>; timestamp: bigint }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pk = (await import(job.module!)) as any
  const eos = job.guarantee === 'exactly-once'
  for (let pass = 1; pass <= job.passes; pass++) {
    const timed = pass === job.passes
    const output = timed ? job.output! : `${job.output!}.warmup`
    const group = `bench-plat-${process.pid}-${pass}-${Date.now()}`
    const base = { clientId: group, bootstrapBrokers: [job.broker], retryDelay: 20 }
    const producer = new pk.Producer({ ...base, idempotent: true, acks: -1, ...(eos ? { transactionalId: group } : {}) })
    const consumer = new pk.Consumer({ ...base, groupId: group, isolationLevel: 1 })
    const stream = await consumer.consume({ topics: [job.input], mode: 'earliest', autocommit: false, isolationLevel: 1 })
    const clock = new Clock()
    let done = 0
    let buffer: Msg[] = []
    let busy = false
    const finished = new Promise<void>((resolve, reject) => {
      const drain = async (): Promise<void> => {
        if (busy || buffer.length === 0) return
        busy = true
        stream.pause()
        const batch = buffer
        buffer = []
        try {
          const last = new Map<string, Msg>()
          for (const m of batch) last.set(`${m.partition}`, m)
          const messages = batch.map((m) => ({ topic: output, key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }))
          if (eos) {
            const tx = await producer.beginTransaction()
            await tx.send({ messages })
            await tx.addConsumer(consumer)
            for (const m of last.values()) await tx.addOffset(m)
            await tx.commit()
          } else {
            await producer.send({ messages })
            await consumer.commit({ offsets: [...last.values()].map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset, leaderEpoch: 0 })) })
          }
          done += batch.length
          if (done >= job.records) return resolve()
        } catch (e) {
          return reject(e)
        } finally {
          busy = false
        }
        stream.resume()
        if (buffer.length > 0) setImmediate(() => void drain())
      }
      stream.on('data', (m: Msg) => {
        clock.start()
        buffer.push(m)
        if (buffer.length >= 2000) void drain()
        else if (buffer.length === 1) setImmediate(() => void drain())
      })
      stream.on('error', reject)
    })
    await finished
    const result = clock.stop(pass, timed, done)
    await stream.close()
    await consumer.close(true)
    await producer.close()
    emit(result)
  }
}

const job = JSON.parse(process.argv[2]!) as Job
setLogLevel(process.env.TRIBUTARY_LOG_LEVEL ?? 'warn')
const emit = (r: PassResult): void => void process.stdout.write(`${JSON.stringify(r)}\n`)
await (job.kind === 'tributary' ? tributary(job, emit) : job.kind === 'platformatic' ? barePlatformatic(job, emit) : bareKafkajs(job, emit))
process.exit(0)
