import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../../runtime/errors.ts'
import type {
  ConsumerOptions,
  Log,
  OutgoingRecord,
  PartitionOffset,
  RecordPosition,
  TopicInfo,
  TopicPartition,
  TopicOptions,
} from '../../runtime/log/log.ts'
import { createPartitioner } from '../../runtime/log/partitioner.ts'
import { encodeBatch } from './codec.ts'
import { EmbeddedConsumer, type ConsumerHost } from './consumer.ts'
import { ReadFiles } from './files.ts'
import { Journal } from './journal.ts'
import { LockToken, Mutex, tryLock, unlinkQuiet, WriterLock } from './lock.ts'
import { log } from './logger.ts'
import { assertPartition, assertPartitionCount, assertTopicName, groupDirName, layout, memberFileName, type Layout } from './names.ts'
import type { ResolvedOptions } from './options.ts'
import { Partition } from './partition.ts'
import { hasSegmentFiles, recoverSegments } from './recovery.ts'
import { Signal } from './signal.ts'
import { LogState, type GroupEntry, type JournalEntry, type PartitionEntry } from './state.ts'
import { validateOffsets, validateRecords } from './validate.ts'

/**
 * The embedded log: segment files plus a commit journal (see journal.ts) under one directory.
 * Appends from any number of processes serialize on a writer lock held for one append; reads never
 * take it. An append is acknowledged once its journal record is written.
 */
export class EmbeddedLog implements Log, ConsumerHost {
  readonly kind = 'embedded' as const
  readonly files = new ReadFiles()
  readonly state: LogState
  private readonly journal: Journal
  private readonly paths: Layout
  private readonly token: LockToken
  private readonly lock: WriterLock
  private readonly mutex = new Mutex()
  private readonly changed = new Signal()
  private readonly partitioner = createPartitioner()
  private readonly consumers = new Set<EmbeddedConsumer>()
  private closed = false

  private constructor(private readonly options: ResolvedOptions) {
    this.paths = layout(path.resolve(options.dir))
    for (const dir of [this.paths.root, this.paths.topicsDir, this.paths.groupsDir]) fs.mkdirSync(dir, { recursive: true })
    this.state = new LogState((topic, p) => new Partition(topic, p, this.paths.partitionDir(topic, p), this.files))
    this.journal = new Journal(this.paths.journalDir, this.state, { rotateBytes: options.journalBytes, fsync: options.fsync === 'always' })
    this.token = new LockToken(this.paths.root)
    this.lock = new WriterLock(this.paths.writerLock, this.token, options.lockTimeoutMs)
  }

  /** Opens under the writer lock: repairs whatever a killed writer left, then serves reads and appends. */
  static async open(options: ResolvedOptions): Promise<EmbeddedLog> {
    const instance = new EmbeddedLog(options)
    try {
      await instance.lock.acquire()
      try {
        LockToken.sweep(instance.paths.root)
        instance.journal.openLocked(hasSegmentFiles(instance.paths))
        recoverSegments(instance.state, instance.paths, instance.files)
      } finally {
        instance.lock.release()
      }
    } catch (e) {
      instance.journal.close()
      instance.token.dispose()
      throw e
    }
    log.debug({ dir: instance.paths.root, topics: instance.state.topics.size }, 'embedded log open')
    return instance
  }

  async ensureTopic(name: string, options: TopicOptions = {}): Promise<TopicInfo> {
    assertTopicName(name)
    const partitions = options.partitions ?? this.options.defaultPartitions
    assertPartitionCount(name, partitions)
    this.refresh()
    return (
      this.state.topicInfo(name) ??
      this.withWriter(() => {
        if (!this.state.topics.has(name)) this.journal.commit({ t: [[name, partitions]] })
        return this.state.topicInfo(name)!
      })
    )
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.refresh()
    return this.state.topicInfo(name)
  }

  async listTopics(): Promise<TopicInfo[]> {
    this.refresh()
    return [...this.state.topics.keys()].sort().map((name) => this.state.topicInfo(name)!)
  }

  async append(records: OutgoingRecord[]): Promise<RecordPosition[]> {
    this.assertOpen()
    validateRecords(records)
    if (records.length === 0) return []
    return this.withWriter(() => this.appendLocked(records, []))
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]> {
    this.refresh()
    const t = this.state.topics.get(topic)
    if (t === undefined) throw notFound(topic)
    return Promise.all(t.partitions.map(async (p) => ({ topic, partition: p.partition, offset: await p.offsetForTimestamp(timestamp) })))
  }

  consumer(options: ConsumerOptions): EmbeddedConsumer {
    this.assertOpen()
    const consumer = new EmbeddedConsumer(this, options)
    this.consumers.add(consumer)
    return consumer
  }

  async listGroups(): Promise<string[]> {
    this.refresh()
    return [...this.state.groups.keys()].sort()
  }

  async groupOffsets(group: string): Promise<PartitionOffset[]> {
    this.refresh()
    return this.state.groupOffsets(group)
  }

  async setGroupOffsets(group: string, offsets: PartitionOffset[]): Promise<void> {
    this.assertOpen()
    // Holding the member locks meanwhile keeps a consumer of the group from starting mid-change.
    const release = this.acquireMember(group, offsets)
    try {
      await this.withWriter(() => this.journal.commit({ g: validateOffsets(this.state, group, offsets) }))
    } finally {
      release()
    }
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    this.assertOpen()
    for (const n of names) assertTopicName(n)
    const gone = await this.withWriter(() => {
      const topics = names.map((n) => this.state.topics.get(n)).filter((t) => t !== undefined)
      if (topics.length > 0) this.journal.commit({ x: topics.map((t) => t.name) })
      return topics
    })
    // Committed: the files go now. A crash before this leaves files no journal mentions, which the
    // next open deletes (recovery.ts).
    for (const topic of gone)
      for (const p of topic.partitions) {
        p.closeWriter()
        for (const s of p.segments) this.files.forget(s.file)
      }
    for (const topic of gone) fs.rmSync(path.join(this.paths.topicsDir, topic.name), { recursive: true, force: true })
  }

