import type { Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs'
import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, RecordPosition } from '../../runtime/log/log.ts'
import { createPartitioner } from '../../runtime/log/partitioner.ts'
import { Mutex } from '../shared/mutex.ts'
import { validateRecords } from '../../runtime/log/validate.ts'
import { createClient, type KafkaClient } from './client.ts'
import { toTributaryError } from './errors.ts'
import type { ResolvedKafkaOptions } from './options.ts'

/** A kafkajs producer or transaction: both send batches the same way. */
export interface BatchSender {
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>
}

/** Partition count of a topic, creating it (default partitions) when missing, like the embedded log. */
export type PartitionCounts = (topic: string) => Promise<number>

/**
 * One produce request's worth of records, in kafkajs' shape, and where each record sits in it:
 * parallel arrays indexed by the record's place in the chunk (no object per record besides the
 * message kafkajs needs).
 */
export interface Chunk {
  readonly topicMessages: Array<{ topic: string; messages: Message[] }>
  /** The record's index in the append. */
  readonly index: number[]
  readonly topic: string[]
  readonly partition: number[]
  /** Its place among the chunk's records of the same partition. */
  readonly rank: number[]
}

/** Records and bytes per partition of one topic in the chunk being filled. */
interface Fill {
  readonly messages: Message[]
  readonly count: Int32Array
  readonly bytes: Float64Array
}

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
    let fills = new Map<string, Fill>()
    let bytes = 0
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const n = partitions.get(r.topic)!
      const partition = r.partition ?? this.partitioner(r.topic, r.key, n)
      if (partition >= n)
        throw new TributaryError('TRIB_TOPIC_INVALID', `record ${i}: partition ${partition} of topic ${r.topic} does not exist (it has ${n})`, {
          details: { topic: r.topic, partition, index: i },
        })
      const size = sizeOf(r)
      let fill = fills.get(r.topic)
      const count = fill?.count[partition] ?? 0
      const full = count > 0 && (count >= chunkRecordsPerPartition || fill!.bytes[partition]! + size > chunkBytes)
      if (full || (cur.index.length > 0 && bytes + size > chunkBytes * 8)) {
        chunks.push(cur)
        cur = newChunk()
        fills = new Map()
        fill = undefined
        bytes = 0
      }
      if (fill === undefined) {
        fill = { messages: [], count: new Int32Array(n), bytes: new Float64Array(n) }
        fills.set(r.topic, fill)
        cur.topicMessages.push({ topic: r.topic, messages: fill.messages })
      }
      const message: Message = { key: r.key, value: r.value, partition, timestamp: r.timestamp === undefined ? now : String(r.timestamp) }
      if (r.headers !== undefined) message.headers = r.headers
      fill.messages.push(message)
      cur.index.push(i)
      cur.topic.push(r.topic)
      cur.partition.push(partition)
      cur.rank.push(fill.count[partition]!++)
      fill.bytes[partition]! += size
      bytes += size
    }
    if (cur.index.length > 0) chunks.push(cur)
    return chunks
  }
}

const newChunk = (): Chunk => ({ topicMessages: [], index: [], topic: [], partition: [], rank: [] })

/** Sends planned chunks in order; returns each record's position, in the order of the records. */
export async function sendChunks(sender: BatchSender, chunks: readonly Chunk[], total: number): Promise<RecordPosition[]> {
  const positions: RecordPosition[] = new Array(total)
  for (const chunk of chunks) {
    const meta = await sender.sendBatch({ acks: -1, topicMessages: chunk.topicMessages })
    const base = new Map<string, number[]>()
    for (const m of meta) {
      let list = base.get(m.topicName)
      if (list === undefined) base.set(m.topicName, (list = []))
      list[m.partition] = Number(m.baseOffset ?? m.offset)
    }
    for (let k = 0; k < chunk.index.length; k++) {
      const topic = chunk.topic[k]!
      const partition = chunk.partition[k]!
      const b = base.get(topic)?.[partition]
      if (b === undefined || !Number.isSafeInteger(b))
        throw new TributaryError('TRIB_INTERNAL', `the broker acknowledged no offset for ${topic}-${partition}`, { details: { topic, partition } })
      positions[chunk.index[k]!] = { topic, partition, offset: b + chunk.rank[k]! }
    }
  }
  return positions
}

/** An append's error, naming the largest record when the broker refused one as too large. */
export function describeFailure(e: unknown, records: readonly OutgoingRecord[], what = 'appending'): TributaryError {
  const topics = [...new Set(records.map((r) => r.topic))]
  // The planner resolved every topic's partitions (creating missing ones): an unknown topic is a broker catching up.
  const err = toTributaryError(e, `${what} ${records.length} records to ${topics.join(', ')}`, { topics }, { topicExists: true })
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
    // Bounded (~35 s in all with the default tuning.retries), so a lasting outage surfaces as
    // TRIB_KAFKA_UNAVAILABLE instead of a hang. Fine-grained at first (10 ms, growing by 1.2x rather
    // than kafkajs' 2x): a transaction's first request usually meets CONCURRENT_TRANSACTIONS while
    // the previous commit's markers are still being written, and a doubling backoff overshoots
    // their end by hundreds of milliseconds (the Java client retries that case every 20 ms).
    retry: { initialRetryTime: 10, maxRetryTime: 5_000, multiplier: 1.2, retries: options.tuning.retries * 6 },
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
