import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import type { EachBatchPayload, IMemberAssignment } from 'kafkajs'
import { TributaryError, isTributaryError } from '../../../runtime/errors.ts'
import type { Consumer, ConsumerOptions, LogRecord, OutgoingRecord, PartitionOffset, PollOptions, RecordPosition, StartFrom, TopicPartition } from '../../../runtime/log/log.ts'
import { backoffDelay, retry } from '../../../runtime/util/retry.ts'
import { Mutex } from '../../shared/mutex.ts'
import { Signal } from '../../shared/signal.ts'
import { PRIVATE_GROUP_PREFIX, REQUEST_BACKOFF } from '../admin.ts'
import { Committer } from '../committer.ts'
import { checkCommitOffsets, checkConsumerOptions, checkSeekOffset, notAssigned, sortedAssignment } from '../consumer-checks.ts'
import type { ConsumerHost } from '../driver.ts'
import { describe, hasType, isRebalance, toTributaryError } from '../errors.ts'
import { log } from '../logger.ts'
import { fetchBytesFor } from '../options.ts'
import { PollWait, TOPIC_RECHECK_MS } from '../poll-wait.ts'
import { formatOffsets, readEnds, rebalanced, startOffsets, tpKey, type Part } from '../positions.ts'
import { partitionCounts, topicChanges } from '../topic-changes.ts'
import { Handoff, toLogRecords } from './handoff.ts'
import { Session, type SessionEvents } from './session.ts'

const HEARTBEAT_MS = 1000

/**
 * A Log consumer over kafkajs (see handoff.ts for how eachBatch feeds poll).
 *
 * Group membership: kafkajs always joins a group. A consumer with `group: null` joins a private
 * group of its own (random id, never committed to, hidden from listGroups) and positions itself
 * by seeking after each assignment. Partitions are paused from the moment they are assigned
 * until their start offset is resolved and sought (a pending seek, else the committed offset,
 * else `from`), so no record is read from a wrong position.
 *
 * Rebalances (at-least-once): a batch handed out by poll() is held in eachBatch until the next
 * poll(), and kafkajs cannot rejoin the group while it is held, so a commit made before polling
 * again is made while this consumer still owns the partitions, under its current generation, and
 * succeeds (the broker accepts commits while a rebalance is only pending). When a heartbeat
 * reports a pending rebalance, the next poll lets go of everything held (records handed out count
 * as read; the rest is fetched again by the next owner) and returns nothing until the new
 * assignment is positioned. Uncommitted records of a partition that moves are delivered again
 * from the group's committed offset: duplicates only of uncommitted records, never a loss. A
 * commit for a partition that is no longer assigned, or after the group expelled this member
 * (a processing stall beyond the rebalance timeout), fails with TRIB_LOG_REBALANCED.
 *
 * With `pipelined`, consecutive commits are grouped into one (committer.ts: one transaction, or
 * one offset commit, per commit interval), and a held batch is let go only once the group covering
 * its records committed, so the same holds for grouped commits.
 *
 * A failed commit rewinds the partitions it named to the group's committed offsets (read back
 * from the broker, after settling an exactly-once transaction whose outcome is unknown), so a
 * caller that keeps polling gets the uncommitted records again instead of skipping them.
 */
export class KafkajsConsumer implements Consumer {
  readonly #host: ConsumerHost
  readonly #group: string | null
  readonly #groupId: string
  readonly #topics: string[]
  readonly #from: StartFrom
  readonly #maxBuffered: number
  readonly #fetch: { maxBytes: number; maxBytesPerPartition: number }
  readonly #committer: Committer
  readonly #handoff = new Handoff()
  readonly #signal = new Signal()
  readonly #polling = new Mutex()
  #session: Session | undefined
  #starting: Promise<void> | undefined
  #needSession = false
  #retryAt = 0
  #sessionFailures = 0
  #started = false
  #closed = false
  #ready = false
  #generation = 0
  #missing: string[] = []
  /** Partitions per subscribed topic when the session opened. */
  #partitionCounts = new Map<string, number>()
  #lastTopicCheck = 0
  #parts = new Map<string, Part>()
  readonly #seeks = new Map<string, number>()
  #rebalancing = false
  #memberLost = false
  #fatal: TributaryError | undefined
  #rewind: TopicPartition[] | undefined
  #heartbeat: (() => Promise<void>) | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined

