import { TributaryError } from '../../runtime/errors.ts'
import type {
  Consumer,
  ConsumerOptions,
  LogRecord,
  OutgoingRecord,
  PartitionOffset,
  PollOptions,
  RecordPosition,
  StartFrom,
  TopicPartition,
} from '../../runtime/log/log.ts'
import type { ReadFiles } from './files.ts'
import { log } from './logger.ts'
import { Mutex } from '../shared/mutex.ts'
import { assertTopicName } from '../../runtime/log/names.ts'
import type { Partition } from './partition.ts'
import { PartitionReader } from './reader.ts'
import type { LogState } from './state.ts'

/** What a consumer needs from its log (kept narrow so the consumer stays one concept). */
export interface ConsumerHost {
  readonly state: LogState
  readonly files: ReadFiles
  /** Applies journal records appended by anyone; throws TRIB_LOG_CLOSED after close. */
  refresh(): void
  /** Resolves on an in-process append or after ms, whichever is first. */
  waitForChange(ms: number): Promise<void>
  commitStep(group: string, offsets: PartitionOffset[], records: OutgoingRecord[]): Promise<RecordPosition[]>
  /** Takes the member locks of a group's partitions; returns their release. Throws TRIB_LOG_GROUP_BUSY. */
  acquireMember(group: string, partitions: readonly TopicPartition[]): () => void
  consumerClosed(consumer: EmbeddedConsumer): void
}

const RECHECK_MS = 50
const DEFAULT_MAX_WAIT_MS = 1000

export class EmbeddedConsumer implements Consumer {
  private readonly readers: PartitionReader[] = []
  private readonly assignedTopics = new Set<string>()
  /** Readers still to be positioned by timestamp (needs an async index scan). */
  private readonly byTimestamp = new Map<PartitionReader, number>()
  private readonly seeks: PartitionOffset[] = []
  private readonly group: string | null
  private readonly topics: string[]
  private readonly from: StartFrom
  private readonly maxBuffered: number
  private readonly releases: Array<() => void> = []
  private readonly member: { index: number; count: number } | undefined
  /** Polls of one consumer never overlap: they share the readers' positions. */
  private readonly polling = new Mutex()
  private next = 0
  private closed = false

  constructor(
    private readonly host: ConsumerHost,
    options: ConsumerOptions,
  ) {
    for (const t of options.topics) assertTopicName(t)
    this.group = options.group
    this.topics = [...new Set(options.topics)]
    this.from = options.from ?? { kind: 'earliest' }
    this.maxBuffered = Math.max(1, options.maxBufferedRecords ?? 10_000)
    const m = options.member
    if (m !== undefined && !(Number.isInteger(m.count) && m.count >= 1 && Number.isInteger(m.index) && m.index >= 0 && m.index < m.count))
      throw new TributaryError('TRIB_USAGE', `consumer member ${m.index} of ${m.count} is not a valid static membership`)
    this.member = m
    host.refresh()
    try {
      this.assignNewTopics()
    } catch (e) {
      for (const release of this.releases) release()
      throw e
    }
  }

  poll(options: PollOptions = {}): Promise<LogRecord[]> {
    return this.polling.run(() => this.pollOnce(options))
  }

  private async pollOnce(options: PollOptions): Promise<LogRecord[]> {
    const cap = Math.max(1, Math.min(options.maxRecords ?? 1000, this.maxBuffered))
    const deadline = Date.now() + Math.max(0, options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS)
    for (;;) {
      this.assertOpen()
      this.host.refresh()
      this.assignNewTopics()
      this.applySeeks()
      await this.resolveTimestamps()
      const out = await this.collect(cap)
      if (out.length > 0) return out
      const remaining = deadline - Date.now()
      if (remaining <= 0) return out
      await this.host.waitForChange(Math.min(RECHECK_MS, remaining))
    }
  }

