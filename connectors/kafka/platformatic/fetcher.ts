import { setTimeout as sleep } from 'node:timers/promises'
import { FetchIsolationLevels, protocolErrorsCodesById, type Base, type Broker, type ClusterMetadata } from '@platformatic/kafka'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { backoffDelay } from '../../../runtime/util/retry.ts'
import { Signal } from '../../shared/signal.ts'
import { describe } from '../errors.ts'
import { log } from '../logger.ts'
import type { Part } from '../positions.ts'
import { brokerOf, metadata, request } from './client.ts'
import { committedRecords, type AbortedTransaction, type FetchedBatch } from './records.ts'

/** An assigned partition as the fetcher and its consumer see it. */
export interface FetchPart extends Part {
  /** Next offset to fetch: ahead of `position` by what is buffered. */
  fetchAt: number
  /** Fetched records not handed out yet, in offset order, from `head` on. */
  buffer: LogRecord[]
  head: number
  /** Bumped by every seek: what a fetch sent before brings back is dropped. */
  epoch: number
  /** Not fetched until positioned (or while a seek reads the end first). */
  ready: boolean
}

export interface FetcherOptions {
  maxWaitMs: number
  maxBytes: number
  maxBytesPerPartition: number
  /** The fetcher does not fetch while this many records wait to be handed out. */
  maxBuffered: number
}

