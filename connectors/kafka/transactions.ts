import type { Producer } from 'kafkajs'
import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, PartitionOffset, RecordPosition } from '../../runtime/log/log.ts'
import { Mutex } from '../shared/mutex.ts'
import type { KafkaAdmin } from './admin.ts'
import { createClient, log } from './client.ts'
import { describe, isFenced, toTributaryError } from './errors.ts'
import type { ResolvedKafkaOptions } from './options.ts'
import { formatOffsets } from './positions.ts'
import { describeFailure, producerFor, sendChunks, type PartitionCounts, type Planner } from './producer.ts'

/** kafkajs' sendOffsets shape: offsets are strings, grouped by topic. */
function byTopic(offsets: readonly PartitionOffset[]): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const topics = new Map<string, Array<{ partition: number; offset: string }>>()
  for (const o of offsets) {
    let list = topics.get(o.topic)
    if (list === undefined) topics.set(o.topic, (list = []))
    list.push({ partition: o.partition, offset: String(o.offset) })
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }))
}

/**
 * Outputs and group offsets in one Kafka transaction (KIP-98): begin, produce, sendOffsets,
 * commit; abort on any failure. One transactional producer, so commits through it are serialized.
 *
 * The transactional id is stable per group member, so a restarted instance fences its killed
 * predecessor: initTransactions (at start) bumps the producer epoch and aborts whatever the
 * predecessor left open, before the consumer reads the group's offsets. The fenced side gets
 * TRIB_KAFKA_FENCED and must stop.
 *
 * After EndTxn returns, the commit markers are still being written; the offsets only read back
 * once they land. `settled()` waits until they do: the consumer awaits it before it lets go of
 * any partition, so a member that takes a partition over never reads the older offsets (kafkajs
 * has no OffsetFetch requireStable). The check runs in the background meanwhile, so a caller
 * that keeps its partitions does not wait for it.
 */
export class TransactionalCommitter {
  private producer: Promise<Producer> | undefined
  private readonly mutex = new Mutex()
  private fenced: TributaryError | undefined
  private closed = false
  private visible: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly options: ResolvedKafkaOptions,
    readonly transactionalId: string,
    private readonly planner: Planner,
    private readonly counts: PartitionCounts,
    private readonly admin: KafkaAdmin,
  ) {}

  /** Connects and initializes the transactional id (fencing any older holder). */
  async start(): Promise<void> {
    await this.mutex.run(() => this.connect())
  }

  /**
   * Commits records and offsets atomically. `check` runs just before the commit request and may
   * throw to abort (the consumer uses it to refuse a commit after losing its group membership).
   */
  commit(group: string, records: readonly OutgoingRecord[], offsets: readonly PartitionOffset[], check?: () => void): Promise<RecordPosition[]> {
    if (records.length === 0 && offsets.length === 0) return Promise.resolve([])
    return this.mutex.run(async () => {
      if (this.fenced) throw this.fenced
      if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `transactional producer ${this.transactionalId} is closed`)
      const chunks = await this.planner.plan(records, this.counts)
      const producer = await this.connect()
      let txn: Awaited<ReturnType<Producer['transaction']>> | undefined
      try {
        txn = await producer.transaction()
        const positions = await sendChunks(txn, chunks, records.length)
        if (offsets.length > 0) await txn.sendOffsets({ consumerGroupId: group, topics: byTopic(offsets) })
        check?.()
        await txn.commit()
        txn = undefined
        if (offsets.length > 0) {
          const check = this.admin.waitOffsetsVisible(group, [...offsets]).catch((e: unknown) => log.warn({ group, cause: describe(e) }, 'could not read back committed offsets'))
          // Chained, not Promise.all([visible, check]): that would nest one array per commit, forever.
          this.visible = this.visible.then(() => check)
        }
        return positions
      } catch (e) {
        // Built only on failure: a commit per batch should not pay for its error message.
        const where = `transaction ${this.transactionalId} of group ${group} (${records.length} records, offsets ${formatOffsets(offsets)})`
        if (txn?.isActive()) await txn.abort().catch((abortError: unknown) => log.debug({ cause: describe(abortError) }, `abort of ${where} failed`))
        // A new producer re-initializes the id: a clean epoch, nothing left open.
        this.reset()
        if (isFenced(e)) {
          this.fenced = new TributaryError(
            'TRIB_KAFKA_FENCED',
            `${where}: another instance took over transactional id ${this.transactionalId}; this consumer must stop (${describe(e)})`,
            { cause: e, details: { transactionalId: this.transactionalId, group } },
          )
          throw this.fenced
        }
        if (e instanceof TributaryError) throw e
        const tooLarge = describeFailure(e, records, `${where} aborted:`)
        if (tooLarge.code === 'TRIB_RECORD_TOO_LARGE') throw tooLarge
        throw toTributaryError(e, `${where} aborted`, { transactionalId: this.transactionalId, group }, 'TRIB_KAFKA_TRANSACTION')
      }
    })
  }

  /** Resolves once the offsets of every commit so far read back from the group coordinator. */
  settled(): Promise<unknown> {
    return this.visible
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.closed = true
      const p = this.producer
      this.producer = undefined
      await p?.then((x) => x.disconnect()).catch(() => undefined)
    })
  }

  private connect(): Promise<Producer> {
    if (this.fenced) return Promise.reject(this.fenced)
    if (this.producer === undefined) {
      const producer = producerFor(createClient(this.options, 'txn'), this.options, this.transactionalId)
      // kafkajs registers the transactional id (InitProducerId, which fences older holders and
      // settles what they left open) only at the first transaction: begin an empty one now.
      const connecting = producer
        .connect()
        .then(() => producer.transaction())
        .then((t) => t.abort())
        .then(() => producer)
      this.producer = connecting
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined
      })
    }
    return this.producer.catch((e: unknown) => {
      if (isFenced(e)) throw new TributaryError('TRIB_KAFKA_FENCED', `transactional id ${this.transactionalId} is held by a newer producer (${describe(e)})`, { cause: e })
      throw toTributaryError(e, `initializing transactional id ${this.transactionalId} on ${this.options.kafka.brokers.join(',')}`, {
        transactionalId: this.transactionalId,
      })
    })
  }

  private reset(): void {
    const p = this.producer
    this.producer = undefined
    p?.then((x) => x.disconnect()).catch(() => undefined)
  }
}
