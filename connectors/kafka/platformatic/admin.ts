import { setTimeout as sleep } from 'node:timers/promises'
import { Admin, FetchIsolationLevels, ListOffsetTimestamps, type FetchIsolationLevelValue } from '@platformatic/kafka'
import type { PartitionOffset } from '../../../runtime/log/log.ts'
import type { Watermark } from '../admin.ts'
import type { AdminWire } from '../driver.ts'
import type { ResolvedKafkaOptions } from '../options.ts'
import { baseOptions, metadata } from './client.ts'

/**
 * The library turns a metadata answer of UNKNOWN_TOPIC_OR_PARTITION into a plain UserError naming
 * the topic; that is how a missing topic shows.
 */
const isUnknownTopic = (e: unknown): boolean => e instanceof Error && /^Unknown topic /.test(e.message)

/** The admin wire over an @platformatic/kafka Admin client. */
export function platformaticAdmin(options: ResolvedKafkaOptions, role: string, retries?: number): AdminWire {
  const admin = new Admin(baseOptions(options, role, retries))

  async function partitionCount(topic: string): Promise<number> {
    try {
      return (await metadata(admin, [topic], true)).topics.get(topic)?.partitionsCount ?? 0
    } catch (e) {
      if (isUnknownTopic(e)) return 0
      throw e
    }
  }

  /** ListOffsets at a time (or EARLIEST/LATEST), read-committed unless told, for every partition of the topic. */
  async function offsetsAt(topic: string, timestamp: bigint, isolationLevel: FetchIsolationLevelValue = FetchIsolationLevels.READ_COMMITTED): Promise<bigint[]> {
    const n = await partitionCount(topic)
    if (n === 0) throw Object.assign(new Error(`Unknown topic ${topic}.`), { apiId: 'UNKNOWN_TOPIC_OR_PARTITION' })
    const partitions = Array.from({ length: n }, (_, partitionIndex) => ({ partitionIndex, timestamp }))
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions }], isolationLevel })
    const out: bigint[] = new Array(n).fill(-1n)
    for (const t of listed) for (const p of t.partitions) out[p.partitionIndex] = p.offset
    return out
  }

  return {
    connect: async () => void (await metadata(admin, [], true)),
    close: () => admin.close(),
    describeCluster: async () => void (await metadata(admin, [], true)),
    createTopic: async (name, partitions, replicas, configs) => {
      await admin.createTopics({ topics: [name], partitions, replicas, configs: Object.entries(configs).map(([name, value]) => ({ name, value })) })
      // CreateTopics answers before the partitions have leaders; requests to them fail until then.
      const deadline = Date.now() + options.kafka.requestTimeoutMs
      for (;;) {
        const t = await metadata(admin, [name], true).catch(() => undefined)
        const parts = t?.topics.get(name)?.partitions ?? []
        if (parts.length === partitions && parts.every((p) => p !== undefined && p.leader >= 0)) return
        if (Date.now() > deadline) return
        await sleep(50)
      }
    },
    listTopics: () => admin.listTopics({ includeInternals: false }),
    partitionCount,
    watermarks: async (topic) => {
      const [low, high] = await Promise.all([offsetsAt(topic, ListOffsetTimestamps.EARLIEST), offsetsAt(topic, ListOffsetTimestamps.LATEST)])
      const out = new Map<number, Watermark>()
      for (let p = 0; p < high.length; p++) out.set(p, { low: Number(low[p]), high: Number(high[p]) })
      return out
    },
    logEnds: async (topic) => new Map((await offsetsAt(topic, ListOffsetTimestamps.LATEST, FetchIsolationLevels.READ_UNCOMMITTED)).map((o, p) => [p, Number(o)])),
    offsetsForTimestamp: async (topic, timestamp) => {
      const [at, high] = await Promise.all([offsetsAt(topic, BigInt(timestamp)), offsetsAt(topic, ListOffsetTimestamps.LATEST)])
      // -1: no record at or after the time; the end, as the Log contract says.
      return at.map((o, partition) => ({ topic, partition, offset: Number(o >= 0n ? o : high[partition]!) }))
    },
    deleteTopics: (topics) => admin.deleteTopics({ topics }),
    listGroups: async () => [...(await admin.listGroups()).keys()],
    deleteGroups: (groups) => admin.deleteGroups({ groups }),
    committedOffsets: async (group, topics) => {
      // requireStable: offsets of a transaction not yet settled are waited for (the library retries
      // UNSTABLE_OFFSET_COMMIT), not read as the older ones.
      const found = await admin.listConsumerGroupOffsets({ groups: [group], requireStable: true })
      const wanted = topics === undefined ? undefined : new Set(topics)
      const out: PartitionOffset[] = []
      for (const g of found)
        for (const t of g.topics) if (wanted === undefined || wanted.has(t.name)) for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) })
      return out
    },
    groupMembers: async (group) => {
      const g = (await admin.describeGroups({ groups: [group] })).get(group)
      return { state: g?.state ?? 'DEAD', members: g?.members.size ?? 0 }
    },
  }
}