  async deleteGroups(groups: readonly string[]): Promise<void> {
    this.assertOpen()
    const release = groups.map((g) => this.acquireMember(g, this.state.groupOffsets(g)))
    try {
      await this.withWriter(() => {
        const known = groups.filter((g) => this.state.groups.has(g))
        if (known.length > 0) this.journal.commit({ xg: known })
      })
    } finally {
      release.forEach((r) => r())
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.mutex.run(() => undefined)
    for (const c of [...this.consumers]) await c.close()
    this.changed.notify()
    this.journal.close()
    for (const topic of this.state.topics.values()) for (const p of topic.partitions) p.closeWriter()
    this.files.close()
    this.token.dispose()
  }

  // ---- ConsumerHost ----

  refresh(): void {
    this.assertOpen()
    this.journal.catchUp(false)
  }

  waitForChange(ms: number): Promise<void> {
    return this.changed.wait(ms)
  }

  commitStep(group: string, offsets: PartitionOffset[], records: OutgoingRecord[]): Promise<RecordPosition[]> {
    this.assertOpen()
    validateRecords(records)
    return this.withWriter(() => this.appendLocked(records, validateOffsets(this.state, group, offsets)))
  }

  acquireMember(group: string, partitions: readonly TopicPartition[]): () => void {
    const dir = path.join(this.paths.groupsDir, groupDirName(group))
    fs.mkdirSync(dir, { recursive: true })
    const taken: string[] = []
    const release = () => {
      for (const file of taken.splice(0)) unlinkQuiet(file)
    }
    for (const { topic, partition } of partitions) {
      const file = path.join(dir, memberFileName(topic, partition))
      const attempt = tryLock(file, this.token)
      if (!attempt.ok) {
        release()
        throw new TributaryError(
          'TRIB_LOG_GROUP_BUSY',
          `consumer group ${group} already has a live member on ${topic}-${partition} (pid ${attempt.holder ?? 'unknown'}, ${file})`,
          { details: { group, topic, partition, file, pid: attempt.holder } },
        )
      }
      taken.push(file)
    }
    return release
  }

  consumerClosed(consumer: EmbeddedConsumer): void {
    this.consumers.delete(consumer)
  }

  // ---- writer side ----

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `embedded log ${this.paths.root} is closed`)
  }

  /** Runs fn holding the in-process mutex and the cross-process writer lock, on a caught-up state. */
  private withWriter<T>(fn: () => T): Promise<T> {
    return this.mutex.run(async () => {
      this.assertOpen()
      const brokeStale = await this.lock.acquire()
      try {
        this.journal.catchUp(true)
        if (brokeStale) {
          for (const topic of this.state.topics.values()) for (const p of topic.partitions) p.invalidateWriter()
          recoverSegments(this.state, this.paths, this.files)
        }
        return fn()
      } finally {
        this.lock.release()
      }
    })
  }

  /**
   * One positional write per touched partition, then one journal record holding the new extents and
   * the group offsets: the journal write is the single point where the whole step becomes visible.
   */
  private appendLocked(records: OutgoingRecord[], offsets: GroupEntry[]): RecordPosition[] {
    const counts = new Map<string, number>()
    for (const r of records) counts.set(r.topic, this.state.topics.get(r.topic)?.partitions.length ?? this.options.defaultPartitions)
    for (const r of records) if (r.partition !== undefined) assertPartition(r.topic, r.partition, counts.get(r.topic)!)
    const created = [...counts.keys()].filter((t) => !this.state.topics.has(t))
    // Auto-creation is its own record: like Kafka, a topic may exist before its first record lands.
    if (created.length > 0) this.journal.commit({ t: created.map((t) => [t, this.options.defaultPartitions]) })

    const batches = new Map<Partition, number[]>()
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const topic = this.state.topics.get(r.topic)!
      const p = r.partition ?? this.partitioner(r.topic, r.key, topic.partitions.length)
      const part = topic.partitions[p]!
      const list = batches.get(part)
      if (list === undefined) batches.set(part, [i])
      else list.push(i)
    }
    const positions: RecordPosition[] = new Array(records.length)
    const writes: PartitionEntry[] = []
    const now = Date.now()
    try {
      for (const [part, indexes] of batches) {
        const batch = indexes.map((i) => records[i]!)
        const buf = encodeBatch(batch, part.end, batch.map((r) => r.timestamp ?? now))
        const w = part.write(buf, batch.length, this.options.segmentBytes, this.options.fsync === 'always')
        writes.push([part.topic, part.partition, w.seg, w.end, w.pos, w.from])
        for (let k = 0; k < indexes.length; k++) positions[indexes[k]!] = { topic: part.topic, partition: part.partition, offset: part.end + k }
      }
      const entry: JournalEntry = {}
      if (writes.length > 0) entry.p = writes
      if (offsets.length > 0) entry.g = offsets
      if (writes.length > 0 || offsets.length > 0) this.journal.commit(entry)
    } catch (e) {
      for (const part of batches.keys()) part.invalidateWriter()
      throw e
    }
    this.changed.notify()
    return positions
  }
}

const notFound = (topic: string): TributaryError =>
  new TributaryError('TRIB_TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { details: { topic } })