/** Errors of one partition that mean the metadata is stale (a leader moved, a topic changed). */
const STALE = ['NOT_LEADER_OR_FOLLOWER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'KAFKA_STORAGE_ERROR']

interface FetchResponse {
  responses: Array<{
    topicId: string
    partitions: Array<{ partitionIndex: number; errorCode: number; highWatermark: bigint; abortedTransactions: AbortedTransaction[]; records?: FetchedBatch[] }>
  }>
}

/**
 * Fetches the consumer's partitions in the background, read_committed, and keeps what it fetched
 * until poll() takes it: a fetch is sent as soon as the previous one is answered and fewer than
 * `maxBuffered` records wait, so fetching overlaps with the caller's processing of the records
 * before. One fetch per leader at a time, on a connection of its own (the broker holds a fetch up
 * to `maxWaitMs` when nothing is new, and answers a connection's requests in order).
 *
 * Batches are decoded by the library; which records a read_committed reader sees is decided here
 * (records.ts), as are positions: every partition is fetched from where the consumer put it.
 */
export class Fetcher {
  readonly #signal = new Signal()
  #parts = new Map<string, FetchPart>()
  #running: Promise<void> | undefined
  #stopped = false
  #stale = false
  #failures = 0
  #turn = 0

  constructor(
    private readonly client: Base,
    private readonly options: FetcherOptions,
    /** Records arrived, or a partition's end moved. */
    private readonly onData: () => void,
    /** The partition's fetch offset is outside its log: the consumer moves it back in. */
    private readonly onOutOfRange: (part: FetchPart) => void,
  ) {}

  /** The partitions to fetch (a new assignment replaces the old one; its fetches are dropped). */
  setParts(parts: Map<string, FetchPart>): void {
    this.#parts = parts
    this.wake()
    this.#running ??= this.#run()
  }

  wake(): void {
    this.#signal.notify()
  }

  /** Records fetched and not handed out yet. */
  untaken(): number {
    let n = 0
    for (const p of this.#parts.values()) n += p.buffer.length - p.head
    return n
  }

  /**
   * Up to `cap` records: a fair share from each partition first, then whatever is left, starting
   * from a different partition each time so none starves.
   */
  take(cap: number): LogRecord[] {
    const out: LogRecord[] = []
    const parts = [...this.#parts.values()].filter((p) => p.ready && p.head < p.buffer.length)
    const n = parts.length
    if (n === 0) return out
    const share = Math.max(1, Math.ceil(cap / n))
    const start = this.#turn++ % n
    for (let pass = 0; pass < 2 && out.length < cap; pass++) {
      for (let i = 0; i < n && out.length < cap; i++) {
        const p = parts[(start + i) % n]!
        const want = Math.min(pass === 0 ? share : cap, cap - out.length, p.buffer.length - p.head)
        if (want <= 0) continue
        const end = p.head + want
        for (let k = p.head; k < end; k++) out.push(p.buffer[k]!)
        p.head = end
        p.position = p.buffer[end - 1]!.offset + 1
        if (p.head === p.buffer.length) {
          p.buffer = []
          p.head = 0
          // Past trailing aborted and control batches too.
          if (p.fetchAt > p.position) p.position = p.fetchAt
        }
      }
    }
    this.wake()
    return out
  }

  /** Drops what was fetched for the partition and fetches it from `offset` next. */
  reset(part: FetchPart, offset: number): void {
    part.epoch++
    part.buffer = []
    part.head = 0
    part.position = offset
    part.fetchAt = offset
    this.wake()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.wake()
    await this.#running
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const due = [...this.#parts.values()].filter((p) => p.ready && p.seeking === 0)
      if (due.length === 0 || this.untaken() >= this.options.maxBuffered) {
        await this.#signal.wait(100)
        continue
      }
      try {
        const meta = await metadata(this.client, [...new Set(due.map((p) => p.topic))], this.#stale)
        this.#stale = false
        const byLeader = new Map<number, FetchPart[]>()
        for (const p of due) {
          const leader = meta.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1
          if (leader < 0) {
            this.#stale = true
            continue
          }
          let list = byLeader.get(leader)
          if (list === undefined) byLeader.set(leader, (list = []))
          list.push(p)
        }
        await Promise.all([...byLeader].map(([leader, parts]) => this.#fetch(brokerOf(meta, leader), parts, meta)))
        this.#failures = 0
      } catch (e) {
        // The broker is away or restarting: fetch again with backoff; nothing was taken.
        this.#stale = true
        const wait = backoffDelay(++this.#failures, { initialDelayMs: 100, maxDelayMs: 5_000 })
        log.debug({ cause: describe(e), retryInMs: wait }, 'fetch failed')
        await this.#signal.wait(wait)
      }
      if (this.#stale) await sleep(20)
    }
  }

  async #fetch(broker: Broker, parts: FetchPart[], meta: ClusterMetadata): Promise<void> {
    const sent = parts.map((p) => ({ part: p, epoch: p.epoch, at: p.fetchAt }))
    const byTopic = new Map<string, Array<{ partition: number; currentLeaderEpoch: number; fetchOffset: bigint; lastFetchedEpoch: number; partitionMaxBytes: number }>>()
    const names = new Map<string, string>()
    for (const p of parts) {
      const t = meta.topics.get(p.topic)!
      names.set(t.id, p.topic)
      let list = byTopic.get(t.id)
      if (list === undefined) byTopic.set(t.id, (list = []))
      list.push({ partition: p.partition, currentLeaderEpoch: t.partitions[p.partition]?.leaderEpoch ?? -1, fetchOffset: BigInt(p.fetchAt), lastFetchedEpoch: -1, partitionMaxBytes: this.options.maxBytesPerPartition })
    }
    const topics = [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions }))
    const o = this.options
    let response: FetchResponse
    try {
      // Session id 0 and epoch -1: a full fetch each time, no fetch session kept on the broker.
      response = await request<FetchResponse>(this.client, 'Fetch', broker, [o.maxWaitMs, 1, o.maxBytes, FetchIsolationLevels.READ_COMMITTED, 0, -1, topics, [], ''], true)
    } catch (e) {
      // Errors of single partitions come with the whole response, the others' records included.
      const partial = (e as { response?: FetchResponse }).response
      if (partial?.responses === undefined) throw e
      response = partial
    }
    const byKey = new Map(sent.map((s) => [`${s.part.topic}\u0000${s.part.partition}`, s]))
    let arrived = false
    for (const t of response.responses) {
      const topic = names.get(t.topicId)
      if (topic === undefined) continue
      for (const r of t.partitions) {
        const s = byKey.get(`${topic}\u0000${r.partitionIndex}`)
        const part = s?.part
        // Sought, reassigned or closed since: the answer is for a position nobody wants now.
        if (part === undefined || this.#parts.get(`${topic}\u0000${r.partitionIndex}`) !== part || part.epoch !== s!.epoch || part.fetchAt !== s!.at) continue
        if (r.errorCode !== 0) {
          this.#partitionError(part, e2name(r.errorCode))
          continue
        }
        // The end is the log's, open transactions included (as kafkajs reports it): a reader is not
        // caught up while records it cannot see yet may still commit (a drain would stop early).
        const end = Number(r.highWatermark)
        if (end > part.end) part.end = end
        if (r.records === undefined || r.records.length === 0) continue
        const { records, next } = committedRecords(topic, r.partitionIndex, r.records, r.abortedTransactions, part.fetchAt)
        if (records.length > 0) {
          if (part.head === part.buffer.length) {
            part.buffer = records
            part.head = 0
          } else for (const rec of records) part.buffer.push(rec)
        }
        if (next > part.fetchAt) part.fetchAt = next
        // Nothing to hand out, but the reader moves past aborted and control batches.
        if (part.head === part.buffer.length && part.fetchAt > part.position) part.position = part.fetchAt
        arrived = true
      }
    }
    if (arrived) this.onData()
  }

  #partitionError(part: FetchPart, name: string): void {
    if (name === 'OFFSET_OUT_OF_RANGE') {
      this.onOutOfRange(part)
      return
    }
    if (STALE.includes(name)) this.#stale = true
    else log.warn({ topic: part.topic, partition: part.partition, error: name }, 'fetching the partition failed; fetching it again')
  }
}

/** Kafka's error name of a code, from the library's table. */
function e2name(code: number): string {
  return (protocolErrorsCodesById as Record<number, string>)[code] ?? `error code ${code}`
}
