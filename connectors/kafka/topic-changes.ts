import type { KafkaAdmin } from './admin.ts'

/** Partitions per topic now (metadata at most metadataMaxAgeMs old); 0 for a topic that is gone. */
export async function partitionCounts(admin: KafkaAdmin, topics: readonly string[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(topics.map(async (t) => [t, (await admin.partitionCount(t)) ?? 0] as const)))
}

/**
 * What changed in a consumer's subscription since its session opened: subscribed topics that
 * did not exist then and do now, and topics with more partitions than `known`. A consumer takes
 * both on (kafkajs and platformatic consumers alike), or records in them are never read.
 */
export async function topicChanges(admin: KafkaAdmin, missing: readonly string[], known: ReadonlyMap<string, number>): Promise<{ appeared: string[]; grown: string[] }> {
  const appeared = (await Promise.all(missing.map(async (t) => ((await admin.exists(t)) ? t : undefined)))).filter((t) => t !== undefined)
  const now = await partitionCounts(admin, [...known.keys()])
  const grown = [...known].filter(([t, n]) => (now.get(t) ?? 0) > n).map(([t]) => t)
  return { appeared, grown }
}
