import type { Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs'
import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, RecordPosition } from '../../runtime/log/log.ts'
import { createPartitioner } from '../../runtime/log/partitioner.ts'
import { Mutex } from '../shared/mutex.ts'
import { validateRecords } from '../../runtime/log/validate.ts'
import { createClient, type KafkaClient } from './client.ts'
import { toTributaryError } from './errors.ts'
import type { ResolvedKafkaOptions } from './options.ts'
import { tpKey } from './positions.ts'

/** A kafkajs producer or transaction: both send batches the same way. */
export interface BatchSender {
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>
}

/** Partition count of a topic, creating it (default partitions) when missing, like the embedded log. */
export type PartitionCounts = (topic: string) => Promise<number>

/** One produce request's worth of records, with where each record sits in it. */
interface Chunk {
  readonly messages: Map<string, Message[]>
  /** Per record of the chunk: its index in the append, topic, partition and rank within the partition. */
  readonly slots: Array<{ index: number; topic: string; partition: number; rank: number; key: string }>
  readonly perPartition: Map<string, { count: number; bytes: number }>
  bytes: number
}

const newChunk = (): Chunk => ({ messages: new Map(), slots: [], perPartition: new Map(), bytes: 0 })
// Record overhead in a v2 batch (varints, attributes, deltas): an upper bound is enough here.
const RECORD_OVERHEAD = 24

function sizeOf(r: OutgoingRecord): number {
  let n = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0)
  if (r.headers) for (const name in r.headers) n += name.length + r.headers[name]!.length + 8
  return n
}

/**
 * Places records on partitions with the shared murmur2 partitioner (so a key lands where the
 * embedded log puts it) and cuts them into chunks that each fit one produce request: kafkajs does
 * not split batches, and a partition's batch over the broker's message.max.bytes is rejected.
 * Chunks are sent one after another, so order per partition is kept.
 */
export class Planner {
  private readonly partitioner = createPartitioner()

  constructor(private readonly options: ResolvedKafkaOptions) {}

  async plan(records: readonly OutgoingRecord[], counts: PartitionCounts): Promise<Chunk[]> {
    validateRecords(records)
    const partitions = new Map<string, number>()
    for (const r of records) if (!partitions.has(r.topic)) partitions.set(r.topic, await counts(r.topic))
    const { chunkBytes, chunkRecordsPerPartition } = this.options.tuning
    const now = String(Date.now())
    const chunks: Chunk[] = []
    let cur = newChunk()
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const n = partitions.get(r.topic)!
      const partition = r.partition ?? this.partitioner(r.topic, r.key, n)
      if (partition >= n)
        throw new TributaryError('TRIB_TOPIC_INVALID', `record ${i}: partition ${partition} of topic ${r.topic} does not exist (it has ${n})`, {
          details: { topic: r.topic, partition, index: i },
        })
      const size = sizeOf(r)
      const key = tpKey(r.topic, partition)
      let part = cur.perPartition.get(key)
      const full = part !== undefined && (part.count >= chunkRecordsPerPartition || part.bytes + size > chunkBytes)
      if (full || (cur.slots.length > 0 && cur.bytes + size > chunkBytes * 8)) {
        chunks.push(cur)
        cur = newChunk()
        part = undefined
      }
      if (part === undefined) cur.perPartition.set(key, (part = { count: 0, bytes: 0 }))
      const message: Message = { key: r.key, value: r.value, partition, timestamp: r.timestamp === undefined ? now : String(r.timestamp) }
      if (r.headers !== undefined) message.headers = r.headers
      let list = cur.messages.get(r.topic)
      if (list === undefined) cur.messages.set(r.topic, (list = []))
      list.push(message)
      cur.slots.push({ index: i, topic: r.topic, partition, rank: part.count, key })
      part.count++
      part.bytes += size
      cur.bytes += size
    }
    if (cur.slots.length > 0) chunks.push(cur)
    return chunks
  }
}

