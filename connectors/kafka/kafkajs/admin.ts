import type { Admin } from 'kafkajs'
import type { AdminWire } from '../driver.ts'
import type { ResolvedKafkaOptions } from '../options.ts'
import { createClient } from './client.ts'

/** The admin wire over a kafkajs admin client (kafkajs retries each request itself). */
export function kafkajsAdmin(options: ResolvedKafkaOptions, role: string, retries?: number, quiet = false): AdminWire {
  const admin: Admin = createClient(options, role, retries, quiet).admin()
  return {
    connect: () => admin.connect(),
    close: () => admin.disconnect(),
    describeCluster: async () => void (await admin.describeCluster()),
    createTopic: async (topic, numPartitions, replicationFactor, configs) => {
      const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }))
      await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor, configEntries }], waitForLeaders: true })
    },
    listTopics: () => admin.listTopics(),
    partitionCount: async (topic) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length ?? 0,
    watermarks: async (topic) => new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }])),
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
