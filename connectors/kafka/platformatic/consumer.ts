import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { Base } from '@platformatic/kafka'
import { TributaryError } from '../../../runtime/errors.ts'
import type { Consumer, ConsumerOptions, LogRecord, OutgoingRecord, PartitionOffset, PollOptions, RecordPosition, StartFrom, TopicPartition } from '../../../runtime/log/log.ts'
import { backoffDelay } from '../../../runtime/util/retry.ts'
import { Mutex } from '../../shared/mutex.ts'
import { Signal } from '../../shared/signal.ts'
import { REQUEST_BACKOFF } from '../admin.ts'
import { Committer } from '../committer.ts'
import { checkCommitOffsets, checkConsumerOptions, checkSeekOffset, notAssigned, sortedAssignment } from '../consumer-checks.ts'
import type { ConsumerHost } from '../driver.ts'
import { describe, toTributaryError } from '../errors.ts'
import { log } from '../logger.ts'
import { fetchBytesFor } from '../options.ts'
import { PollWait, TOPIC_RECHECK_MS } from '../poll-wait.ts'
import { formatOffsets, readEnds, rebalanced, startOffsets, tpKey } from '../positions.ts'
import { partitionCounts, topicChanges } from '../topic-changes.ts'
import { baseOptions } from './client.ts'
import { Fetcher, type FetchPart } from './fetcher.ts'
import { GroupMembership } from './group.ts'

/**
 * A Log consumer over @platformatic/kafka's protocol layer: group membership (group.ts) and a
 * background fetcher (fetcher.ts) that fetches the next records while the caller processes the
 * ones it polled, so fetching is pipelined with processing and with the previous commit.
 *
 * A consumer without a group joins none: it reads every partition of its topics from where it
 * was put. A group member reads what the group's leader assigns it. When the coordinator starts a
 * rebalance (a heartbeat says so), the next poll first makes every commit so far durable under the
 * current generation (the coordinator takes them while the rebalance is pending), then drops what
 * it fetched and joins again: uncommitted records of a partition that moves are delivered again by
 * the next owner from the group's committed offset (duplicates of uncommitted records only, never a
 * loss). Exactly-once offsets carry the member's generation (KIP-447), so a member the group moved
 * on from cannot commit them. A commit for a partition no longer assigned, or after the group
 * expelled this member, fails with TRIB_LOG_REBALANCED.
 *
 * A failed commit rewinds the partitions it named to the group's committed offsets (as on kafkajs).
 */
export class PlatformaticConsumer implements Consumer {
  readonly #host: ConsumerHost
  readonly #group: string | null
  readonly #topics: string[]
  readonly #from: StartFrom
  readonly #maxBuffered: number
  readonly #committer: Committer
  readonly #signal = new Signal()
  readonly #polling = new Mutex()
  /** Fetches on connections of their own; the membership's heartbeats and commits on another. */
  readonly #fetchClient: Base
  readonly #groupClient: Base | undefined
  readonly #membership: GroupMembership | undefined
  readonly #fetcher: Fetcher
  #parts = new Map<string, FetchPart>()
  readonly #seeks = new Map<string, number>()
  #missing: string[] = []
  /** Partitions per subscribed topic when the session opened. */
  #partitionCounts = new Map<string, number>()
  #lastTopicCheck = 0
  #starting: Promise<void> | undefined
  #needSession = false
  #retryAt = 0
  #sessionFailures = 0
  #started = false
  #closed = false
  #ready = false
  #generation = 0
  #fatal: TributaryError | undefined
  #rewind: TopicPartition[] | undefined

