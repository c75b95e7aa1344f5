import { pushAll } from '../util/arrays.ts'
import type { Reachability } from '../util/reachability.ts'

/**
 * The log: topics of partitioned, offset-addressed records with keys, headers and timestamps, plus
 * consumer groups. The engine only knows this interface; adapters live in `connectors/`
 * (embedded segment files, Kafka). One contract suite (`test/contract/log.contract.ts`) runs
 * against every adapter, and checks every option below, including what an adapter declares in
 * `capabilities`.
 *
 * Offsets are JS numbers (safe up to 2^53). Timestamps are epoch milliseconds.
 */

export type Headers = Record<string, Buffer>

/** A record as stored: immutable once appended. */
export interface LogRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  /** null is a tombstone. */
  readonly value: Buffer | null
  readonly headers: Headers
}

/** A record to append. Without `partition`, the partition is chosen from the key (Kafka's murmur2). */
export interface OutgoingRecord {
  topic: string
  partition?: number
  key: Buffer | null
  value: Buffer | null
  headers?: Headers
  /** Defaults to the append time. */
  timestamp?: number
}

export interface RecordPosition {
  topic: string
  partition: number
  offset: number
}

export interface TopicPartition {
  topic: string
  partition: number
}

/** Offsets of the next record to read per partition (Kafka's committed-offset convention). */
export interface PartitionOffset extends TopicPartition {
  offset: number
}

export interface PartitionInfo {
  partition: number
  /** First offset still stored (0 with infinite retention). */
  start: number
  /** Offset the next appended record will get; only committed records are below it. */
  end: number
  /**
   * Set when the partition's stored data is damaged (embedded log): what is wrong, naming the file
   * and byte range. Its reads and appends fail with TRIB_LOG_CORRUPT; other partitions work.
   */
  damaged?: string
}

export interface TopicInfo {
  name: string
  partitions: PartitionInfo[]
}

export interface TopicOptions {
  partitions?: number
  replicationFactor?: number
  /**
   * Largest record the topic accepts (Kafka's topic config `max.message.bytes`), set when the topic
   * is created; the broker's default applies otherwise. The embedded log has no per-record limit.
   */
  maxMessageBytes?: number
  /**
   * Keep the latest record of every key for ever (Kafka's `cleanup.policy=compact`), set when the
   * topic is created. For small state kept in the log; the embedded log keeps every record anyway.
   */
  compacted?: boolean
}

/**
 * Where a consumer starts on a partition that has no committed offset for its group (or always, for
 * a consumer without a group).
 */
export type StartFrom =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'timestamp'; timestamp: number }

export interface ConsumerOptions {
  /** Consumer group; offsets are committed under it. null: positions live only in this consumer. */
  group: string | null
  topics: string[]
  /** Default: earliest. */
  from?: StartFrom
  /**
   * Upper bound on records held in memory by this consumer between polls; a poll never returns
   * more, whatever its `maxRecords`. Default 10,000.
   */
  maxBufferedRecords?: number
  /**
   * This consumer is member `index` of `count` consumers of its group that one process runs side
   * by side (stream threads). The index is the member's identity, stable across restarts: what a
   * member keeps (its state store, the fencing of an exactly-once predecessor) belongs to its
   * index, and a second open consumer of the group with the same index is refused. Which
   * partitions it holds follows `capabilities.assignment`: 'static', those p with
   * p % count === index; 'dynamic', those the log assigns (`assignment()`). Either way, the members
   * of a group never hold one partition at the same time, and together they read every partition.
   */
  member?: { index: number; count: number }
  /**
   * Each commit() makes its output records and its offsets visible together or not at all (a
   * commit that fails leaves no record a consumer can read and the offsets as they were), and
   * this consumer reads only committed records. An adapter whose commits are all atomic
   * (`capabilities.atomicCommits`) does nothing more; Kafka runs each commit as a transaction
   * (consumers read_committed), under a transactional id per group and member, so an instance
   * opened again fences its predecessor (whose later commits fail with TRIB_KAFKA_FENCED).
   */
  exactlyOnce?: boolean
  /**
   * The caller does not wait for each commit before reading and processing the next batch (the
   * processor). The adapter may then group consecutive commits into one (Kafka: one transaction per
   * `transport.kafka.commitIntervalMs` or `commitMaxRecords`, like Kafka Streams' commit interval);
   * commits still take effect in the order they were made, each still resolves only once it is
   * durable, and `flush()` makes everything durable now.
   */
  pipelined?: boolean
}

export interface PollOptions {
  maxRecords?: number
  /** How long to wait when nothing is available. 0 returns at once. */
  maxWaitMs?: number
}

/**
 * A consumer delivers records of each partition in offset order. It never delivers a record of an
 * uncommitted append (read-committed). After close(), every method but close() and caughtUp()
 * fails with TRIB_LOG_CLOSED (flush() resolves); close() again does nothing.
 */
