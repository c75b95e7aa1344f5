import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../../runtime/errors.ts'
import type {
  ConsumerOptions,
  Log,
  LogCapabilities,
  OutgoingRecord,
  PartitionOffset,
  RecordPosition,
  TopicInfo,
  TopicPartition,
  TopicOptions,
} from '../../runtime/log/log.ts'
import { assertPartition, assertPartitionCount, assertTopicName } from '../../runtime/log/names.ts'
import { createPartitioner } from '../../runtime/log/partitioner.ts'
import { validateRecords } from '../../runtime/log/validate.ts'
import { UndoFailed } from '../shared/fs.ts'
import { abandonedTail } from '../shared/journal.ts'
import { acquireLock, describeHolder, LockOwner, releaseLock, restoreBrokenLock, tryLock, type AcquireOptions, type Holder } from '../shared/lock.ts'
import { Mutex } from '../shared/mutex.ts'
import { Signal } from '../shared/signal.ts'
import { encodeBatch } from './codec.ts'
import { EmbeddedConsumer, type ConsumerHost } from './consumer.ts'
import { ReadFiles } from './files.ts'
import { Journal, journalCorrupt } from './journal.ts'
import { log } from './logger.ts'
import { groupDirName, layout, memberFileName, type Layout } from './names.ts'
import type { ResolvedOptions } from './options.ts'
import { Partition, type PartitionWrite } from './partition.ts'
import { checkSegments, hasSegmentFiles, type StrayDamage } from './recovery.ts'
import { LogState, type GroupEntry, type JournalEntry, type PartitionEntry } from './state.ts'
import { validateOffsets } from './validate.ts'

/**
 * The embedded log: segment files plus a commit journal (see journal.ts) under one directory.
 * Appends from any number of processes serialize on a writer lock held for one append; reads never
 * take it. An append is acknowledged once its journal record is written.
 *
 * Opened read-only (`readOnly`), it changes nothing on disk: no lock, no repair, no file created.
 * Opened for writing, it repairs only what a crash leaves: when it takes over the writer lock of a
 * process that died holding it, it cuts that writer's unacknowledged append (see recovery.ts).
 * Anything else that does not match the journal is damage: a damaged journal fails the open with
 * TRIB_LOG_CORRUPT; a damaged partition fails only its own reads and appends.
 */
export class EmbeddedLog implements Log, ConsumerHost {
  readonly capabilities: LogCapabilities = Object.freeze({ assignment: 'static', atomicCommits: true })
  readonly files = new ReadFiles()
  readonly state: LogState
  /** Segment files that belong to no partition the journal knows, found on open. */
  stray: StrayDamage[] = []
  private readonly journal: Journal
  private readonly paths: Layout
  private readonly owner: LockOwner | undefined
  /** Made once: the writer lock is taken per append. */
  private readonly writerLock: AcquireOptions
  private readonly mutex = new Mutex()
  private readonly changed = new Signal()
  private readonly partitioner = createPartitioner()
  private readonly consumers = new Set<EmbeddedConsumer>()
  /** A failed append that could not be taken back: this instance keeps the writer lock and stops writing. */
  private broken: Error | undefined
  private closed = false

  private constructor(private readonly options: ResolvedOptions) {
    this.paths = layout(path.resolve(options.dir))
    const mode = options.readOnly ? 'read' : 'write'
    if (mode === 'write') for (const dir of [this.paths.root, this.paths.topicsDir, this.paths.groupsDir]) fs.mkdirSync(dir, { recursive: true })
    this.state = new LogState((topic, p) => new Partition(topic, p, this.paths.partitionDir(topic, p), this.files))
    this.journal = new Journal(this.paths.journalDir, this.state, { rotateBytes: options.journalBytes, fsync: options.fsync === 'always', mode })
    this.owner = mode === 'write' ? new LockOwner(this.paths.root) : undefined
    const file = this.paths.writerLock
    this.writerLock = {
      timeoutMs: options.lockTimeoutMs,
      timeoutError: (holder) =>
        new TributaryError('TRIB_LOG_LOCKED', `${file} is held by ${describeHolder(holder)} for more than ${options.lockTimeoutMs} ms`, {
          details: { file, pid: holder?.pid, host: holder?.host },
        }),
    }
  }

