import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, PartitionOffset } from '../../runtime/log/log.ts'
import { assertPartition, assertTopicName } from './names.ts'
import type { GroupEntry, LogState } from './state.ts'

const isBytes = (x: unknown): boolean => x instanceof Uint8Array

function invalid(r: OutgoingRecord, i: number, what: string): TributaryError {
  return new TributaryError('TRIB_TOPIC_INVALID', `record ${i} for topic ${r.topic}: ${what}`, { details: { topic: r.topic, index: i } })
}

/** Checks records before anything is written, so a bad record never leaves half an append behind. */
export function validateRecords(records: readonly OutgoingRecord[]): void {
  let checked: string | undefined // records of a batch mostly share a topic: check its name once
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    if (r.topic !== checked) {
      assertTopicName(r.topic)
      checked = r.topic
    }
    if (r.key !== null && !isBytes(r.key)) throw invalid(r, i, 'key must be a Buffer or null')
    if (r.value !== null && !isBytes(r.value)) throw invalid(r, i, 'value must be a Buffer or null')
    if (r.partition !== undefined && (!Number.isInteger(r.partition) || r.partition < 0)) {
      throw invalid(r, i, `partition ${String(r.partition)} is not a non-negative integer`)
    }
    if (r.timestamp !== undefined && !Number.isFinite(r.timestamp)) throw invalid(r, i, `timestamp ${String(r.timestamp)} is not a number`)
    if (r.headers !== undefined) {
      for (const name in r.headers) if (!isBytes(r.headers[name])) throw invalid(r, i, `header ${name} must be a Buffer`)
    }
  }
}

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
