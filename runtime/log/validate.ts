import { TributaryError } from '../errors.ts'
import type { OutgoingRecord } from './log.ts'
import { assertTopicName } from './names.ts'

const isBytes = (x: unknown): boolean => x instanceof Uint8Array

function invalid(r: OutgoingRecord, i: number, what: string): TributaryError {
  return new TributaryError('TRIB_TOPIC_INVALID', `record ${i} for topic ${r.topic}: ${what}`, { details: { topic: r.topic, index: i } })
}

/**
 * Checks records against the Log contract before an adapter writes anything, so a bad record never
 * leaves half an append behind.
 */
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