  seek(position: PartitionOffset): void {
    this.assertOpen()
    if (!Number.isSafeInteger(position.offset) || position.offset < 0) {
      throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `cannot seek ${position.topic}-${position.partition} to offset ${position.offset}`, {
        details: { ...position },
      })
    }
    if (this.reader(position.topic, position.partition) === undefined) {
      throw new TributaryError('TRIB_TOPIC_INVALID', `${position.topic}-${position.partition} is not assigned to this consumer`, {
        details: { ...position },
      })
    }
    this.seeks.push({ ...position })
  }

  assignment(): TopicPartition[] {
    return this.readers.map((r) => ({ topic: r.partition.topic, partition: r.partition.partition }))
  }

  async commit(step: { offsets: PartitionOffset[]; records?: OutgoingRecord[] }): Promise<RecordPosition[]> {
    this.assertOpen()
    if (this.group === null && step.offsets.length > 0) {
      throw new TributaryError('TRIB_USAGE', `a consumer without a group cannot commit offsets (topics ${this.topics.join(', ')})`)
    }
    for (const o of step.offsets) {
      if (this.reader(o.topic, o.partition) === undefined)
        throw new TributaryError('TRIB_USAGE', `${o.topic}-${o.partition} is not assigned to this consumer of group ${this.group}; it cannot commit its offset`, {
          details: { ...o },
        })
    }
    return this.host.commitStep(this.group ?? '', step.offsets, step.records ?? [])
  }

  caughtUp(): boolean {
    if (this.closed) return true
    this.host.refresh()
    this.assignNewTopics()
    return this.seeks.length === 0 && this.byTimestamp.size === 0 && this.readers.every((r) => !r.hasMore())
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.readers.length = 0
    for (const release of this.releases.splice(0)) release()
    this.host.consumerClosed(this)
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `consumer of ${this.topics.join(', ')} is closed`)
  }

  /**
   * Topics created after the consumer started are picked up on the next poll. With a group, each
   * assigned partition's member lock is taken first, so no two live consumers share a partition.
   */
  private assignNewTopics(): void {
    if (this.assignedTopics.size === this.topics.length) return
    for (const name of this.topics) {
      const topic = this.host.state.topics.get(name)
      if (topic === undefined || this.assignedTopics.has(name)) continue
      const m = this.member
      const mine = topic.partitions.filter((p) => m === undefined || p.partition % m.count === m.index)
      if (this.group !== null) this.releases.push(this.host.acquireMember(this.group, mine.map((p) => ({ topic: name, partition: p.partition }))))
      this.assignedTopics.add(name)
      for (const p of mine) this.readers.push(this.startReader(p))
    }
  }

  private startReader(p: Partition): PartitionReader {
    const committed = this.group === null ? undefined : this.host.state.committedOffset(this.group, p.topic, p.partition)
    const from = this.from
    let offset = 0
    if (committed !== undefined) offset = committed
    else if (from.kind === 'latest') offset = p.end
    else if (from.kind === 'offset') offset = from.offset
    const reader = new PartitionReader(p, this.host.files, Math.min(Math.max(offset, 0), p.end))
    if (committed === undefined && from.kind === 'timestamp') this.byTimestamp.set(reader, from.timestamp)
    return reader
  }

  private reader(topic: string, partition: number): PartitionReader | undefined {
    return this.readers.find((r) => r.partition.topic === topic && r.partition.partition === partition)
  }

  private applySeeks(): void {
    for (const s of this.seeks.splice(0)) {
      const reader = this.reader(s.topic, s.partition)
      if (reader === undefined) continue
      this.byTimestamp.delete(reader)
      const end = reader.partition.end
      if (s.offset > end) log.warn({ topic: s.topic, partition: s.partition, offset: s.offset, end }, 'seek past the end: starting at the end')
      reader.seek(Math.min(s.offset, end))
    }
  }

  private async resolveTimestamps(): Promise<void> {
    for (const [reader, ts] of this.byTimestamp) {
      reader.seek(await reader.partition.offsetForTimestamp(ts))
      this.byTimestamp.delete(reader)
    }
  }

  /** A fair share per partition first, then whatever is left, rotating the starting partition. */
  private async collect(cap: number): Promise<LogRecord[]> {
    const out: LogRecord[] = []
    const n = this.readers.length
    if (n === 0) return out
    const share = Math.ceil(cap / n)
    const start = this.next++ % n
    for (let pass = 0; pass < 2 && out.length < cap; pass++) {
      for (let i = 0; i < n && out.length < cap; i++) {
        const reader = this.readers[(start + i) % n]!
        await reader.read(Math.min(pass === 0 ? share : cap, cap - out.length), out)
      }
    }
    return out
  }
}
