import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, RecordPosition } from '../../runtime/log/log.ts'
import { createPartitioner } from '../../runtime/log/partitioner.ts'
import { validateRecords } from '../../runtime/log/validate.ts'
import type { BaseOffsets } from './driver.ts'
import { toTributaryError } from './errors.ts'
import type { ResolvedKafkaOptions } from './options.ts'

/** Partition count of a topic, creating it (default partitions) when missing, like the embedded log. */
export type PartitionCounts = (topic: string) => Promise<number>

/**
 * One produce request's worth of records, as the client library's messages grouped by topic, and
 * where each record sits in it: parallel arrays indexed by the record's place in the chunk (no
 * object per record besides the message the library needs).
 */
export interface Chunk<M = unknown> {
  readonly topicMessages: Array<{ topic: string; messages: M[] }>
  /** The record's index in the append. */
  readonly index: number[]
  readonly topic: string[]
  readonly partition: number[]
  /** Its place among the chunk's records of the same partition. */
  readonly rank: number[]
}

/** Records and bytes per partition of one topic in the chunk being filled. */
interface Fill<M> {
  readonly messages: M[]
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
 * embedded log puts it) and cuts them into chunks that each fit one produce request: the clients
 * do not split batches, and a partition's batch over the broker's message.max.bytes is rejected.
 * Chunks are sent one after another, so order per partition is kept.
 */
export class Planner<M = unknown> {
  private readonly partitioner = createPartitioner()

  /** `message` builds the client library's message for a record (see Driver.message). */
  constructor(
    private readonly options: ResolvedKafkaOptions,
    private readonly message: (record: OutgoingRecord, partition: number, timestamp: number) => M,
  ) {}

  async plan(records: readonly OutgoingRecord[], counts: PartitionCounts): Promise<Chunk<M>[]> {
    validateRecords(records)
    const partitions = new Map<string, number>()
    for (const r of records) if (!partitions.has(r.topic)) partitions.set(r.topic, await counts(r.topic))
    const { chunkBytes, chunkRecordsPerPartition } = this.options.tuning
    const now = Date.now()
    const chunks: Chunk<M>[] = []
    let cur = newChunk<M>()
    let fills = new Map<string, Fill<M>>()
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
        cur = newChunk<M>()
        fills = new Map()
        fill = undefined
        bytes = 0
      }
      if (fill === undefined) {
        fill = { messages: [], count: new Int32Array(n), bytes: new Float64Array(n) }
        fills.set(r.topic, fill)
        cur.topicMessages.push({ topic: r.topic, messages: fill.messages })
      }
      fill.messages.push(this.message(r, partition, r.timestamp ?? now))
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

const newChunk = <M>(): Chunk<M> => ({ topicMessages: [], index: [], topic: [], partition: [], rank: [] })

/** Sends planned chunks in order; returns each record's position, in the order of the records. */
export async function sendChunks<M>(send: (chunk: Chunk<M>) => Promise<BaseOffsets>, chunks: readonly Chunk<M>[], total: number): Promise<RecordPosition[]> {
  const positions: RecordPosition[] = new Array(total)
  for (const chunk of chunks) {
    const base = new Map<string, number[]>()
    for (const m of await send(chunk)) {
      let list = base.get(m.topic)
      if (list === undefined) base.set(m.topic, (list = []))
      list[m.partition] = m.offset
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