/** Sends planned chunks in order; returns each record's position, in the order of the records. */
export async function sendChunks(sender: BatchSender, chunks: readonly Chunk[], total: number): Promise<RecordPosition[]> {
  const positions: RecordPosition[] = new Array(total)
  for (const chunk of chunks) {
    const topicMessages = [...chunk.messages].map(([topic, messages]) => ({ topic, messages }))
    const meta = await sender.sendBatch({ acks: -1, topicMessages })
    const base = new Map(meta.map((m) => [tpKey(m.topicName, m.partition), Number(m.baseOffset ?? m.offset)]))
    for (const s of chunk.slots) {
      const b = base.get(s.key)
      if (b === undefined || !Number.isSafeInteger(b))
        throw new TributaryError('TRIB_INTERNAL', `the broker acknowledged no offset for ${s.topic}-${s.partition}`, { details: { topic: s.topic, partition: s.partition } })
      positions[s.index] = { topic: s.topic, partition: s.partition, offset: b + s.rank }
    }
  }
  return positions
}

/** An append's error, naming the largest record when the broker refused one as too large. */
export function describeFailure(e: unknown, records: readonly OutgoingRecord[], what = 'appending'): TributaryError {
  const topics = [...new Set(records.map((r) => r.topic))]
  const err = toTributaryError(e, `${what} ${records.length} records to ${topics.join(', ')}`, { topics })
  if (err.code !== 'TRIB_RECORD_TOO_LARGE') return err
  let largest = 0
  for (let i = 1; i < records.length; i++) if (sizeOf(records[i]!) > sizeOf(records[largest]!)) largest = i
  const r = records[largest]!
  return new TributaryError(
    'TRIB_RECORD_TOO_LARGE',
    `${err.message}; the largest is record ${largest} for topic ${r.topic} (${sizeOf(r)} bytes): raise the topic's max.message.bytes (TopicOptions.maxMessageBytes when it is created)`,
    { cause: e, details: { ...err.details, index: largest, topic: r.topic, bytes: sizeOf(r) } },
  )
}

/** The producer settings every Tributary producer shares: idempotent, acks all, one request in flight. */
export function producerFor(client: KafkaClient, options: ResolvedKafkaOptions, transactionalId?: string): Producer {
  return client.producer({
    idempotent: true,
    // kafkajs does not reorder sequence numbers after a failed request: more than one in flight breaks idempotence.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Every message carries its partition (Planner); this only silences kafkajs' partitioner warning.
    createPartitioner: () => ({ message }) => message.partition ?? 0,
    // Bounded (~30 s in all), so a lasting outage surfaces as TRIB_KAFKA_UNAVAILABLE instead of a
    // hang; starting small because a transaction's next request often meets CONCURRENT_TRANSACTIONS
    // while the previous commit's markers are still being written.
    retry: { initialRetryTime: 10, maxRetryTime: 5_000, retries: options.tuning.retries + 7 },
    ...(transactionalId === undefined ? {} : { transactionalId, transactionTimeout: options.kafka.transactionTimeoutMs }),
  })
}

/**
 * Appends outside transactions, through one idempotent producer. Sends are serialized: kafkajs'
 * idempotent producer breaks (OUT_OF_ORDER_SEQUENCE_NUMBER) under concurrent sends. After a failure
 * the producer is replaced, so a retried append starts clean (a retry may then repeat records
 * that did land: at-least-once). An append spanning several chunks is not atomic.
 */
export class Appender {
  private producer: Promise<Producer> | undefined
  private readonly mutex = new Mutex()
  private closed = false

  constructor(
    private readonly options: ResolvedKafkaOptions,
    private readonly role: string,
    private readonly planner: Planner,
    private readonly counts: PartitionCounts,
  ) {}

  append(records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    if (records.length === 0) return Promise.resolve([])
    return this.mutex.run(async () => {
      if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `Kafka producer ${this.role} is closed`)
      const chunks = await this.planner.plan(records, this.counts)
      const producer = await this.connect()
      try {
        return await sendChunks(producer, chunks, records.length)
      } catch (e) {
        this.reset()
        throw describeFailure(e, records)
      }
    })
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.closed = true
      this.reset()
    })
  }

  private connect(): Promise<Producer> {
    if (this.producer === undefined) {
      const producer = producerFor(createClient(this.options, this.role), this.options)
      const connecting = producer.connect().then(() => producer)
      this.producer = connecting
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined
      })
    }
    return this.producer.catch((e: unknown) => {
      throw toTributaryError(e, `connecting a Kafka producer to ${this.options.kafka.brokers.join(',')}`)
    })
  }

  private reset(): void {
    const p = this.producer
    this.producer = undefined
    p?.then((x) => x.disconnect()).catch(() => undefined)
  }
}