export interface Consumer {
  /** The next records across assigned partitions; [] when none arrived within maxWaitMs. */
  poll(options?: PollOptions): Promise<LogRecord[]>
  /** Moves the read position of one partition; the next poll starts there. */
  seek(position: PartitionOffset): void
  /** Partitions currently assigned to this consumer (under 'dynamic' assignment, known after a poll). */
  assignment(): TopicPartition[]
  /**
   * Commits this consumer's group offsets together with output records, atomically when
   * `capabilities.atomicCommits` or `exactlyOnce`; otherwise outputs first, then offsets
   * (at-least-once). Offsets are "next offset to read", i.e. last processed + 1. An offset for a
   * partition this consumer does not hold is refused before anything is written (TRIB_USAGE,
   * or TRIB_LOG_REBALANCED when it held it until a rebalance).
   */
  commit(step: { offsets: PartitionOffset[]; records?: OutgoingRecord[] }): Promise<RecordPosition[]>
  /** True once there is nothing more to read right now on any assigned partition. */
  caughtUp(): boolean
  /**
   * Optional: gets ready without reading (positions do not move). Kafka, exactly-once: registers
   * the transactional id, which fences a predecessor and aborts the transactions it left open, so
   * what is read next (a state changelog being restored) is settled instead of waiting for their
   * timeout.
   */
  prepare?(): Promise<void>
  /**
   * Optional, for `pipelined` consumers whose adapter groups commits: ends the pending group now.
   * Resolves once every commit made so far is durable or has failed (each commit's own promise says
   * which); never rejects. Without it, each commit is durable when its promise resolves.
   */
  flush?(): Promise<void>
  close(): Promise<void>
}

/** What an adapter guarantees where adapters differ; callers that depend on it read it here. */
export interface LogCapabilities {
  /**
   * How a group's partitions are shared among its consumers.
   * - 'static': a consumer holds its partitions for as long as it is open: every partition of its
   *   topics, or with `member`, p % count === index. A consumer that would share a partition with a
   *   live consumer of its group, in this process or another, is refused (TRIB_LOG_GROUP_BUSY).
   * - 'dynamic': the log divides the partitions among the group's live consumers in every process,
   *   and moves them when consumers come and go; `assignment()` may change at any poll, and a
   *   caller that keeps state per partition must follow it.
   */
  readonly assignment: 'static' | 'dynamic'
  /** Every commit of outputs with offsets is one atomic step, with or without `exactlyOnce`. */
  readonly atomicCommits: boolean
}

/** Whether the transport's servers answer (Log.health). */
export type TransportHealth = Reachability

/**
 * After close(), every method but close() fails with TRIB_LOG_CLOSED, and the consumers it made
 * are closed; close() again does nothing.
 */
export interface Log {
  readonly capabilities: LogCapabilities
  /** Creates the topic when missing. An existing topic keeps its partition count. */
  ensureTopic(name: string, options?: TopicOptions): Promise<TopicInfo>
  /** undefined when the topic does not exist. */
  describeTopic(name: string): Promise<TopicInfo | undefined>
  listTopics(): Promise<TopicInfo[]>
  /** Appends records; resolves once they are acknowledged (durable against a process crash). */
  append(records: OutgoingRecord[]): Promise<RecordPosition[]>
  /** First offset whose timestamp is >= the given time, per partition; `end` when there is none. */
  offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]>
  consumer(options: ConsumerOptions): Consumer
  listGroups(): Promise<string[]>
  /**
   * Committed offsets of a group (only partitions it has committed). Every commit of a closed
   * consumer reads back; a live consumer's latest may read back a moment after its commit resolved
   * (Kafka, exactly-once: once the transaction's markers land).
   */
  groupOffsets(group: string): Promise<PartitionOffset[]>
  /** Overwrites a group's committed offsets (used by replay). The group must have no live consumer. */
  setGroupOffsets(group: string, offsets: PartitionOffset[]): Promise<void>
  /**
   * Deletes topics with their records (and every group's offsets on them); missing ones are
   * ignored. A topic created again with the same name starts empty at offset 0.
   */
  deleteTopics(names: readonly string[]): Promise<void>
  /** Deletes consumer groups' committed offsets; missing ones are ignored. The groups must have no live consumer. */
  deleteGroups(groups: readonly string[]): Promise<void>
  /**
   * Optional, for a log whose servers can be unreachable while its consumers wait it out without
   * failing (Kafka): whether they answer now, for readiness. The first call starts the watch
   * (periodic and cheap), close() stops it; a log of local files has no such outage and no method.
   */
  health?(): TransportHealth
  close(): Promise<void>
}

/** The offsets to commit: one past the last record of each partition in the batch. */
export function nextOffsets(records: readonly LogRecord[]): PartitionOffset[] {
  const last = new Map<string, Map<number, number>>()
  for (const r of records) {
    let byPartition = last.get(r.topic)
    if (!byPartition) last.set(r.topic, (byPartition = new Map()))
    byPartition.set(r.partition, r.offset)
  }
  const out: PartitionOffset[] = []
  for (const [topic, byPartition] of last) for (const [partition, offset] of byPartition) out.push({ topic, partition, offset: offset + 1 })
  return out
}

/** Every record of a topic from its start to its end as it is now, in offset order per partition. */
export async function readToEnd(log: Log, topic: string): Promise<LogRecord[]> {
  if (!(await log.describeTopic(topic))) return []
  const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'earliest' } })
  const out: LogRecord[] = []
  try {
    for (;;) {
      const batch = await consumer.poll({ maxRecords: 5000, maxWaitMs: 0 })
      pushAll(out, batch)
      if (batch.length === 0 && consumer.caughtUp()) return out
    }
  } finally {
    await consumer.close()
  }
}
