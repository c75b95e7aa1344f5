import type { Consumer as KafkajsConsumer, EachBatchPayload, IMemberAssignment } from 'kafkajs'
import type { PartitionOffset, TopicPartition } from '../../../runtime/log/log.ts'
import { log } from '../logger.ts'
import { createClient } from './client.ts'
import { describe } from '../errors.ts'
import type { ResolvedKafkaOptions } from '../options.ts'

/** What a session reports to its consumer. Every callback but onBatch runs synchronously inside kafkajs. */
export interface SessionEvents {
  /** The group assigned these partitions (a new generation). Runs before kafkajs fetches anything. */
  onAssign(assignment: IMemberAssignment): void
  /** One partition's batch; kafkajs waits for the returned promise before fetching again. */
  onBatch(payload: EachBatchPayload): Promise<void>
  /** kafkajs consumed a batch of only control or aborted records on its own and moved past it. */
  onSkippedBatch(topic: string, partition: number, lastOffset: string, highWatermark: string): void
  onFetchStart(): void
  /** kafkajs is leaving the current generation to rejoin. */
  onRebalancing(): void
  onCrash(error: unknown, restart: boolean): void
}

const byTopic = (tps: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> => {
  const m = new Map<string, number[]>()
  for (const { topic, partition } of tps) {
    let list = m.get(topic)
    if (list === undefined) m.set(topic, (list = []))
    list.push(partition)
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }))
}

/**
 * One kafkajs consumer: group membership, fetching and offset commits for a fixed topic list
 * (kafkajs cannot change a subscription while running; the consumer starts a new session when a
 * missing topic appears). Auto-commit and auto-resolve are off: positions are ours to move.
 */
export class Session {
  readonly consumer: KafkajsConsumer
  private readonly removers: Array<() => void> = []
  private stopped = false

  constructor(
    private readonly options: ResolvedKafkaOptions,
    readonly groupId: string,
    readonly topics: readonly string[],
    fetch: { maxBytes: number; maxBytesPerPartition: number },
    private readonly events: SessionEvents,
  ) {
    const t = options.tuning
    this.consumer = createClient(options, 'consumer').consumer({
      groupId,
      sessionTimeout: t.sessionTimeoutMs,
      rebalanceTimeout: t.rebalanceTimeoutMs,
      heartbeatInterval: t.heartbeatIntervalMs,
      maxWaitTimeInMs: t.fetchMaxWaitMs,
      maxBytes: fetch.maxBytes,
      maxBytesPerPartition: fetch.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      // Never deliver records of open or aborted transactions (the Log contract).
      readUncommitted: false,
      // kafkajs restarts a crashed consumer on a timer; once we stopped, it must not come back.
      retry: { retries: t.retries, restartOnFailure: async () => !this.stopped },
    })
    const c = this.consumer
    const ev = c.events
    this.removers.push(
      c.on(ev.GROUP_JOIN, (e) => events.onAssign(e.payload.memberAssignment)),
      c.on(ev.END_BATCH_PROCESS, (e) => {
        if (e.payload.batchSize === 0) events.onSkippedBatch(e.payload.topic, e.payload.partition, e.payload.lastOffset, e.payload.highWatermark)
      }),
      c.on(ev.FETCH_START, () => events.onFetchStart()),
      c.on(ev.REBALANCING, () => events.onRebalancing()),
      c.on(ev.CRASH, (e) => {
        if (!this.stopped) events.onCrash(e.payload.error, e.payload.restart)
      }),
    )
  }

  /** Connects, subscribes and joins; resolves once the first join attempt finished. */
  async start(): Promise<void> {
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: [...this.topics] })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.tuning.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.events.onBatch(payload),
    })
  }

  pause(tps: readonly TopicPartition[]): void {
    if (tps.length > 0) this.guard('pause', () => this.consumer.pause(byTopic(tps)))
  }

  resume(tps: readonly TopicPartition[]): void {
    if (tps.length > 0) this.guard('resume', () => this.consumer.resume(byTopic(tps)))
  }

  /** Takes effect at the next fetch of the partition; batches fetched before are reported stale. */
  seek(topic: string, partition: number, offset: number): void {
    this.guard('seek', () => this.consumer.seek({ topic, partition, offset: String(offset) }))
  }

  /**
   * Between a crash and kafkajs' restart there is no group to act on; the restart's assignment
   * positions every partition again from the consumer's own state, so nothing is lost by skipping.
   */
  private guard(what: string, fn: () => void): void {
    try {
      fn()
    } catch (e) {
      log.debug({ group: this.groupId, cause: describe(e) }, `kafkajs ${what} skipped`)
    }
  }

  /** Commits group offsets with this member's generation (the broker refuses a stale one). */
  async commitOffsets(offsets: readonly PartitionOffset[]): Promise<void> {
    await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })))
  }

  /** Leaves the group and disconnects. Held batches must be released first (kafkajs waits for them). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const remove of this.removers) remove()
    try {
      await this.consumer.disconnect()
    } catch (e) {
      log.debug({ group: this.groupId, cause: describe(e) }, 'kafkajs consumer disconnect failed')
    }
  }
}
