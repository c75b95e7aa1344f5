import { randomUUID } from 'node:crypto'
import { TributaryError } from '../../runtime/errors.ts'
import type { Consumer, ConsumerOptions, Log, LogCapabilities, OutgoingRecord, PartitionOffset, RecordPosition, TopicInfo, TopicOptions, TransportHealth } from '../../runtime/log/log.ts'
import { assertPartitionCount, assertTopicName } from '../../runtime/log/names.ts'
import { KafkaAdmin } from './admin.ts'
import { Appender } from './appender.ts'
import type { ConsumerHost, Driver } from './driver.ts'
import type { ReachabilityWatch } from '../../runtime/util/reachability.ts'
import { brokerWatch } from './health.ts'
import { log } from './logger.ts'
import type { ResolvedKafkaOptions } from './options.ts'
import { Planner, type PartitionCounts } from './planner.ts'
import { TransactionalCommitter } from './transactions.ts'

/**
 * The Log over a Kafka cluster, through the client library of its driver (driver.ts). Differences
 * from the embedded log, by design of Kafka:
 * - append is acknowledged by all in-sync replicas (acks=all, idempotent producer), but is not
 *   atomic when it spans several produce requests (see producer.ts); a consumer's commit is one
 *   transaction only with `exactlyOnce`.
 * - offsets are not dense after transactions: each commit or abort marker takes an offset.
 * - setGroupOffsets and a commit by a consumer that never polled write the group's offsets in a
 *   transaction (TxnOffsetCommit works on a group without members), after checking the group has
 *   no live member.
 */
export class KafkaLog implements Log, ConsumerHost {
  readonly capabilities: LogCapabilities = Object.freeze({ assignment: 'dynamic', atomicCommits: false })
  readonly planner: Planner
  readonly counts: PartitionCounts
  private readonly appender: Appender
  private offsetsTxn: TransactionalCommitter | undefined
  private watch: ReachabilityWatch | undefined
  private readonly consumers = new Set<Consumer>()
  /** Member indexes held by open consumers, per group (see ConsumerHost.memberIndex). */
  private readonly members = new Map<string, Set<number>>()
  private closed = false

  private constructor(
    readonly driver: Driver,
    readonly options: ResolvedKafkaOptions,
    readonly admin: KafkaAdmin,
  ) {
    this.planner = new Planner(options, driver.message)
    // Appending to a missing topic creates it, as the embedded log does (Kafka's own
    // auto-creation is not relied on: brokers often disable it).
    this.counts = async (topic) => (await admin.partitionCount(topic)) ?? (await admin.ensureTopic(topic, options.defaultPartitions)).partitions.length
    this.appender = new Appender(driver, options, 'producer', this.planner, this.counts)
  }

  static async open(driver: Driver, options: ResolvedKafkaOptions): Promise<KafkaLog> {
    const admin = await KafkaAdmin.connect(driver, options)
    log.debug({ brokers: options.kafka.brokers, client: driver.name }, 'Kafka log open')
    return new KafkaLog(driver, options, admin)
  }

