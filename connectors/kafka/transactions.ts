import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, PartitionOffset, RecordPosition } from '../../runtime/log/log.ts'
import { CommitQueue, type CommitPolicy } from './commit-queue.ts'
import type { ConsumerHost, GroupMember, Transaction, TransactionWire } from './driver.ts'
import { describe, isFenced, toTributaryError } from './errors.ts'
import { log } from './logger.ts'
import { formatOffsets } from './positions.ts'
import { describeFailure, sendChunks } from './planner.ts'

/**
 * Outputs and group offsets in one Kafka transaction (KIP-98): begin, produce, sendOffsets,
 * commit; abort on any failure. Consecutive commits share one transaction (see commit-queue.ts)
 * until it is due: `policy.intervalMs` after its first commit (Kafka Streams' commit.interval.ms)
 * or `policy.maxRecords` records; each commit resolves once its transaction committed.
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
  private producer: Promise<TransactionWire<unknown>> | undefined
  private readonly queue: CommitQueue<Transaction<unknown>>
  private fenced: TributaryError | undefined
  private closed = false
  private visible: Promise<unknown> = Promise.resolve()

  /**
   * `check` runs before the offsets go into a transaction and again just before its commit
   * request, and may throw to abort it (the consumer refuses a commit after losing its group
   * membership); it names the member the offsets are committed for, when the client sends it.
   */
  constructor(
    private readonly host: Pick<ConsumerHost, 'driver' | 'options' | 'planner' | 'counts' | 'admin'>,
    readonly transactionalId: string,
    policy: CommitPolicy = { intervalMs: 0, maxRecords: Infinity },
    private readonly check?: (offsets: readonly PartitionOffset[]) => GroupMember | undefined,
  ) {
    this.queue = new CommitQueue<Transaction<unknown>>(
      {
        open: () => this.begin(),
        send: async (txn, records) => {
          try {
            return await sendChunks((chunk) => txn.send(chunk), await this.host.planner.plan(records, this.host.counts), records.length)
          } catch (e) {
            // Named here, where the records are known: the broker refused the largest one.
            const tooLarge = describeFailure(e, records, `transaction ${this.transactionalId}:`)
            throw tooLarge.code === 'TRIB_RECORD_TOO_LARGE' ? tooLarge : e
          }
        },
        close: (txn, group, offsets) => this.end(txn, group, offsets),
        fail: (txn, e, group, records, offsets) => this.failed(txn, e, group, records, offsets),
      },
      policy,
    )
  }

  /** Connects and initializes the transactional id (fencing any older holder), after what is pending ended. */
  async start(): Promise<void> {
    await this.queue.flush()
    await this.connect()
  }

  /** Commits records and offsets atomically: resolves once the transaction holding them committed. */
  commit(group: string, records: readonly OutgoingRecord[], offsets: readonly PartitionOffset[]): Promise<RecordPosition[]> {
    if (records.length === 0 && offsets.length === 0) return Promise.resolve([])
    if (this.fenced) return Promise.reject(this.fenced)
    return this.queue.commit(group, records, offsets)
  }

  /** Commits the open transaction now; resolves once every transaction so far ended (never rejects). */
  flush(): Promise<void> {
    return this.queue.flush()
  }

  /** Whether commits wait in an open transaction. */
  get pending(): boolean {
    return this.queue.pending
  }

  /** After a failed transaction, accepts commits again (the consumer rewound to the committed offsets). */
  recover(): void {
    this.queue.recover()
  }

  /** Resolves once the offsets of every commit so far read back from the group coordinator. */
  settled(): Promise<unknown> {
    return this.visible
  }

  async close(): Promise<void> {
    await this.queue.flush()
    // A closed member's partitions go to others: its offsets must read back first.
    await this.visible
    this.closed = true
    const p = this.producer
    this.producer = undefined
    await p?.then((x) => x.close()).catch(() => undefined)
  }

  private async begin(): Promise<Transaction<unknown>> {
    if (this.fenced) throw this.fenced
    if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `transactional producer ${this.transactionalId} is closed`)
    return (await this.connect()).begin()
  }

  private async end(txn: Transaction<unknown>, group: string, offsets: readonly PartitionOffset[]): Promise<void> {
    if (offsets.length > 0) await txn.sendOffsets(group, offsets, this.check?.(offsets))
    this.check?.(offsets)
    await txn.commit()
    if (offsets.length > 0) {
      const check = this.host.admin.waitOffsetsVisible(group, [...offsets]).catch((e: unknown) => log.warn({ group, cause: describe(e) }, 'could not read back committed offsets'))
      // Chained, not Promise.all([visible, check]): that would nest one array per commit, forever.
      this.visible = this.visible.then(() => check)
    }
  }

  private async failed(txn: Transaction<unknown> | undefined, e: unknown, group: string, records: number, offsets: readonly PartitionOffset[]): Promise<TributaryError> {
    // Built only on failure: a commit per batch should not pay for its error message.
    const where = `transaction ${this.transactionalId} of group ${group} (${records} records, offsets ${formatOffsets(offsets)})`
    if (txn?.isActive()) await txn.abort().catch((abortError: unknown) => log.debug({ cause: describe(abortError) }, `abort of ${where} failed`))
    // A new producer re-initializes the id: a clean epoch, nothing left open.
    this.reset()
    if (isFenced(e) || (e instanceof TributaryError && e.code === 'TRIB_KAFKA_FENCED')) {
      this.fenced ??= new TributaryError(
        'TRIB_KAFKA_FENCED',
        `${where}: another instance took over transactional id ${this.transactionalId}; this consumer must stop (${describe(e)})`,
        { cause: e, details: { transactionalId: this.transactionalId, group } },
      )
      return this.fenced
    }
    if (e instanceof TributaryError) return e
    // Its topics' partitions were resolved before the send: an unknown topic is a broker catching up.
    return toTributaryError(e, `${where} aborted`, { transactionalId: this.transactionalId, group }, { fallback: 'TRIB_KAFKA_TRANSACTION', topicExists: true })
  }

  private connect(): Promise<TransactionWire<unknown>> {
    if (this.fenced) return Promise.reject(this.fenced)
    if (this.producer === undefined) {
      const producer = this.host.driver.transactional(this.host.options, this.transactionalId)
      const connecting = producer.init().then(() => producer)
      this.producer = connecting
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined
      })
    }
    return this.producer.catch((e: unknown) => {
      if (isFenced(e)) throw new TributaryError('TRIB_KAFKA_FENCED', `transactional id ${this.transactionalId} is held by a newer producer (${describe(e)})`, { cause: e })
      throw toTributaryError(e, `initializing transactional id ${this.transactionalId} on ${this.host.options.kafka.brokers.join(',')}`, {
        transactionalId: this.transactionalId,
      })
    })
  }

  private reset(): void {
    const p = this.producer
    this.producer = undefined
    p?.then((x) => x.close()).catch(() => undefined)
  }
}