  static async open(options: ResolvedOptions): Promise<EmbeddedLog> {
    const instance = new EmbeddedLog(options)
    try {
      if (options.readOnly) await instance.openReader()
      else await instance.openWriter()
    } catch (e) {
      instance.journal.close()
      instance.owner?.dispose()
      throw e
    }
    log.debug({ dir: instance.paths.root, topics: instance.state.topics.size, readOnly: options.readOnly }, 'embedded log open')
    return instance
  }

  private async openReader(): Promise<void> {
    if (!this.journal.open(hasSegmentFiles(this.paths))) return
    await this.checkJournalTail()
    this.stray = checkSegments(this.state, this.paths, this.files, 'read')
  }

  /** Under the writer lock: what a dead writer left is repaired, anything else reported. */
  private async openWriter(): Promise<void> {
    const { broke } = await this.acquireWriter()
    try {
      LockOwner.sweep(this.paths.root)
      this.journal.open(hasSegmentFiles(this.paths))
      this.settle(broke, true)
    } catch (e) {
      this.releaseWriter(broke)
      throw e
    }
    releaseLock(this.paths.writerLock, this.owner!)
  }

  /** After a failure: a dead writer's lock goes back as it was, so the next writer repairs its append. */
  private releaseWriter(broke: Holder | undefined): void {
    if (broke === undefined) releaseLock(this.paths.writerLock, this.owner!)
    else restoreBrokenLock(this.paths.writerLock, this.owner!, broke)
  }

  /**
   * Holding the writer lock, on a caught-up state: a torn journal line is a dead writer's (cut,
   * with its segment bytes) when its lock was taken over (`broke`), and damage otherwise.
   */
  private settle(broke: Holder | undefined, opening: boolean): void {
    const tail = this.journal.tail()
    if (broke === undefined) {
      if (tail !== undefined) throw journalCorrupt('unterminated last line, and no writer died holding the lock: the journal was cut or damaged', { file: tail.file, position: tail.from, end: tail.to })
      if (!opening) return
      this.journal.settle()
      this.stray = checkSegments(this.state, this.paths, this.files, 'write')
      return
    }
    log.warn({ dir: this.paths.root, pid: broke.pid, host: broke.host }, 'a writer died holding the lock: repairing its unacknowledged append')
    this.journal.cutTornTail()
    this.journal.settle()
    for (const topic of this.state.topics.values()) for (const p of topic.partitions) p.invalidateWriter()
    this.stray = checkSegments(this.state, this.paths, this.files, 'crashed')
  }

  /** A reader's check of the journal's unterminated tail (see abandonedTail). */
  private async checkJournalTail(): Promise<void> {
    const cut = await abandonedTail(() => this.journal.tail(), () => this.journal.catchUp(), this.paths.writerLock)
    if (cut !== undefined) {
      throw journalCorrupt('unterminated last line, and no writer holds the lock: the journal was cut or damaged', { file: this.journal.fileName, position: cut.from, end: cut.to })
    }
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
    this.writable('append')
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
    this.writable(`setting offsets of group ${group}`)
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
    this.owner?.dispose()
  }

  // ---- ConsumerHost ----

