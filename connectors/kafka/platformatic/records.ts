import type { Headers, LogRecord } from '../../../runtime/log/log.ts'

/** A record batch as the library decodes it from a fetch response (the fields we read). */
export interface FetchedBatch {
  firstOffset: bigint
  attributes: number
  lastOffsetDelta: number
  firstTimestamp: bigint
  maxTimestamp: bigint
  producerId: bigint
  records: ReadonlyArray<{
    offsetDelta: number
    timestampDelta: bigint
    key: Buffer | null
    value: Buffer | null
    headers: ReadonlyArray<readonly [Buffer | null, Buffer | null]>
  }>
}

export interface AbortedTransaction {
  producerId: bigint
  firstOffset: bigint
}

// Batch attributes (Kafka's RecordBatch v2).
const LOG_APPEND_TIME = 1 << 3
const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5
/** A control record's key: version (int16), then type (int16): 0 abort, 1 commit. */
const ABORT = 0

/**
 * The records of one partition's fetched batches that a read_committed reader may see, from
 * `from` on, as LogRecords; and the offset after the last batch (past aborted and control batches
 * too, which the reader skips but must move beyond).
 *
 * Kafka's algorithm (the Java consumer's): aborted transactions come sorted by first offset; a
 * producer is "aborting" from the first offset of one of its aborted transactions until its abort
 * marker, and its transactional batches in between are skipped. Several aborted transactions of one
 * producer in one response (a transactional id restarted again and again) are each honoured.
 */
export function committedRecords(
  topic: string,
  partition: number,
  batches: readonly FetchedBatch[],
  aborted: readonly AbortedTransaction[],
  from: number,
): { records: LogRecord[]; next: number } {
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  let p = 0
  const aborting = new Set<bigint>()
  const records: LogRecord[] = []
  let next = from
  for (const batch of batches) {
    const first = Number(batch.firstOffset)
    const last = first + batch.lastOffsetDelta
    if (last + 1 > next) next = last + 1
    const attributes = batch.attributes
    if (batch.producerId >= 0n) {
      while (p < pending.length && pending[p]!.firstOffset <= BigInt(last)) aborting.add(pending[p++]!.producerId)
      if (attributes & CONTROL) {
        if (isAbortMarker(batch)) aborting.delete(batch.producerId)
        continue
      }
      if (attributes & TRANSACTIONAL && aborting.has(batch.producerId)) continue
    }
    if (attributes & CONTROL) continue
    const appendTime = attributes & LOG_APPEND_TIME ? Number(batch.maxTimestamp) : undefined
    const base = Number(batch.firstTimestamp)
    for (const r of batch.records) {
      const offset = first + r.offsetDelta
      if (offset < from) continue
      records.push({ topic, partition, offset, timestamp: appendTime ?? base + Number(r.timestampDelta), key: r.key, value: r.value, headers: headersOf(r.headers) })
    }
  }
  return { records, next }
}

function isAbortMarker(batch: FetchedBatch): boolean {
  const key = batch.records[0]?.key
  return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === ABORT
}

const NO_HEADERS: Headers = Object.freeze({}) as Headers

/**
 * Headers by name; a repeated name keeps its last value (Kafka's lastHeader). A header whose value
 * is null (other clients may write one) reads as absent: a LogRecord's header is bytes, and
 * Kafka's own lookup answers null for both.
 */
function headersOf(list: ReadonlyArray<readonly [Buffer | null, Buffer | null]>): Headers {
  if (list.length === 0) return NO_HEADERS
  const out: Headers = {}
  for (const [name, value] of list) {
    if (name === null) continue
    const key = name.toString('utf8')
    if (value === null) delete out[key]
    else out[key] = value
  }
  return out
}
