import { TributaryError } from '../../runtime/errors.ts'
import type {
  Consumer,
  ConsumerOptions,
  Log,
  LogCapabilities,
  LogRecord,
  OutgoingRecord,
  PartitionOffset,
  PollOptions,
  RecordPosition,
  TopicInfo,
  TopicOptions,
  TopicPartition,
} from '../../runtime/log/log.ts'
import { createPartitioner } from '../../runtime/log/partitioner.ts'
import { assertPartition, assertPartitionCount, assertTopicName } from '../../runtime/log/names.ts'
import { validateRecords } from '../../runtime/log/validate.ts'
import { Signal } from '../shared/signal.ts'

/**
 * A Log held in memory: `tributary test` runs products on it, like Kafka Streams'
 * TopologyTestDriver, with nothing on disk. It keeps the Log contract (test/contract/log.contract.ts
 * runs against it): dense offsets per partition, murmur2 key partitioning, consumer groups whose
 * commit of outputs and offsets is one step, one live member per group partition. Besides the
 * contract it remembers each topic's records in append order across partitions (`appended`), which
 * is how a test sees the order a product emitted its outputs in.
 */
export interface MemoryLog extends Log {
  /** Every record of a topic in the order appends made them, across partitions. */
  appended(topic: string): readonly LogRecord[]
}

export function openMemoryLog(options: { defaultPartitions?: number } = {}): MemoryLog {
  return new InMemoryLog(options.defaultPartitions ?? 1)
}

interface Topic {
  partitions: LogRecord[][]
  inOrder: LogRecord[]
}

class InMemoryLog implements MemoryLog {
  readonly capabilities: LogCapabilities = Object.freeze({ assignment: 'static', atomicCommits: true })
  readonly #topics = new Map<string, Topic>()
  readonly #groups = new Map<string, Map<string, number>>()
  /** Live members: `group\0topic\0partition`. */
  readonly #members = new Set<string>()
  readonly #changed = new Signal()
  readonly #partitioner = createPartitioner()
  readonly #defaultPartitions: number
  /** Open consumers, closed with the log. */
  readonly #consumers = new Set<MemoryConsumer>()
  #closed = false

  constructor(defaultPartitions: number) {
    this.#defaultPartitions = defaultPartitions
  }

