import type { Consumer, ConsumerOptions, OutgoingRecord, PartitionOffset, RecordPosition } from '../../runtime/log/log.ts'
import type { KafkaAdmin, Watermark } from './admin.ts'
import type { KafkaConfig, ResolvedKafkaOptions } from './options.ts'
import type { Chunk, PartitionCounts, Planner } from './planner.ts'

/**
 * The seam between the Kafka adapter and a client library (`transport.kafka.client`). The adapter
 * holds what Kafka's semantics need whatever the client: topics and validation (log.ts, admin.ts),
 * partitioning and request sizes (planner.ts), appends (appender.ts), transactions and grouped
 * commits (transactions.ts, commit-queue.ts, committer.ts), start positions (positions.ts) and the
 * error codes (errors.ts). A driver (kafkajs/, platformatic/) speaks the protocol through its
 * library and owns the consumer, whose group and fetch model is the library's.
 *
 * Every wire call may reject with the library's own error; the adapter maps it (errors.ts knows
 * both libraries' error shapes).
 */
export interface Driver<M = unknown> {
  readonly name: KafkaClientName
  /**
   * An admin connection, not connected yet. `retries` 0: one attempt (start-up probes). A `quiet`
   * connection logs its failures at debug: its owner reports them (the broker watch, once).
   */
  admin(options: ResolvedKafkaOptions, role: string, retries?: number, quiet?: boolean): AdminWire
  /** The library's message for a planned record: on the hot path, one per record produced. */
  message(record: OutgoingRecord, partition: number, timestamp: number): M
  /** An idempotent producer (acks all, one request in flight), not connected yet. */
  producer(options: ResolvedKafkaOptions, role: string): ProducerWire<M>
  /** A transactional producer with a stable id, not initialized yet. */
  transactional(options: ResolvedKafkaOptions, transactionalId: string): TransactionWire<M>
  consumer(host: ConsumerHost, options: ConsumerOptions): Consumer
}

export type KafkaClientName = KafkaConfig['client']

/** Base offsets of one produce request, per topic-partition written. */
export type BaseOffsets = ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly offset: number }>

/** Topic and group administration, one request (with the library's own retries) per call. */
export interface AdminWire {
  connect(): Promise<void>
  close(): Promise<void>
  /** A metadata round trip: the brokers answer and take the credentials. */
  describeCluster(): Promise<void>
  /** Resolves once the topic exists with its leaders; rejects with TOPIC_ALREADY_EXISTS when it did. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Promise<void>
  listTopics(): Promise<string[]>
  /** Rejects with UNKNOWN_TOPIC_OR_PARTITION (or answers 0) when the topic does not exist. */
  partitionCount(topic: string): Promise<number>
  /** Low watermark and read-committed end (last stable offset) per partition. */
  watermarks(topic: string): Promise<Map<number, Watermark>>
  /** The log's end (high watermark) per partition: records of open or settling transactions included. */
  logEnds(topic: string): Promise<Map<number, number>>
  /** First offset at or after the time per partition; the end where there is none. */
  offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]>
  /** Deletes existing topics; rejects with UNKNOWN_TOPIC_OR_PARTITION when one is gone meanwhile. */
  deleteTopics(names: string[], timeoutMs: number): Promise<void>
  listGroups(): Promise<string[]>
  /** Rejects with NON_EMPTY_GROUP when a group has live members. */
  deleteGroups(groups: string[]): Promise<void>
  /** A group's committed offsets (negative when none) for the topics, or all it committed. */
  committedOffsets(group: string, topics?: string[]): Promise<PartitionOffset[]>
  groupMembers(group: string): Promise<{ state: string; members: number }>
}

/** An idempotent producer: one chunk (one produce request) at a time. */
export interface ProducerWire<M> {
  connect(): Promise<void>
  /** Acknowledged by all in-sync replicas. */
  send(chunk: Chunk<M>): Promise<BaseOffsets>
  close(): Promise<void>
}

/** A transactional producer (KIP-98). */
export interface TransactionWire<M> {
  /**
   * Registers the transactional id (InitProducerId): bumps its epoch, which fences every older
   * holder and aborts what they left open, before this resolves.
   */
  init(): Promise<void>
  begin(): Promise<Transaction<M>>
  close(): Promise<void>
}

export interface Transaction<M> {
  send(chunk: Chunk<M>): Promise<BaseOffsets>
  /**
   * The group's offsets into the transaction (AddOffsetsToTxn, TxnOffsetCommit). With `member`, the
   * broker refuses them from a member of an older generation (KIP-447); kafkajs cannot send it.
   */
  sendOffsets(group: string, offsets: readonly PartitionOffset[], member: GroupMember | undefined): Promise<void>
  commit(): Promise<void>
  abort(): Promise<void>
  /** Begun and neither committed nor aborted. */
  isActive(): boolean
}

/** Who commits, as the group coordinator knows it: the commit is refused from another generation. */
export interface GroupMember {
  readonly generationId: number
  readonly memberId: string
}

/** What a consumer needs from its log. */
export interface ConsumerHost {
  readonly options: ResolvedKafkaOptions
  readonly driver: Driver
  readonly admin: KafkaAdmin
  readonly planner: Planner
  readonly counts: PartitionCounts
  append(records: readonly OutgoingRecord[]): Promise<RecordPosition[]>
  /** Records and offsets for a group with no live member, in one transaction (replay, setGroupOffsets). */
  offlineCommit(group: string, records: readonly OutgoingRecord[], offsets: readonly PartitionOffset[]): Promise<RecordPosition[]>
  /**
   * Reserves a member index of the group in this process (a member's identity; an exactly-once
   * consumer's transactional id derives from it): `member` when given, refused with TRIB_USAGE
   * while another open consumer holds it; else the lowest free index.
   */
  memberIndex(group: string, member: number | undefined): number
  consumerClosed(consumer: Consumer, group: string | null, memberIndex: number | undefined): void
}
