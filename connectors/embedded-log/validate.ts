import { TributaryError } from '../../runtime/errors.ts'
import type { PartitionOffset } from '../../runtime/log/log.ts'
import { assertPartition } from '../../runtime/log/names.ts'
import type { GroupEntry, LogState } from './state.ts'

/** Group offsets to commit, checked against the caught-up state. */
export function validateOffsets(state: LogState, group: string, offsets: readonly PartitionOffset[]): GroupEntry[] {
  return offsets.map(({ topic, partition, offset }) => {
    const t = state.topics.get(topic)
    if (t === undefined) {
      throw new TributaryError('TRIB_TOPIC_NOT_FOUND', `group ${group}: cannot commit an offset for topic ${topic}, which does not exist`, {
        details: { group, topic },
      })
    }
    assertPartition(topic, partition, t.partitions.length)
    const end = t.partitions[partition]!.end
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > end) {
      throw new TributaryError('TRIB_OFFSET_OUT_OF_RANGE', `group ${group}: offset ${offset} for ${topic}-${partition} is outside 0..${end}`, {
        details: { group, topic, partition, offset, end },
      })
    }
    return [group, topic, partition, offset]
  })
}