  async ensureTopic(name: string, options: TopicOptions = {}): Promise<TopicInfo> {
    this.assertOpen()
    assertTopicName(name)
    const partitions = options.partitions ?? this.options.defaultPartitions
    assertPartitionCount(name, partitions)
    const max = options.maxMessageBytes
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 1))
      throw new TributaryError('TRIB_TOPIC_INVALID', `topic ${name}: maxMessageBytes ${String(max)} is not a positive integer`, { details: { topic: name } })
    return this.admin.ensureTopic(name, partitions, options.replicationFactor, max, options.compacted)
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.assertOpen()
    assertTopicName(name)
    return this.admin.describeTopic(name)
  }

  async listTopics(): Promise<TopicInfo[]> {
    this.assertOpen()
    return this.admin.listTopics()
  }

  append(records: OutgoingRecord[]): Promise<RecordPosition[]> {
    this.assertOpen()
    return this.appender.append(records)
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]> {
    this.assertOpen()
    assertTopicName(topic)
    return this.admin.offsetsForTimestamp(topic, timestamp)
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen()
    const consumer = this.driver.consumer(this, options)
    this.consumers.add(consumer)
    return consumer
  }

  async listGroups(): Promise<string[]> {
    this.assertOpen()
    return this.admin.listGroups()
  }

  async groupOffsets(group: string): Promise<PartitionOffset[]> {
    this.assertOpen()
    return this.admin.committedOffsets(group)
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    this.assertOpen()
    for (const n of names) assertTopicName(n)
    await this.admin.deleteTopics(names)
  }

  async deleteGroups(groups: readonly string[]): Promise<void> {
    this.assertOpen()
    await this.admin.deleteGroups(groups)
  }

  async setGroupOffsets(group: string, offsets: PartitionOffset[]): Promise<void> {
    await this.offlineCommit(group, [], offsets)
  }

  async offlineCommit(group: string, records: readonly OutgoingRecord[], offsets: readonly PartitionOffset[]): Promise<RecordPosition[]> {
    this.assertOpen()
    const { state, members } = await this.admin.groupMembers(group)
    if (members > 0)
      throw new TributaryError('TRIB_LOG_GROUP_BUSY', `consumer group ${group} has ${members} live member(s) (state ${state}); stop them before changing its offsets`, {
        details: { group, members, state },
      })
    await this.validateOffsets(group, offsets)
    this.offsetsTxn ??= new TransactionalCommitter(this, `${this.options.kafka.clientId}.offsets.${randomUUID()}`)
    const positions = await this.offsetsTxn.commit(group, records, offsets)
    // Readable on return, like the embedded log's commits (and a consumer started next reads them).
    await this.offsetsTxn.settled()
    return positions
  }

  health(): TransportHealth {
    if (this.closed) return { reachable: true }
    this.watch ??= brokerWatch(this.driver, this.options).start()
    return this.watch.health()
  }

  memberIndex(group: string, member: number | undefined): number {
    let taken = this.members.get(group)
    if (taken === undefined) this.members.set(group, (taken = new Set()))
    let index = member ?? 0
    if (member === undefined) while (taken.has(index)) index++
    else if (taken.has(member))
      throw new TributaryError('TRIB_USAGE', `a consumer of group ${group} with member index ${member} is already open in this process`, {
        details: { group, member },
      })
    taken.add(index)
    return index
  }

  consumerClosed(consumer: Consumer, group: string | null, memberIndex: number | undefined): void {
    this.consumers.delete(consumer)
    if (group !== null && memberIndex !== undefined) this.members.get(group)?.delete(memberIndex)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.watch?.close()
    for (const c of [...this.consumers]) await c.close().catch(() => undefined)
    await this.appender.close()
    await this.offsetsTxn?.close()
    await this.admin.close()
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `Kafka log on ${this.options.kafka.brokers.join(',')} is closed`)
  }

  /** Kafka stores any offset it is given; the embedded log's rules apply here too. */
  private async validateOffsets(group: string, offsets: readonly PartitionOffset[]): Promise<void> {
    for (const topic of new Set(offsets.map((o) => o.topic))) {
      if (!(await this.admin.exists(topic)))
        throw new TributaryError('TRIB_TOPIC_NOT_FOUND', `group ${group}: cannot commit an offset for topic ${topic}, which does not exist`, { details: { group, topic } })
      const marks = await this.admin.watermarks(topic)
      for (const o of offsets) {
        if (o.topic !== topic) continue
        const w = marks.get(o.partition)
        if (w === undefined)
          throw new TributaryError('TRIB_TOPIC_INVALID', `group ${group}: partition ${o.partition} of topic ${topic} does not exist (it has ${marks.size})`, {
            details: { group, topic, partition: o.partition },
          })
        if (!Number.isSafeInteger(o.offset) || o.offset < 0 || o.offset > w.high)
          throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `group ${group}: offset ${o.offset} for ${topic}-${o.partition} is outside 0..${w.high}`, {
            details: { group, topic, partition: o.partition, offset: o.offset, end: w.high },
          })
      }
    }
  }
}