  refresh(): void {
    this.assertOpen()
    this.journal.catchUp()
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
    const owner = this.writable(`consumer group ${group}`)
    const dir = path.join(this.paths.groupsDir, groupDirName(group))
    fs.mkdirSync(dir, { recursive: true })
    const taken: string[] = []
    const release = () => {
      for (const file of taken.splice(0)) releaseLock(file, owner)
    }
    for (const { topic, partition } of partitions) {
      const file = path.join(dir, memberFileName(topic, partition))
      const attempt = tryLock(file, owner)
      if (!attempt.ok) {
        release()
        throw new TributaryError(
          'TRIB_LOG_GROUP_BUSY',
          `consumer group ${group} already has a live member on ${topic}-${partition} (${describeHolder(attempt.holder)}, ${file})`,
          { details: { group, topic, partition, file, pid: attempt.holder?.pid, host: attempt.holder?.host } },
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

  /** The lock owner of a writable log; a read-only one refuses `what`. */
  private writable(what: string): LockOwner {
    this.assertOpen()
    if (this.owner === undefined) {
      throw new TributaryError('TRIB_USAGE', `embedded log ${this.paths.root} was opened read-only: ${what} needs a writable log`, { details: { dir: this.paths.root } })
    }
    return this.owner
  }

  private acquireWriter(): Promise<{ broke: Holder | undefined }> {
    return acquireLock(this.paths.writerLock, this.owner!, this.writerLock)
  }



  /**
   * Runs fn holding the in-process mutex and the cross-process writer lock, on a caught-up state.
   * If fn fails with a write it could not take back, the lock is kept (and this instance writes
   * no more): when this process ends, the next writer finds a dead writer's torn append to cut.
   */
  private withWriter<T>(fn: () => T): Promise<T> {
    const owner = this.writable('writing')
    return this.mutex.run(async () => {
      this.assertOpen()
      if (this.broken !== undefined) throw this.broken
      const { broke } = await this.acquireWriter()
      let release = true
      try {
        this.journal.catchUp()
        try {
          this.settle(broke, false)
        } catch (e) {
          release = false
          this.releaseWriter(broke)
          throw e
        }
        const result = fn()
        this.journal.maybeRotate()
        return result
      } catch (e) {
        if (e instanceof UndoFailed) {
          release = false
          this.broken = new TributaryError('TRIB_LOG_CORRUPT', `embedded log ${this.paths.root}: ${e.message}; this process keeps the writer lock until it exits`, {
            cause: e,
            details: { file: e.file },
          })
          log.error({ file: e.file, err: e.message }, 'a failed append could not be taken back; holding the writer lock until exit')
        }
        throw e
      } finally {
        if (release) releaseLock(this.paths.writerLock, owner)
      }
    })
  }

  /**
   * One positional write per touched partition, then one journal record holding the new extents and
   * the group offsets: the journal write is the single point where the whole step becomes visible.
   * If anything fails before that point, the partitions' writes are taken back.
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
    for (const part of batches.keys()) part.assertSound()
    const positions: RecordPosition[] = new Array(records.length)
    const writes: PartitionEntry[] = []
    const written: Array<[Partition, PartitionWrite]> = []
    const now = Date.now()
    try {
      for (const [part, indexes] of batches) {
        const batch = indexes.map((i) => records[i]!)
        const buf = encodeBatch(batch, part.end, batch.map((r) => r.timestamp ?? now))
        const w = part.write(buf, batch.length, this.options.segmentBytes, this.options.fsync === 'always')
        written.push([part, w])
        writes.push([part.topic, part.partition, w.seg, w.end, w.pos, w.from])
        for (let k = 0; k < indexes.length; k++) positions[indexes[k]!] = { topic: part.topic, partition: part.partition, offset: part.end + k }
      }
      const entry: JournalEntry = {}
      if (writes.length > 0) entry.p = writes
      if (offsets.length > 0) entry.g = offsets
      if (writes.length > 0 || offsets.length > 0) this.journal.commit(entry)
    } catch (e) {
      if (e instanceof UndoFailed) throw e
      for (const [part, w] of written) {
        try {
          part.undo(w)
        } catch (undo) {
          throw new UndoFailed(part.segmentFile(w.seg), e, undo)
        }
      }
      throw e
    }
    this.changed.notify()
    return positions
  }
}

const notFound = (topic: string): TributaryError =>
  new TributaryError('TRIB_TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { details: { topic } })