  async ensureTopic(name: string, options: TopicOptions = {}): Promise<TopicInfo> {
    this.#open()
    assertTopicName(name)
    const partitions = options.partitions ?? this.#defaultPartitions
    assertPartitionCount(name, partitions)
    if (!this.#topics.has(name)) this.#topics.set(name, { partitions: Array.from({ length: partitions }, () => []), inOrder: [] })
    return this.#info(name)!
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.#open()
    return this.#info(name)
  }

  async listTopics(): Promise<TopicInfo[]> {
    this.#open()
    return [...this.#topics.keys()].sort().map((t) => this.#info(t)!)
  }

  async append(records: OutgoingRecord[]): Promise<RecordPosition[]> {
    return this.appendStep(records, null, [])
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]> {
    this.#open()
    const t = this.#topic(topic)
    return t.partitions.map((records, partition) => {
      const i = records.findIndex((r) => r.timestamp >= timestamp)
      return { topic, partition, offset: i < 0 ? records.length : i }
    })
  }

  consumer(options: ConsumerOptions): Consumer {
    this.#open()
    const consumer = new MemoryConsumer(this, options, () => this.#consumers.delete(consumer))
    this.#consumers.add(consumer)
    return consumer
  }

  async listGroups(): Promise<string[]> {
    this.#open()
    return [...this.#groups.keys()].sort()
  }

  async groupOffsets(group: string): Promise<PartitionOffset[]> {
    this.#open()
    return [...(this.#groups.get(group) ?? [])].map(([k, offset]) => {
      const i = k.lastIndexOf('\u0000')
      return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset }
    })
  }

  async setGroupOffsets(group: string, offsets: PartitionOffset[]): Promise<void> {
    this.#open()
    for (const o of offsets)
      if (this.#members.has(`${group}\u0000${o.topic}\u0000${o.partition}`))
        throw new TributaryError('TRIB_LOG_GROUP_BUSY', `consumer group ${group} has a live member on ${o.topic}-${o.partition}`, { details: { group, ...o } })
    this.appendStep([], group, offsets)
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    this.#open()
    for (const n of names) {
      this.#topics.delete(n)
      for (const committed of this.#groups.values()) for (const k of [...committed.keys()]) if (k.startsWith(`${n}\u0000`)) committed.delete(k)
    }
  }

  async deleteGroups(groups: readonly string[]): Promise<void> {
    this.#open()
    for (const g of groups) {
      if ([...this.#members].some((m) => m.startsWith(`${g}\u0000`))) throw new TributaryError('TRIB_LOG_GROUP_BUSY', `consumer group ${g} has a live member`, { details: { group: g } })
      this.#groups.delete(g)
    }
  }

  appended(topic: string): readonly LogRecord[] {
    return this.#topics.get(topic)?.inOrder ?? []
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#consumers].map((c) => c.close()))
    this.#changed.notify()
  }

  // ---- for consumers ----

  /** Appends records and sets a group's offsets as one step: checked first, then applied whole. */
  appendStep(records: readonly OutgoingRecord[], group: string | null, offsets: readonly PartitionOffset[]): RecordPosition[] {
    this.#open()
    validateRecords(records)
    for (const o of offsets) {
      const t = this.#topic(o.topic)
      assertPartition(o.topic, o.partition, t.partitions.length)
      const end = t.partitions[o.partition]!.length
      if (!Number.isSafeInteger(o.offset) || o.offset < 0 || o.offset > end)
        throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `group ${group}: offset ${o.offset} for ${o.topic}-${o.partition} is outside 0..${end}`, { details: { group, ...o } })
    }
    for (const r of records) {
      const t = this.#topics.get(r.topic)
      if (t && r.partition !== undefined) assertPartition(r.topic, r.partition, t.partitions.length)
    }
    const now = Date.now()
    const positions = records.map((r): RecordPosition => {
      if (!this.#topics.has(r.topic)) this.#topics.set(r.topic, { partitions: Array.from({ length: this.#defaultPartitions }, () => []), inOrder: [] })
      const t = this.#topics.get(r.topic)!
      const partition = r.partition ?? this.#partitioner(r.topic, r.key, t.partitions.length)
      const list = t.partitions[partition]!
      const record: LogRecord = {
        topic: r.topic,
        partition,
        offset: list.length,
        timestamp: r.timestamp ?? now,
        key: r.key,
        value: r.value,
        headers: { ...(r.headers ?? {}) },
      }
      list.push(record)
      t.inOrder.push(record)
      return { topic: r.topic, partition, offset: record.offset }
    })
    if (group !== null && offsets.length > 0) {
      const committed = this.#groups.get(group) ?? new Map<string, number>()
      for (const o of offsets) committed.set(`${o.topic}\u0000${o.partition}`, o.offset)
      this.#groups.set(group, committed)
    }
    this.#changed.notify()
    return positions
  }

  partition(topic: string, partition: number): readonly LogRecord[] | undefined {
    return this.#topics.get(topic)?.partitions[partition]
  }

  committed(group: string, topic: string, partition: number): number | undefined {
    return this.#groups.get(group)?.get(`${topic}\u0000${partition}`)
  }

  join(group: string, partitions: readonly TopicPartition[]): () => void {
    const keys = partitions.map((p) => `${group}\u0000${p.topic}\u0000${p.partition}`)
    const taken = keys.find((k) => this.#members.has(k))
    if (taken)
      throw new TributaryError('TRIB_LOG_GROUP_BUSY', `consumer group ${group} already has a live member on ${taken.split('\u0000').slice(1).join('-')}`, { details: { group } })
    for (const k of keys) this.#members.add(k)
    return () => keys.forEach((k) => this.#members.delete(k))
  }

  waitForChange(ms: number): Promise<void> {
    return this.#changed.wait(ms)
  }

  #open(): void {
    if (this.#closed) throw new TributaryError('TRIB_LOG_CLOSED', 'the memory log is closed')
  }

  #topic(name: string): Topic {
    const t = this.#topics.get(name)
    if (!t) throw new TributaryError('TRIB_TOPIC_NOT_FOUND', `topic ${name} does not exist`, { details: { topic: name } })
    return t
  }

  #info(name: string): TopicInfo | undefined {
    const t = this.#topics.get(name)
    return t && { name, partitions: t.partitions.map((records, partition) => ({ partition, start: 0, end: records.length })) }
  }
}

/** Reads partitions in offset order; topics created after it started are picked up on the next poll. */
class MemoryConsumer implements Consumer {
  readonly #log: InMemoryLog
  readonly #options: ConsumerOptions
  /** Next offset per assigned `topic\0partition`. */
  readonly #positions = new Map<string, { topic: string; partition: number; offset: number }>()
  readonly #assigned = new Set<string>()
  readonly #leave: Array<() => void> = []
  /** The most records it hands out per poll (`maxBufferedRecords`). */
  readonly #buffer: number
  #next = 0
  #closed = false

  constructor(log: InMemoryLog, options: ConsumerOptions, onClose: () => void) {
    const m = options.member
    if (m !== undefined && !(Number.isInteger(m.count) && m.count >= 1 && Number.isInteger(m.index) && m.index >= 0 && m.index < m.count))
      throw new TributaryError('TRIB_USAGE', `consumer member ${m.index} of ${m.count} is not a valid static membership`)
    for (const t of options.topics) assertTopicName(t)
    this.#log = log
    this.#options = options
    this.#buffer = Math.max(1, options.maxBufferedRecords ?? 10_000)
    this.#leave.push(onClose)
    this.#assign()
  }

  async poll(options: PollOptions = {}): Promise<LogRecord[]> {
    const deadline = Date.now() + Math.max(0, options.maxWaitMs ?? 1000)
    const cap = Math.min(this.#buffer, Math.max(1, options.maxRecords ?? 1000))
    for (;;) {
      this.#open()
      this.#assign()
      const out = this.#collect(cap)
      const left = deadline - Date.now()
      if (out.length > 0 || left <= 0) return out
      await this.#log.waitForChange(Math.min(left, 50))
    }
  }

  seek(position: PartitionOffset): void {
    this.#open()
    const p = this.#positions.get(`${position.topic}\u0000${position.partition}`)
    if (!p) throw new TributaryError('TRIB_TOPIC_INVALID', `${position.topic}-${position.partition} is not assigned to this consumer`, { details: { ...position } })
    if (!Number.isSafeInteger(position.offset) || position.offset < 0)
      throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `cannot seek ${position.topic}-${position.partition} to offset ${position.offset}`, { details: { ...position } })
    p.offset = Math.min(position.offset, this.#log.partition(p.topic, p.partition)!.length)
  }

  assignment(): TopicPartition[] {
    return [...this.#positions.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  async commit(step: { offsets: PartitionOffset[]; records?: OutgoingRecord[] }): Promise<RecordPosition[]> {
    this.#open()
    const group = this.#options.group
    if (group === null && step.offsets.length > 0) throw new TributaryError('TRIB_USAGE', 'a consumer without a group cannot commit offsets')
    for (const o of step.offsets)
      if (!this.#positions.has(`${o.topic}\u0000${o.partition}`))
        throw new TributaryError('TRIB_USAGE', `${o.topic}-${o.partition} is not assigned to this consumer of group ${group}; it cannot commit its offset`, { details: { ...o } })
    return this.#log.appendStep(step.records ?? [], group, step.offsets)
  }

  caughtUp(): boolean {
    if (this.#closed) return true
    this.#assign()
    return [...this.#positions.values()].every((p) => p.offset >= this.#log.partition(p.topic, p.partition)!.length)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const leave of this.#leave.splice(0)) leave()
  }

  #open(): void {
    if (this.#closed) throw new TributaryError('TRIB_LOG_CLOSED', `consumer of ${this.#options.topics.join(', ')} is closed`)
  }

  #assign(): void {
    const { group, member, from = { kind: 'earliest' } } = this.#options
    for (const topic of this.#options.topics) {
      if (this.#assigned.has(topic)) continue
      const partitions: number[] = []
      for (let p = 0; this.#log.partition(topic, p) !== undefined; p++) if (!member || p % member.count === member.index) partitions.push(p)
      if (partitions.length === 0) continue
      if (group !== null) this.#leave.push(this.#log.join(group, partitions.map((partition) => ({ topic, partition }))))
      this.#assigned.add(topic)
      for (const partition of partitions) {
        const records = this.#log.partition(topic, partition)!
        const committed = group === null ? undefined : this.#log.committed(group, topic, partition)
        let offset = committed ?? 0
        if (committed === undefined && from.kind === 'latest') offset = records.length
        else if (committed === undefined && from.kind === 'offset') offset = Math.min(from.offset, records.length)
        else if (committed === undefined && from.kind === 'timestamp') {
          const i = records.findIndex((r) => r.timestamp >= from.timestamp)
          offset = i < 0 ? records.length : i
        }
        this.#positions.set(`${topic}\u0000${partition}`, { topic, partition, offset })
      }
    }
  }

  /** A fair share per partition, rotating the starting partition, as the embedded log does. */
  #collect(cap: number): LogRecord[] {
    const parts = [...this.#positions.values()]
    const out: LogRecord[] = []
    if (parts.length === 0) return out
    const share = Math.ceil(cap / parts.length)
    const start = this.#next++ % parts.length
    for (let pass = 0; pass < 2 && out.length < cap; pass++)
      for (let i = 0; i < parts.length && out.length < cap; i++) {
        const p = parts[(start + i) % parts.length]!
        const records = this.#log.partition(p.topic, p.partition)!
        const take = Math.min(pass === 0 ? share : cap, cap - out.length, records.length - p.offset)
        for (let k = 0; k < take; k++) out.push(records[p.offset++]!)
      }
    return out
  }
}
