import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay } from '../../runtime/util/backoff.ts'
import { TributaryError } from '../../runtime/errors.ts'
import type { PartitionInfo, PartitionOffset, TopicInfo } from '../../runtime/log/log.ts'
import type { AdminWire, Driver } from './driver.ts'
import { describe, hasType, isUnknownTopic, toTributaryError } from './errors.ts'
import { log } from './logger.ts'
import type { ResolvedKafkaOptions } from './options.ts'
import { tpKey } from './positions.ts'

/** Groups of consumers without a group (see kafkajs/consumer.ts): never listed, never committed to. */
export const PRIVATE_GROUP_PREFIX = 'tributary.private.'

export interface Watermark {
  /** First offset still stored. */
  low: number
  /** Last stable offset for read-committed readers: the end of what can be read now. */
  high: number
}

/**
 * Topic metadata, offsets and groups over one admin connection of the client library. End offsets
 * come from a read-committed ListOffsets, so `end` excludes records of transactions still open.
 */
export class KafkaAdmin {
  private readonly counts = new Map<string, { partitions: number; at: number }>()

  private constructor(
    private readonly admin: AdminWire,
    private readonly options: ResolvedKafkaOptions,
  ) {}

  /**
   * Connects, retrying unreachable brokers with backoff until options.startTimeoutMs: each failed
   * attempt is logged with the broker list and the cause; rejected credentials fail at once.
   */
  static async connect(driver: Driver, options: ResolvedKafkaOptions): Promise<KafkaAdmin> {
    const brokers = options.kafka.brokers.join(',')
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      // A probe without the library's own retries, so each attempt is quick and visible in our log.
      const probe = driver.admin(options, 'probe', 0)
      try {
        await probe.connect()
        await probe.describeCluster()
        await probe.close()
        if (attempt > 1) log.info({ brokers, attempts: attempt }, 'Kafka brokers reachable')
        break
      } catch (e) {
        await probe.close().catch(() => undefined)
        const err = toTributaryError(e, `Kafka brokers ${brokers}`, { brokers: options.kafka.brokers })
        if (err.code === 'TRIB_KAFKA_AUTH') throw err
        const wait = backoffDelay(attempt, { initialDelayMs: 250, maxDelayMs: 5_000, jitter: 0 })
        const elapsed = Date.now() - started
        if (elapsed + wait > options.startTimeoutMs)
          throw new TributaryError(
            'TRIB_KAFKA_UNAVAILABLE',
            `could not reach the Kafka brokers ${brokers} within ${options.startTimeoutMs} ms (${attempt} attempts): ${describe(e)}`,
            { cause: e, details: { brokers: options.kafka.brokers, attempts: attempt } },
          )
        log.warn({ brokers, attempt, retryInMs: wait, cause: describe(e) }, `Kafka brokers ${brokers} unreachable; retrying`)
        await sleep(wait)
      }
    }
    const admin = driver.admin(options, 'admin')
    try {
      await admin.connect()
    } catch (e) {
      throw toTributaryError(e, `connecting the Kafka admin client to ${brokers}`, { brokers: options.kafka.brokers })
    }
    return new KafkaAdmin(admin, options)
  }

  async close(): Promise<void> {
    await this.admin.close().catch(() => undefined)
  }

  /** Creates the topic when missing; an existing topic keeps its partitions. */
  async ensureTopic(name: string, partitions: number, replicationFactor = this.options.kafka.replicationFactor, maxMessageBytes?: number): Promise<TopicInfo> {
    const existing = await this.describeTopic(name)
    if (existing) return existing
    const configs: Record<string, string> = maxMessageBytes === undefined ? {} : { 'max.message.bytes': String(maxMessageBytes) }
    try {
      await this.admin.createTopic(name, partitions, replicationFactor, configs)
    } catch (e) {
      // Another process may have created it meanwhile: that is fine, whatever its partitions.
      if (!hasType(e, 'TOPIC_ALREADY_EXISTS')) throw toTributaryError(e, `creating topic ${name} with ${partitions} partitions`, { topic: name })
    }
    const info = await this.describeTopic(name)
    if (!info) throw new TributaryError('TRIB_KAFKA_UNAVAILABLE', `topic ${name} was created but its metadata is not visible yet`, { details: { topic: name } })
    return info
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    if (!(await this.exists(name))) return undefined
    const marks = await this.watermarks(name)
    const partitions: PartitionInfo[] = [...marks].sort(([a], [b]) => a - b).map(([partition, w]) => ({ partition, start: w.low, end: w.high }))
    return { name, partitions }
  }

  async listTopics(): Promise<TopicInfo[]> {
    let names: string[]
    try {
      names = await this.admin.listTopics()
    } catch (e) {
      throw toTributaryError(e, 'listing topics')
    }
    // Kafka's own topics (__consumer_offsets, __transaction_state) are not ours to show.
    const ours = names.filter((n) => !n.startsWith('__')).sort()
    const infos = await Promise.all(ours.map((n) => this.describeTopic(n)))
    return infos.filter((t): t is TopicInfo => t !== undefined)
  }

  /** Low and high (read-committed) watermarks per partition. */
  async watermarks(topic: string): Promise<Map<number, Watermark>> {
    try {
      return await this.admin.watermarks(topic)
    } catch (e) {
      throw toTributaryError(e, `reading the offsets of topic ${topic}`, { topic })
    }
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]> {
    if (!(await this.exists(topic))) throw notFound(topic)
    try {
      const found = await this.admin.offsetsForTimestamp(topic, timestamp)
      return found.sort((a, b) => a.partition - b.partition)
    } catch (e) {
      throw toTributaryError(e, `finding offsets of topic ${topic} at ${new Date(timestamp).toISOString()}`, { topic, timestamp })
    }
  }

  /** Partition count, cached for metadataMaxAgeMs; undefined when the topic does not exist. */
  async partitionCount(topic: string): Promise<number | undefined> {
    const cached = this.counts.get(topic)
    if (cached && Date.now() - cached.at < this.options.tuning.metadataMaxAgeMs) return cached.partitions
    try {
      const partitions = await this.admin.partitionCount(topic)
      if (partitions === 0) return undefined
      this.counts.set(topic, { partitions, at: Date.now() })
      return partitions
    } catch (e) {
      if (isUnknownTopic(e)) return undefined
      throw toTributaryError(e, `reading the metadata of topic ${topic}`, { topic })
    }
  }

  async exists(topic: string): Promise<boolean> {
    this.counts.delete(topic)
    return (await this.partitionCount(topic)) !== undefined
  }

  async listGroups(): Promise<string[]> {
    try {
      const groups = await this.admin.listGroups()
      return groups.filter((g) => !g.startsWith(PRIVATE_GROUP_PREFIX)).sort()
    } catch (e) {
      throw toTributaryError(e, 'listing consumer groups')
    }
  }

  /** Committed offsets of a group, for the given topics or all it has committed; sorted. */
  async committedOffsets(group: string, topics?: string[]): Promise<PartitionOffset[]> {
    try {
      const found = await this.admin.committedOffsets(group, topics)
      return found.filter((o) => o.offset >= 0).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    } catch (e) {
      throw toTributaryError(e, `reading the committed offsets of group ${group}`, { group })
    }
  }

  /** Live members of a group (0 for an empty or unknown group). */
  async groupMembers(group: string): Promise<{ state: string; members: number }> {
    try {
      return await this.admin.groupMembers(group)
    } catch (e) {
      throw toTributaryError(e, `describing consumer group ${group}`, { group })
    }
  }

  /**
   * Waits until a group's committed offsets read back as given. A transaction's offsets become
   * readable only once its commit marker is written, a moment after EndTxn returns; a consumer
   * that takes the partitions over before then would read the older offsets and repeat the batch.
   */
  async waitOffsetsVisible(group: string, offsets: PartitionOffset[]): Promise<boolean> {
    const topics = [...new Set(offsets.map((o) => o.topic))]
    const deadline = Date.now() + this.options.tuning.offsetsVisibleTimeoutMs
    for (let attempt = 1; ; attempt++) {
      const wait = backoffDelay(attempt, { initialDelayMs: 2, maxDelayMs: 100, jitter: 0 })
      const now = new Map((await this.committedOffsets(group, topics)).map((o) => [tpKey(o.topic, o.partition), o.offset]))
      if (offsets.every((o) => now.get(tpKey(o.topic, o.partition)) === o.offset)) return true
      if (Date.now() + wait > deadline) {
        log.warn({ group, offsets }, `committed offsets of group ${group} not readable after ${this.options.tuning.offsetsVisibleTimeoutMs} ms`)
        return false
      }
      await sleep(wait)
    }
  }
}

const notFound = (topic: string): TributaryError =>
  new TributaryError('TRIB_TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { details: { topic } })
