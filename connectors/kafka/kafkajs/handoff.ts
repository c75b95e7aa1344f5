import type { KafkaMessage } from 'kafkajs'
import type { Headers, LogRecord } from '../../../runtime/log/log.ts'

/** Where a partition's reader stands; the hand-off moves it as records are handed out. */
export interface Position {
  /** Offset of the next record this consumer hands out. */
  position: number
}

/**
 * One kafkajs batch (one partition of one fetch) waiting in eachBatch. kafkajs does not fetch
 * that broker again, nor rejoin the group, until every eachBatch call of the fetch returned: so
 * holding a batch holds the partition.
 */
export interface HeldBatch {
  readonly topic: string
  readonly partition: number
  readonly records: readonly LogRecord[]
  /** batch.lastOffset(): past the last record, counting control records kafkajs filtered out. */
  readonly lastOffset: string
  readonly reader: Position
  /** Index of the next record to hand out. */
  next: number
  /** Ends the eachBatch call; with an offset, kafkajs' next fetch of the partition starts after it. */
  finish(resolveTo: string | undefined): void
}

/**
 * The bounded hand-off from kafkajs' eachBatch to poll(). Nothing is buffered beyond the batches
 * kafkajs already fetched (its fetch is bounded in bytes), and eachBatch returns only once its
 * records were handed out *and* the caller came back for more, i.e. the next poll. Until then
 * kafkajs neither fetches further nor rejoins the group, so a caller that commits before polling
 * again commits while it still owns the partitions.
 */
export class Handoff {
  private held: HeldBatch[] = []
  private turn = 0

  add(batch: HeldBatch): void {
    this.held.push(batch)
  }

  get size(): number {
    return this.held.length
  }

  /** Whether some batch was handed out entirely (releaseTaken would end it). */
  anyTaken(): boolean {
    for (const b of this.held) if (b.next === b.records.length) return true
    return false
  }

  /** Records not handed out yet. */
  untaken(): number {
    let n = 0
    for (const b of this.held) n += b.records.length - b.next
    return n
  }

  /**
   * Up to `cap` records: a fair share from each held batch first, then whatever is left, starting
   * from a different batch each time so no partition starves.
   */
  take(cap: number): LogRecord[] {
    const out: LogRecord[] = []
    const n = this.held.length
    if (n === 0) return out
    const share = Math.max(1, Math.ceil(cap / n))
    const start = this.turn++ % n
    for (let pass = 0; pass < 2 && out.length < cap; pass++) {
      for (let i = 0; i < n && out.length < cap; i++) {
        const b = this.held[(start + i) % n]!
        const want = Math.min(pass === 0 ? share : cap, cap - out.length, b.records.length - b.next)
        if (want <= 0) continue
        const end = b.next + want
        for (let k = b.next; k < end; k++) out.push(b.records[k]!)
        b.next = end
        b.reader.position = b.records[end - 1]!.offset + 1
      }
    }
    return out
  }

  /** Ends the batches whose records were all handed out by earlier polls. */
  releaseTaken(): void {
    if (this.held.length === 0) return
    const keep: HeldBatch[] = []
    for (const b of this.held) {
      if (b.next < b.records.length) keep.push(b)
      else {
        // Past trailing control records too, like kafkajs' own resolution.
        b.reader.position = Math.max(b.reader.position, Number(b.lastOffset) + 1)
        b.finish(b.lastOffset)
      }
    }
    this.held = keep
  }

  /**
   * Ends every batch: what was handed out counts as read, the rest is dropped and fetched again
   * by whoever owns the partition next. For rebalances and close.
   */
  releaseAll(): void {
    const all = this.held
    this.held = []
    for (const b of all) {
      if (b.next === b.records.length) {
        b.reader.position = Math.max(b.reader.position, Number(b.lastOffset) + 1)
        b.finish(b.lastOffset)
      } else b.finish(b.next > 0 ? String(b.records[b.next - 1]!.offset) : undefined)
    }
  }

  /** Drops a partition's batches without resolving anything: a seek replaces its position. */
  dropPartition(topic: string, partition: number): void {
    if (this.held.length === 0) return
    const keep: HeldBatch[] = []
    for (const b of this.held) {
      if (b.topic === topic && b.partition === partition) b.finish(undefined)
      else keep.push(b)
    }
    this.held = keep
  }
}

/** kafkajs decodes a repeated header name into an array; a LogRecord keeps the last value (Kafka's lastHeader). */
function headersOf(h: KafkaMessage['headers']): Headers {
  if (h === undefined) return {}
  for (const name in h) {
    const v = h[name]
    if (!Buffer.isBuffer(v)) return normalize(h)
  }
  return h as Headers
}

function normalize(h: NonNullable<KafkaMessage['headers']>): Headers {
  const out: Headers = {}
  for (const name in h) {
    let v = h[name]
    if (Array.isArray(v)) v = v[v.length - 1]
    if (v === undefined) continue
    out[name] = Buffer.isBuffer(v) ? v : Buffer.from(v)
  }
  return out
}

export function toLogRecords(topic: string, partition: number, messages: readonly KafkaMessage[]): LogRecord[] {
  const out: LogRecord[] = new Array(messages.length)
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    out[i] = { topic, partition, offset: Number(m.offset), timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: headersOf(m.headers) }
  }
  return out
}
