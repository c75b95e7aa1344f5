import type { TributaryError } from '../../runtime/errors.ts'
import type { ConsumerOptions, OutgoingRecord, PartitionOffset, RecordPosition } from '../../runtime/log/log.ts'
import { Appender } from './appender.ts'
import { CommitQueue, type CommitPolicy } from './commit-queue.ts'
import type { ConsumerHost, GroupMember } from './driver.ts'
import { toTributaryError } from './errors.ts'
import { formatOffsets } from './positions.ts'
import { TransactionalCommitter } from './transactions.ts'

/** What the committer needs from its consumer's group membership. */
export interface MemberHooks {
  /**
   * Runs before offsets are committed and may throw (TRIB_LOG_REBALANCED) when the consumer lost
   * the partitions; names the member the commit is for, when the client sends it (KIP-447).
   */
  check(offsets: readonly PartitionOffset[]): GroupMember | undefined
  /** At-least-once: commits the group's offsets with the consumer's membership (OffsetCommit). */
  commitOffsets(offsets: readonly PartitionOffset[]): Promise<void>
}

/**
 * How a group consumer's commits reach the broker, whichever client drives it: each unit in one
 * Kafka transaction with the offsets (exactly-once), or through an idempotent producer followed by
 * an offset commit (at-least-once). A pipelined caller (the processor) gets its commits grouped per
 * `transport.kafka.commitIntervalMs` or `commitMaxRecords` (commit-queue.ts).
 */
export class Committer {
  readonly #txn: TransactionalCommitter | undefined
  readonly #plain: CommitQueue<Appender> | undefined
  #appender: Appender | undefined
  /**
   * The member index this consumer reserved in its group (given `member`, or exactly-once: its
   * transactional id derives from it), released when the consumer closes.
   */
  readonly memberIndex: number | undefined

  constructor(host: ConsumerHost, options: ConsumerOptions, hooks: MemberHooks) {
    const k = host.options.kafka
    const policy: CommitPolicy = options.pipelined ? { intervalMs: k.commitIntervalMs, maxRecords: k.commitMaxRecords } : { intervalMs: 0, maxRecords: Infinity }
    if (options.group === null) return
    if (options.member !== undefined || options.exactlyOnce) this.memberIndex = host.memberIndex(options.group, options.member?.index)
    if (options.exactlyOnce) {
      // Stable per group and member: a restarted member fences the one it replaces (transactions.ts).
      // Instances of one product in different processes need different clientIds (e.g. the pod name).
      this.#txn = new TransactionalCommitter(host, `${k.clientId}.${options.group}.${this.memberIndex}`, policy, (offsets) => hooks.check(offsets))
      return
    }
    this.#plain = new CommitQueue<Appender>(
      {
        open: async () => (this.#appender ??= new Appender(host.driver, host.options, 'consumer-producer', host.planner, host.counts)),
        send: (appender, records) => appender.append(records),
        close: async (_appender, _group, offsets) => {
          if (offsets.length === 0) return
          hooks.check(offsets)
          await hooks.commitOffsets(offsets)
        },
        fail: async (_appender, e, group, records, offsets): Promise<TributaryError> =>
          toTributaryError(e, `committing ${records} records and offsets ${formatOffsets(offsets)} of group ${group}`, { group }),
      },
      policy,
    )
  }

  get exactlyOnce(): boolean {
    return this.#txn !== undefined
  }

  /** Exactly-once: registers the transactional id (fencing a predecessor) after what is pending ended. */
  async start(): Promise<void> {
    await this.#txn?.start()
  }

  /** Records and offsets into the current unit; resolves once it is durable. */
  commit(group: string, records: readonly OutgoingRecord[], offsets: readonly PartitionOffset[]): Promise<RecordPosition[]> {
    return (this.#txn ?? this.#plain!).commit(group, records, offsets)
  }

  /** Ends the pending unit now; resolves once every commit so far is durable or failed (never rejects). */
  flush(): Promise<void> {
    return (this.#txn ?? this.#plain)?.flush() ?? Promise.resolve()
  }

  /** Resolves once the offsets of every commit so far read back (exactly-once: see transactions.ts). */
  settled(): Promise<unknown> {
    return this.#txn?.settled() ?? Promise.resolve()
  }

  /**
   * Before reading the committed offsets after a failure: ends what is pending, and settles a
   * transaction whose outcome is unknown (committed or aborted) by registering the id again.
   */
  async settle(): Promise<void> {
    await this.flush()
    await this.#txn?.start()
  }

  /** Accepts commits again once the consumer went back to the committed offsets. */
  recover(): void {
    this.#txn?.recover()
    this.#plain?.recover()
  }

  async close(): Promise<void> {
    await this.flush()
    await this.#txn?.close()
    await this.#appender?.close()
  }
}
