import { TributaryError } from '../../runtime/errors.ts'
import type { ConsumerOptions, PartitionOffset, TopicPartition } from '../../runtime/log/log.ts'
import { assertTopicName } from '../../runtime/log/names.ts'
import { rebalanced, tpKey } from './positions.ts'

/** What every Kafka consumer refuses at construction, whichever client drives it. */
export function checkConsumerOptions(options: ConsumerOptions): void {
  for (const t of options.topics) assertTopicName(t)
  if (options.group !== null && (typeof options.group !== 'string' || options.group.length === 0))
    throw new TributaryError('TRIB_USAGE', `consumer group must be a non-empty string or null, got ${JSON.stringify(options.group)}`)
  const m = options.member
  if (m !== undefined && !(Number.isInteger(m.count) && m.count >= 1 && Number.isInteger(m.index) && m.index >= 0 && m.index < m.count))
    throw new TributaryError('TRIB_USAGE', `consumer member ${m.index} of ${m.count} is not a valid static membership`)
}

export function checkSeekOffset(position: PartitionOffset): void {
  if (!Number.isSafeInteger(position.offset) || position.offset < 0)
    throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `cannot seek ${position.topic}-${position.partition} to offset ${position.offset}`, { details: { ...position } })
}

export const notAssigned = (position: PartitionOffset): TributaryError =>
  new TributaryError('TRIB_TOPIC_INVALID', `${position.topic}-${position.partition} is not assigned to this consumer`, { details: { ...position } })

/** Offsets a group member may commit: valid numbers, on partitions it owns now. */
export function checkCommitOffsets(group: string, offsets: readonly PartitionOffset[], assigned: ReadonlyMap<string, unknown>): void {
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0)
      throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `group ${group}: offset ${o.offset} for ${o.topic}-${o.partition} is not valid`, { details: { ...o } })
    if (!assigned.has(tpKey(o.topic, o.partition))) throw rebalanced(o, group)
  }
}

/** The assignment, sorted by topic and partition. */
export function sortedAssignment(parts: Iterable<TopicPartition>): TopicPartition[] {
  return [...parts]
    .map((p) => ({ topic: p.topic, partition: p.partition }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
}
