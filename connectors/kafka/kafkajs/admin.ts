import type { Admin } from 'kafkajs'
import type { AdminWire } from '../driver.ts'
import type { ResolvedKafkaOptions } from '../options.ts'
import { createClient, type KafkaClient } from './client.ts'

/** The admin wire over a kafkajs admin client (kafkajs retries each request itself). */
export function kafkajsAdmin(options: ResolvedKafkaOptions, role: string, retries?: number, quiet = false): AdminWire {
  const client = createClient(options, role, retries, quiet)
  const admin: Admin = client.admin()
  let uncommitted: Promise<UncommittedCluster> | undefined
  return {
    connect: () => admin.connect(),
    close: async () => {
      await admin.disconnect()
      await uncommitted?.then((c) => c.disconnect()).catch(() => undefined)
    },
    describeCluster: async () => void (await admin.describeCluster()),
    createTopic: async (topic, numPartitions, replicationFactor, configs) => {
      const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }))
      await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor, configEntries }], waitForLeaders: true })
    },
    listTopics: () => admin.listTopics(),
    partitionCount: async (topic) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length ?? 0,
    watermarks: async (topic) => new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }])),
    logEnds: async (topic) => {
      uncommitted ??= uncommittedCluster(client)
      const cluster = await uncommitted.catch((e: unknown) => {
        uncommitted = undefined
        throw e
      })
      await cluster.addTargetTopic(topic)
      await cluster.refreshMetadataIfNecessary()
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }))
      const [listed] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }])
      return new Map((listed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
    },
    offsetsForTimestamp: async (topic, timestamp) =>
      (await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)).map((o) => ({ topic, partition: o.partition, offset: Number(o.offset) })),
    deleteTopics: (topics, timeout) => admin.deleteTopics({ topics, timeout }),
    listGroups: async () => (await admin.listGroups()).groups.map((g) => g.groupId),
    deleteGroups: async (groups) => void (await admin.deleteGroups(groups)),
    committedOffsets: async (groupId, topics) => {
      const found = await admin.fetchOffsets(topics ? { groupId, topics } : { groupId })
      return found.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })))
    },
    groupMembers: async (group) => {
      const g = (await admin.describeGroups([group])).groups[0]
      return { state: g?.state ?? 'Dead', members: g?.members.length ?? 0 }
    },
  }
}

/** The part of kafkajs' internal cluster that lists offsets. */
interface UncommittedCluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  addTargetTopic(topic: string): Promise<void>
  refreshMetadataIfNecessary(): Promise<void>
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>
  fetchTopicsOffset(topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>): Promise<Array<{ partitions: Array<{ partition: number; offset: string }> }>>
}

/**
 * kafkajs' admin lists offsets read-committed only (the last stable offset); the log's end, open
 * transactions included, takes a read-uncommitted ListOffsets, which kafkajs offers only on its
 * internal cluster object (kafkajs has had no release since 2023: its internals hold still).
 */
async function uncommittedCluster(client: KafkaClient): Promise<UncommittedCluster> {
  const key = Object.getOwnPropertySymbols(client).find((s) => s.description === 'private:Kafka:createCluster')
  const create = key && (client as unknown as Record<symbol, (o: object) => UncommittedCluster>)[key]
  if (typeof create !== 'function') throw new Error("this kafkajs version has no internal cluster to read the log's end with")
  const cluster = create({ allowAutoTopicCreation: false, isolationLevel: 0 })
  await cluster.connect()
  return cluster
}