  constructor(host: ConsumerHost, options: ConsumerOptions) {
    checkConsumerOptions(options)
    const opts = host.options
    this.#host = host
    this.#group = options.group
    this.#topics = [...new Set(options.topics)]
    this.#from = options.from ?? { kind: 'earliest' }
    this.#maxBuffered = Math.max(1, options.maxBufferedRecords ?? 10_000)
    this.#committer = new Committer(host, options, {
      check: (offsets) => {
        if (offsets.length === 0) return this.#membership?.member()
        if (this.#membership?.state === 'lost') throw rebalanced(offsets[0]!, this.#group)
        return this.#membership?.member()
      },
      commitOffsets: (offsets) => this.#commitOffsets(offsets),
    })
    const bytes = fetchBytesFor(options.maxBufferedRecords, opts.tuning)
    this.#fetchClient = new Base(baseOptions(opts, 'consumer'))
    this.#fetcher = new Fetcher(
      this.#fetchClient,
      { maxWaitMs: opts.tuning.fetchMaxWaitMs, ...bytes, maxBuffered: this.#maxBuffered },
      () => this.#signal.notify(),
      (part) => this.#outOfRange(part),
    )
    if (options.group !== null) {
      this.#groupClient = new Base(baseOptions(opts, 'group'))
      this.#membership = new GroupMembership(this.#groupClient, opts, options.group, this.#topics, () => this.#signal.notify())
    }
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
    // A turn of the event loop per poll: records already fetched are handed out on promises alone,
    // which would starve I/O (sends and commits behind the caller) and timers (the commit interval).
    await yieldToEventLoop()
    for (;;) {
      this.#assertOpen()
      if (this.#fatal) throw this.#fatal
      await this.#maintain()
      if (this.#ready && this.#rewind === undefined && !this.#rebalancePending()) {
        const out = this.#fetcher.take(cap)
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
    if (offset <= part.end) return this.#fetcher.reset(part, offset)
    // Past the end we know: read the end again first (a fetch outside the log fails).
    part.seeking++
    this.#fetcher.reset(part, part.position)
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
        this.#fetcher.reset(part, Math.min(offset, part.end))
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
    if ((this.#membership?.state === 'lost' || !this.#ready) && offsets.length > 0) throw rebalanced(offsets[0]!, group)
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
    if (!this.#started || !this.#ready || this.#needSession || this.#starting || this.#rewind || this.#rebalancePending()) return false
    if (this.#fetcher.untaken() > 0) return false
    for (const p of this.#parts.values()) if (p.seeking > 0 || p.position < p.end) return false
    return true
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#signal.notify()
    await this.flush()
    await this.#starting?.catch(() => undefined)
    await this.#fetcher.stop()
    // Our partitions go to others once we leave: our last offsets must read back first.
    await this.#committer.settled().catch(() => undefined)
    await this.#membership?.close()
    await this.#committer.close()
    await Promise.all([this.#fetchClient.close().catch(() => undefined), this.#groupClient?.close().catch(() => undefined)])
    this.#host.consumerClosed(this, this.#group, this.#committer.memberIndex)
  }

  // ---- lifecycle ----

  #assertOpen(): void {
    if (this.#closed) throw new TributaryError('TRIB_LOG_CLOSED', `consumer of ${this.#topics.join(', ')} is closed`)
  }

  #rebalancePending(): boolean {
    const s = this.#membership?.state
    return s === 'rebalancing' || s === 'lost'
  }

  /** Joins when due (first poll, a rebalance, topics created since), and performs pending rewinds. */
  async #maintain(): Promise<void> {
    const now = Date.now()
    if (this.#ready && this.#starting === undefined && this.#rebalancePending()) await this.#leaveGeneration()
    if (this.#ready && this.#starting === undefined && now - this.#lastTopicCheck >= TOPIC_RECHECK_MS) await this.#checkTopics()
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
    if (this.#rewind !== undefined && this.#ready) await this.#doRewind()
  }

  /**
   * Before joining again: every commit so far becomes durable under the generation that read its
   * records (the coordinator takes them while a rebalance is pending), then what was fetched goes.
   */
  async #leaveGeneration(): Promise<void> {
    await this.flush()
    await this.#committer.settled().catch(() => undefined)
    this.#ready = false
    this.#parts = new Map()
    this.#fetcher.setParts(this.#parts)
    this.#needSession = true
    this.#retryAt = 0
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
    let assigned: TopicPartition[]
    if (this.#membership !== undefined) assigned = await this.#membership.join()
    else {
      assigned = []
      for (const topic of present) {
        const n = (await admin.partitionCount(topic)) ?? 0
        for (let partition = 0; partition < n; partition++) assigned.push({ topic, partition })
      }
    }
    if (this.#closed) return
    this.#partitionCounts = await partitionCounts(admin, present)
    if (this.#closed) return
    const later = this.#generation > 0
    const gen = ++this.#generation
    const parts = new Map<string, FetchPart>()
    for (const { topic, partition } of assigned) {
      const prev = this.#parts.get(tpKey(topic, partition))
      // Without a group, a partition that appeared since the last session (a topic created, or
      // partitions added to one) is read from its start: everything in it came after we looked.
      if (later && prev === undefined && this.#group === null && !this.#seeks.has(tpKey(topic, partition))) this.#seeks.set(tpKey(topic, partition), 0)
      parts.set(tpKey(topic, partition), {
        topic,
        partition,
        position: prev?.position ?? -1,
        end: prev?.end ?? 0,
        seeking: 0,
        stale: false,
        base: prev?.base ?? 0,
        fetchAt: 0,
        buffer: [],
        head: 0,
        epoch: 0,
        ready: false,
      })
    }
    this.#parts = parts
    const starts = await startOffsets(admin, { parts: [...parts.values()], group: this.#group, from: this.#from, seeks: this.#seeks })
    if (this.#closed || gen !== this.#generation) return
    for (const p of parts.values()) {
      const s = starts.get(tpKey(p.topic, p.partition))!
      Object.assign(p, { position: s.offset, fetchAt: s.offset, end: s.high, base: s.committed ?? s.offset, ready: true })
    }
    this.#seeks.clear()
    this.#fetcher.setParts(parts)
    this.#ready = true
    log.debug({ group: this.#group, partitions: assigned.length }, 'partitions assigned')
  }

  #sessionFailed(e: unknown): void {
    const err = toTributaryError(e, `starting the Kafka consumer of ${this.#topics.join(', ')} (group ${this.#group ?? 'none'})`, { topics: this.#topics })
    if (this.#closed) return
    if (!err.retriable) {
      this.#fatal = err
      return
    }
    const retryInMs = backoffDelay(++this.#sessionFailures, REQUEST_BACKOFF)
    log.warn({ topics: this.#topics, group: this.#group, cause: err.message, attempt: this.#sessionFailures, retryInMs }, 'Kafka consumer could not start; retrying')
    this.#needSession = true
    this.#retryAt = Date.now() + retryInMs
  }

  /** Subscribed topics that appear are picked up by joining again (the leader assigns them then). */
  /**
   * Subscribed topics that appeared, and partitions added to a topic (metadata at most
   * metadataMaxAgeMs old): a group member joins again (the leader assigns the new partitions), a
   * consumer without a group takes them on, keeping its positions elsewhere.
   */
  async #checkTopics(): Promise<void> {
    this.#lastTopicCheck = Date.now()
    try {
      const { appeared, grown } = await topicChanges(this.#host.admin, this.#missing, this.#partitionCounts)
      if ((appeared.length === 0 && grown.length === 0) || this.#closed || !this.#ready || this.#starting !== undefined) return
      log.info({ group: this.#group, appeared, grown }, 'subscribed topics appeared or gained partitions: taking them on')
      if (this.#group !== null) return await this.#leaveGeneration()
      // Positions stay in #parts for the next session; nothing is handed out until it is open.
      this.#ready = false
      this.#needSession = true
      this.#retryAt = 0
    } catch (e) {
      log.debug({ cause: describe(e) }, 'checking the subscribed topics failed')
    }
  }

  /** The fetch position left the log (retention, a truncated topic): back to its nearest end. */
  #outOfRange(part: FetchPart): void {
    part.seeking++
    void this.#host.admin
      .watermarks(part.topic)
      .then((marks) => {
        const w = marks.get(part.partition)
        if (w === undefined) return
        part.end = w.high
        const to = Math.min(Math.max(part.fetchAt, w.low), w.high)
        log.warn({ topic: part.topic, partition: part.partition, offset: part.fetchAt, to }, 'fetch position outside the log: moved to its nearest end')
        this.#fetcher.reset(part, to)
      })
      .catch((e: unknown) => log.warn({ topic: part.topic, partition: part.partition, cause: describe(e) }, 'could not read the offsets after an out-of-range fetch'))
      .finally(() => {
        part.seeking--
        this.#fetcher.wake()
      })
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
        this.#fetcher.reset(part, part.base)
      }
      this.#committer.recover()
      log.info({ group, partitions: tps.map((t) => `${t.topic}-${t.partition}`) }, 'rewound to the committed offsets after a failed commit')
    } catch (e) {
      log.warn({ group, cause: describe(e) }, 'rewinding after a failed commit failed; retrying at the next poll')
    }
  }

  /** At-least-once: the offsets, once the unit's records are acknowledged, under this generation. */
  async #commitOffsets(offsets: readonly PartitionOffset[]): Promise<void> {
    const member = this.#membership?.member()
    if (member === undefined) throw rebalanced(offsets[0]!, this.#group)
    await this.#membership!.commitOffsets(offsets, member)
  }
}
