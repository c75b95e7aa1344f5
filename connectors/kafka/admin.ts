import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay, retry } from '../../runtime/util/retry.ts'
import { TributaryError } from '../../runtime/errors.ts'
import type { PartitionInfo, PartitionOffset, TopicInfo } from '../../runtime/log/log.ts'
import type { AdminWire, Driver } from './driver.ts'
import { describe, hasType, isUnknownTopic, toTributaryError, type ClassifyOptions } from './errors.ts'
import { log } from './logger.ts'
import type { ResolvedKafkaOptions } from './options.ts'
import { tpKey } from './positions.ts'

/** Groups of consumers without a group (see kafkajs/consumer.ts): never listed, never committed to. */
export const PRIVATE_GROUP_PREFIX = 'tributary.private.'

/** Waits between attempts to reach the brokers at start, and between retried admin requests. */
const START_BACKOFF = { initialDelayMs: 250, maxDelayMs: 5_000 }
export const REQUEST_BACKOFF = { initialDelayMs: 200, maxDelayMs: 5_000 }

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
    await retry(
      async (attempt) => {
        // A probe without the library's own retries, so each attempt is quick and visible in our log.
        const probe = driver.admin(options, 'probe', 0)
        try {
          await probe.connect()
          await probe.describeCluster()
          if (attempt > 1) log.info({ brokers, attempts: attempt }, 'Kafka brokers reachable')
        } finally {
          await probe.close().catch(() => undefined)
        }
      },
      {
        what: `Kafka brokers ${brokers} unreachable`,
        backoff: START_BACKOFF,
        deadlineMs: options.startTimeoutMs,
        classify: (e) => toTributaryError(e, `Kafka brokers ${brokers}`, { brokers: options.kafka.brokers }),
        logger: log,
        context: { brokers },
        giveUp: (e, attempts) =>
          new TributaryError('TRIB_KAFKA_UNAVAILABLE', `could not reach the Kafka brokers ${brokers} within ${options.startTimeoutMs} ms (${attempts} attempts): ${describe(e.cause)}`, {
            cause: e.cause,
            details: { brokers: options.kafka.brokers, attempts },
          }),
      },
    )
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

  /**
   * Creates the topic when missing (compacted when asked); an existing topic keeps its partitions.
   * Until its metadata has settled (see describeTopic) the create is retried, and so are retriable
   * answers to the create.
   */
  async ensureTopic(name: string, partitions: number, replicationFactor = this.options.kafka.replicationFactor, maxMessageBytes?: number, compacted = false): Promise<TopicInfo> {
    return this.#settling(`ensuring topic ${name}`, name, async () => {
      const existing = await this.#describe(name)
      if (existing) return existing
      const configs: Record<string, string> = {
        ...(maxMessageBytes === undefined ? {} : { 'max.message.bytes': String(maxMessageBytes) }),
        ...(compacted ? { 'cleanup.policy': 'compact' } : {}),
      }
      try {
        await this.admin.createTopic(name, partitions, replicationFactor, configs)
      } catch (e) {
        // Another process may have created it meanwhile: that is fine, whatever its partitions.
        // A client's wait for leaders may give up on a controller that does not list the new topic yet.
        if (!hasType(e, 'TOPIC_ALREADY_EXISTS')) throw toTributaryError(e, `creating topic ${name} with ${partitions} partitions`, { topic: name }, { topicExists: true })
      }
      const info = await this.#describe(name)
      if (!info) throw new TributaryError('TRIB_KAFKA_UNAVAILABLE', `topic ${name} was created but its metadata is not visible yet`, { details: { topic: name } })
      return info
    })
  }

  /**
   * The topic's partitions and offsets; undefined when the cluster does not list it. A topic just
   * created (or whose leader moves) is listed a moment before every broker knows it: the offsets
   * then fail with NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION, which
   * are retried (the one retry policy) for up to requestTimeoutMs, asking each time whether the
   * topic is still listed.
   */
  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.#settling(`describing topic ${name}`, name, () => this.#describe(name))
  }

  async #describe(name: string): Promise<TopicInfo | undefined> {
    if (!(await this.exists(name))) return undefined
    const marks = await this.watermarks(name, { topicExists: true })
    const partitions: PartitionInfo[] = [...marks].sort(([a], [b]) => a - b).map(([partition, w]) => ({ partition, start: w.low, end: w.high }))
    return { name, partitions }
  }

  #settling<T>(what: string, topic: string, op: () => Promise<T>): Promise<T> {
    return retry(op, { what, backoff: REQUEST_BACKOFF, deadlineMs: this.options.kafka.requestTimeoutMs, logger: log, context: { topic } })
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
  async watermarks(topic: string, classify: ClassifyOptions = {}): Promise<Map<number, Watermark>> {
    try {
      return await this.admin.watermarks(topic)
    } catch (e) {
      throw toTributaryError(e, `reading the offsets of topic ${topic}`, { topic }, classify)
    }
  }

  /** The log's end per partition, open transactions included. */
  async logEnds(topic: string): Promise<Map<number, number>> {
    try {
      return await this.admin.logEnds(topic)
    } catch (e) {
      throw toTributaryError(e, `reading the end offsets of topic ${topic}`, { topic })
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

  /** Deletes the topics that exist (and with them every group's offsets on them). */
  async deleteTopics(names: readonly string[]): Promise<void> {
    const existing: string[] = []
    for (const n of names) if (await this.exists(n)) existing.push(n)
    if (existing.length === 0) return
    try {
      await this.admin.deleteTopics(existing, this.options.kafka.requestTimeoutMs)
    } catch (e) {
      if (!hasType(e, 'UNKNOWN_TOPIC_OR_PARTITION')) throw toTributaryError(e, `deleting topics ${existing.join(', ')}`)
    }
    for (const n of existing) this.counts.delete(n)
  }

  /** Deletes the groups that exist; a group with live members is refused by the broker. */
  async deleteGroups(groups: readonly string[]): Promise<void> {
    const known = new Set(await this.listGroups())
    const existing = groups.filter((g) => known.has(g))
    if (existing.length === 0) return
    try {
      await this.admin.deleteGroups(existing)
    } catch (e) {
      if (hasType(e, 'NON_EMPTY_GROUP')) throw new TributaryError('TRIB_LOG_GROUP_BUSY', `consumer groups ${existing.join(', ')}: a group with live members cannot be deleted`, { cause: e, details: { groups: existing } })
      throw toTributaryError(e, `deleting consumer groups ${existing.join(', ')}`)
    }
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
      const wait = backoffDelay(attempt, { initialDelayMs: 2, maxDelayMs: 100 })
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