  constructor(host: ConsumerHost, options: ConsumerOptions) {
    checkConsumerOptions(options)
    const { options: opts } = host
    this.#host = host
    this.#group = options.group
    this.#groupId = options.group ?? `${PRIVATE_GROUP_PREFIX}${opts.kafka.clientId}.${randomUUID()}`
    this.#topics = [...new Set(options.topics)]
    this.#from = options.from ?? { kind: 'earliest' }
    this.#maxBuffered = Math.max(1, options.maxBufferedRecords ?? 10_000)
    this.#fetch = fetchBytesFor(options.maxBufferedRecords, opts.tuning)
    this.#committer = new Committer(host, options, {
      check: (offsets) => {
        if (this.#memberLost && offsets.length > 0) throw rebalanced(offsets[0]!, this.#group)
        return undefined
      },
      commitOffsets: (offsets) => this.#commitOffsets(offsets),
    })
  }

  async prepare(): Promise<void> {
    this.#assertOpen()
    await this.#committer.start()
  }

  poll(options: PollOptions = {}): Promise<LogRecord[]> {
    return this.#polling.run(() => this.#poll(options))
  }

  async #poll(options: PollOptions): Promise<LogRecord[]> {
    this.#assertOpen()
    const cap = Math.max(1, Math.min(options.maxRecords ?? 1000, this.#maxBuffered))
    const wait = new PollWait(options.maxWaitMs)
    if (!this.#started) this.#started = this.#needSession = true
    // A turn of the event loop per poll: records held in memory are handed out on promises alone,
    // which would starve I/O (the sends and commits running behind the caller) and timers (the
    // commit interval) until the held batches run out.
    await yieldToEventLoop()
    // The caller came back for more: the batches it fully took are done with.
    await this.#release(false)
    for (;;) {
      this.#assertOpen()
      if (this.#fatal) {
        this.#handoff.releaseAll()
        throw this.#fatal
      }
      await this.#maintain()
      if (this.#rebalancing || this.#rewind !== undefined || !this.#ready) await this.#release(true)
      else {
        const out = this.#handoff.take(cap)
        if (out.length > 0) return out
      }
      // Nothing to hand out: what waits for the commit interval becomes durable while we wait.
      await this.flush()
      const ms = await wait.next(() => this.caughtUp(), () => readEnds(this.#host.admin, this.#parts))
      if (ms === 0) return []
      await this.#signal.wait(ms)
    }
  }

  seek(position: PartitionOffset): void {
    this.#assertOpen()
    checkSeekOffset(position)
    const { topic, partition, offset } = position
    const key = tpKey(topic, partition)
    const part = this.#parts.get(key)
    if (!this.#topics.includes(topic) || (this.#ready && part === undefined && !this.#missing.includes(topic))) throw notAssigned(position)
    // Not positioned yet: the seek wins over the committed offset and `from` when it is.
    if (!this.#ready || part === undefined) {
      this.#seeks.set(key, offset)
      return
    }
    if (offset <= part.end) return this.#applySeek(part, offset)
    // Past the end we know: read the end again first. kafkajs answers an out-of-range fetch by
    // committing its default offset for the group.
    part.seeking++
    this.#handoff.dropPartition(topic, partition)
    this.#session?.pause([part])
    void this.#host.admin
      .watermarks(topic)
      .then((marks) => {
        part.end = Math.max(part.end, marks.get(partition)?.high ?? part.end)
      })
      .catch((e: unknown) => log.warn({ topic, partition, cause: describe(e) }, 'could not read the end offset for a seek'))
      .finally(() => {
        part.seeking--
        if (this.#parts.get(key) !== part || this.#closed) return
        if (offset > part.end) log.warn({ topic, partition, offset, end: part.end }, 'seek past the end: starting at the end')
        this.#applySeek(part, Math.min(offset, part.end))
        if (this.#ready) this.#session?.resume([part])
        this.#signal.notify()
      })
  }

  assignment(): TopicPartition[] {
    return sortedAssignment(this.#parts.values())
  }

  async commit(step: { offsets: PartitionOffset[]; records?: OutgoingRecord[] }): Promise<RecordPosition[]> {
    this.#assertOpen()
    if (this.#fatal) throw this.#fatal
    const records = step.records ?? []
    const offsets = step.offsets
    const group = this.#group
    if (group === null) {
      if (offsets.length > 0) throw new TributaryError('TRIB_USAGE', `a consumer without a group cannot commit offsets (topics ${this.#topics.join(', ')})`)
      return this.#host.append(records)
    }
    // Never polled, so never joined: a commit for a group without live members (replay).
    if (!this.#started) return this.#host.offlineCommit(group, records, offsets)
    checkCommitOffsets(group, offsets, this.#parts)
    // Between generations (or expelled) the partitions may already be someone else's.
    if ((this.#memberLost || !this.#ready) && offsets.length > 0) throw rebalanced(offsets[0]!, group)
    try {
      const positions = await this.#committer.commit(group, records, offsets)
      for (const o of offsets) {
        const part = this.#parts.get(tpKey(o.topic, o.partition))
        if (part) part.base = o.offset
      }
      return positions
    } catch (e) {
      const err = toTributaryError(e, `committing offsets ${formatOffsets(offsets)} of group ${group}`, { group })
      if (err.code === 'TRIB_KAFKA_FENCED') this.#fatal = err
      else if (offsets.length > 0) this.#rewind = [...(this.#rewind ?? []), ...offsets.map(({ topic, partition }) => ({ topic, partition }))]
      throw err
    }
  }

  /** Makes every commit so far durable (or failed) now, instead of at the end of the commit interval. */
  flush(): Promise<void> {
    return this.#committer.flush()
  }

  caughtUp(): boolean {
    if (this.#closed) return true
    if (!this.#started || !this.#ready || this.#rebalancing || this.#needSession || this.#starting || this.#rewind) return false
    if (this.#handoff.untaken() > 0) return false
    for (const p of this.#parts.values()) if (p.seeking > 0 || p.position < p.end) return false
    return true
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.flush()
    await this.#release(true)
    this.#signal.notify()
    clearInterval(this.#heartbeatTimer)
    const session = this.#session
    this.#session = undefined
    await session?.stop()
    await this.#starting?.catch(() => undefined)
    await this.#committer.close()
    this.#host.consumerClosed(this, this.#group, this.#committer.memberIndex)
  }

  // ---- lifecycle ----

  #assertOpen(): void {
    if (this.#closed) throw new TributaryError('TRIB_LOG_CLOSED', `consumer of ${this.#topics.join(', ')} is closed`)
  }

  /** Starts a session when one is due, picks up topics created since, and performs pending rewinds. */
  async #maintain(): Promise<void> {
    const now = Date.now()
    if (this.#needSession && this.#starting === undefined && now >= this.#retryAt) {
      this.#needSession = false
      this.#starting = this.#openSession()
        .then(() => void (this.#sessionFailures = 0))
        .catch((e: unknown) => this.#sessionFailed(e))
        .finally(() => {
          this.#starting = undefined
          this.#signal.notify()
        })
    }
    if (this.#ready && this.#starting === undefined && now - this.#lastTopicCheck >= TOPIC_RECHECK_MS) await this.#checkTopics()
    if (this.#rewind !== undefined && this.#ready) await this.#doRewind()
  }

  async #openSession(): Promise<void> {
    const admin = this.#host.admin
    // First, so a restarted member fences its predecessor before reading the group's offsets.
    await this.#committer.start()
    const exists = await Promise.all(this.#topics.map((t) => admin.exists(t)))
    if (this.#closed) return
    const present = this.#topics.filter((_, i) => exists[i])
    this.#missing = this.#topics.filter((_, i) => !exists[i])
    this.#lastTopicCheck = Date.now()
    this.#partitionCounts = await partitionCounts(admin, present)
    if (this.#closed) return
    if (present.length === 0) {
      this.#parts = new Map()
      this.#ready = true
      return
    }
    const session: Session = new Session(this.#host.options, this.#groupId, present, this.#fetch, this.#events(() => session))
    this.#session = session
    await session.start()
    if (this.#closed) await session.stop()
  }

  #sessionFailed(e: unknown): void {
    const err = toTributaryError(e, `starting the Kafka consumer of ${this.#topics.join(', ')} (group ${this.#group ?? 'none'})`, { topics: this.#topics })
    const session = this.#session
    this.#session = undefined
    void session?.stop()
    if (!err.retriable) {
      this.#fatal = err
      return
    }
    const retryInMs = backoffDelay(++this.#sessionFailures, REQUEST_BACKOFF)
    log.warn({ topics: this.#topics, group: this.#group, cause: err.message, attempt: this.#sessionFailures, retryInMs }, 'Kafka consumer could not start; retrying')
    this.#needSession = true
    this.#retryAt = Date.now() + retryInMs
  }

  /**
   * Subscribed topics that appeared, and partitions added to a topic (metadata at most
   * metadataMaxAgeMs old): the kafkajs consumer starts again on them (a group member joins again
   * and the leader assigns the new partitions; positions elsewhere are kept).
   */
  async #checkTopics(): Promise<void> {
    this.#lastTopicCheck = Date.now()
    try {
      const { appeared, grown } = await topicChanges(this.#host.admin, this.#missing, this.#partitionCounts)
      if ((appeared.length === 0 && grown.length === 0) || this.#closed || !this.#ready || this.#starting !== undefined) return
      log.info({ group: this.#group, appeared, grown }, 'subscribed topics appeared or gained partitions: restarting the Kafka consumer on them')
      await this.#release(true)
      this.#ready = false
      const session = this.#session
      this.#session = undefined
      await session?.stop()
      this.#needSession = true
      this.#retryAt = 0
    } catch (e) {
      log.debug({ cause: describe(e) }, 'checking for subscribed topics failed')
    }
  }

  async #doRewind(): Promise<void> {
    const tps = this.#rewind!
    const group = this.#group!
    try {
      await this.#committer.settle()
      const committed = await this.#host.admin.committedOffsets(group, [...new Set(tps.map((t) => t.topic))])
      const byKey = new Map(committed.map((o) => [tpKey(o.topic, o.partition), o.offset]))
      this.#rewind = undefined
      for (const { topic, partition } of tps) {
        const part = this.#parts.get(tpKey(topic, partition))
        if (part === undefined) continue
        part.base = byKey.get(tpKey(topic, partition)) ?? part.base
        this.#applySeek(part, part.base)
      }
      this.#committer.recover()
      log.info({ group, partitions: tps.map((t) => `${t.topic}-${t.partition}`) }, 'rewound to the committed offsets after a failed commit')
    } catch (e) {
      log.warn({ group, cause: describe(e) }, 'rewinding after a failed commit failed; retrying at the next poll')
    }
  }

  /**
   * Lets go of held batches (all of them, or those fully handed out). Once let go, a partition
   * may move to another member: the offsets of our last transaction must be readable by then.
   */
  async #release(all: boolean): Promise<void> {
    if (this.#handoff.size === 0 || (!all && !this.#handoff.anyTaken())) return
    // A grouped commit never outlives the batches it covers: while they are held, kafkajs cannot
    // rejoin the group, so the partitions are still ours when it commits.
    await this.flush()
    await this.#committer.settled()
    if (all) this.#handoff.releaseAll()
    else this.#handoff.releaseTaken()
  }

  #applySeek(part: Part, offset: number): void {
    this.#handoff.dropPartition(part.topic, part.partition)
    part.position = offset
    part.stale = true
    this.#session?.seek(part.topic, part.partition, offset)
  }

  /** At-least-once: the offsets, once the unit's records are acknowledged. */
  async #commitOffsets(offsets: readonly PartitionOffset[]): Promise<void> {
    // kafkajs silently skips a commit while its runner is down (between generations).
    if (!this.#ready || this.#session === undefined) throw rebalanced(offsets[0]!, this.#group)
    await this.#session.commitOffsets(offsets)
  }

  // ---- kafkajs events ----

  #events(current: () => Session): SessionEvents {
    const live = (): boolean => !this.#closed && this.#session === current()
    return {
      onAssign: (a) => live() && this.#onAssign(current(), a),
      onBatch: (p) => (live() ? this.#onBatch(p) : Promise.resolve()),
      onSkippedBatch: (topic, partition, lastOffset, hw) => {
        const part = live() ? this.#parts.get(tpKey(topic, partition)) : undefined
        if (part === undefined || part.stale || part.seeking > 0) return
        part.position = Math.max(part.position, Number(lastOffset) + 1)
        part.end = Math.max(part.end, Number(hw))
        this.#signal.notify()
      },
      onFetchStart: () => {
        for (const p of this.#parts.values()) p.stale = false
      },
      onRebalancing: () => {
        this.#ready = false
        this.#rebalancing = true
      },
      onCrash: (error, restart) => {
        if (!live()) return
        this.#ready = false
        if (!restart) this.#fatal = toTributaryError(error, `the Kafka consumer of ${this.#topics.join(', ')} (group ${this.#group ?? 'none'}) stopped`)
        this.#signal.notify()
      },
    }
  }

  /** A new generation: pause everything assigned until its start offsets are resolved and sought. */
  #onAssign(session: Session, assignment: IMemberAssignment): void {
    const later = this.#generation > 0
    const gen = ++this.#generation
    this.#ready = false
    this.#rebalancing = false
    this.#memberLost = false
    const parts = new Map<string, Part>()
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = tpKey(topic, partition)
        const prev = this.#parts.get(key)
        // Without a group, a partition that appeared since the last session (a topic created, or
        // partitions added to one) is read from its start: everything in it came after we looked.
        if (later && prev === undefined && this.#group === null && !this.#seeks.has(key)) this.#seeks.set(key, 0)
        parts.set(key, { topic, partition, position: prev?.position ?? -1, end: prev?.end ?? 0, seeking: 0, stale: false, base: prev?.base ?? 0 })
      }
    }
    this.#parts = parts
    session.pause([...parts.values()])
    log.debug({ group: this.#group, assignment }, 'partitions assigned')
    void this.#position(session, gen)
  }

  /** Resolves and seeks the start offsets of a new generation; failures retry until a newer generation (or close) takes over. */
  async #position(session: Session, gen: number): Promise<void> {
    const current = (): boolean => gen === this.#generation && !this.#closed && session === this.#session
    await retry(
      async () => {
        if (!current()) return
        const parts = [...this.#parts.values()]
        const starts = await startOffsets(this.#host.admin, { parts, group: this.#group, from: this.#from, seeks: this.#seeks })
        if (!current()) return
        for (const p of parts) {
          const s = starts.get(tpKey(p.topic, p.partition))!
          Object.assign(p, { position: s.offset, end: s.high, base: s.committed ?? s.offset, stale: true })
          session.seek(p.topic, p.partition, s.offset)
        }
        this.#seeks.clear()
        this.#ready = true
        session.resume(parts)
        this.#signal.notify()
      },
      {
        what: 'positioning the assigned partitions failed',
        backoff: REQUEST_BACKOFF,
        // Whatever failed, a later attempt may work; the retries end when this generation does.
        classify: (e) => (isTributaryError(e) && e.retriable ? e : new TributaryError('TRIB_KAFKA_UNAVAILABLE', describe(e), { cause: e })),
        retryOn: current,
        logger: log,
        context: { group: this.#group },
      },
    ).catch(() => undefined)
  }

  #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    const part = this.#parts.get(tpKey(batch.topic, batch.partition))
    if (!this.#ready || this.#rebalancing || part === undefined || part.seeking > 0 || payload.isStale()) return Promise.resolve()
    const hw = Number(batch.highWatermark)
    if (hw > part.end) part.end = hw
    const records = toLogRecords(batch.topic, batch.partition, batch.messages)
    if (records.length === 0) return Promise.resolve()
    this.#heartbeat = payload.heartbeat
    return new Promise<void>((resolve) => {
      this.#handoff.add({
        topic: batch.topic,
        partition: batch.partition,
        records,
        lastOffset: batch.lastOffset(),
        reader: part,
        next: 0,
        finish: (to) => {
          if (to !== undefined) payload.resolveOffset(to)
          resolve()
        },
      })
      this.#heartbeats()
      this.#signal.notify()
    })
  }

  /** Keeps the membership alive while batches are held (kafkajs only heartbeats between batches). */
  #heartbeats(): void {
    if (this.#heartbeatTimer !== undefined) return
    this.#heartbeatTimer = setInterval(() => {
      if (this.#handoff.size === 0 || this.#closed) {
        clearInterval(this.#heartbeatTimer)
        this.#heartbeatTimer = undefined
        return
      }
      this.#heartbeat?.().catch((e: unknown) => {
        if (hasType(e, 'REBALANCE_IN_PROGRESS')) this.#rebalancing = true
        else if (isRebalance(e)) {
          log.warn({ group: this.#group, cause: describe(e) }, 'the group expelled this consumer; its uncommitted records go to the next owner')
          this.#memberLost = this.#rebalancing = true
        } else log.debug({ group: this.#group, cause: describe(e) }, 'heartbeat failed')
        this.#signal.notify()
      })
    }, HEARTBEAT_MS)
    this.#heartbeatTimer.unref()
  }
}
