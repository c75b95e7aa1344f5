import { TributaryError } from '../../runtime/errors.ts'
import type { PartitionOffset, StartFrom, TopicPartition } from '../../runtime/log/log.ts'
import type { KafkaAdmin } from './admin.ts'
import { describe } from './errors.ts'
import { log } from './logger.ts'

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** An assigned partition as this consumer sees it. */
export interface Part extends TopicPartition {
  /** Next offset to hand out (-1 before the first assignment resolved it). */
  position: number
  /** The log's end as last seen (ListOffsets, a fetch's high watermark, readEnds): a reader is caught up at it. */
  end: number
  /** A seek waits for a fresh end offset; the partition is paused meanwhile. */
  seeking: number
  /** Set by a seek until the next fetch starts: what was fetched before is stale. */
  stale: boolean
  /** The group's last known committed offset, else where reading started: a failed commit rewinds here. */
  base: number
}

export interface StartInput {
  parts: readonly Part[]
  /** null: a consumer without a group, whose remembered positions win over `from`. */
  group: string | null
  from: StartFrom
  /** Seeks requested before the assignment was known. */
  seeks: ReadonlyMap<string, number>
}

export interface Start {
  offset: number
  high: number
  /** The group's committed offset, when it has one. */
  committed: number | undefined
}

/**
 * Where each newly assigned partition starts: a pending seek, else the group's committed offset
 * (group consumers: uncommitted records are delivered again, at-least-once), else the position
 * this consumer had reached (consumers without a group keep reading where they were), else
 * `from`. Always within [low, high]: kafkajs answers an out-of-range fetch by committing its
 * default offset for the group, which must never happen behind our back, and a fetch outside the
 * log fails.
 */
export async function startOffsets(admin: KafkaAdmin, input: StartInput): Promise<Map<string, Start>> {
  const topics = [...new Set(input.parts.map((p) => p.topic))]
  const marks = new Map(await Promise.all(topics.map(async (t) => [t, await admin.watermarks(t)] as const)))
  const committed = new Map<string, number>()
  if (input.group !== null && topics.length > 0)
    for (const o of await admin.committedOffsets(input.group, topics)) committed.set(tpKey(o.topic, o.partition), o.offset)

  const byTime = new Map<string, number>()
  const from = input.from
  if (from.kind === 'timestamp') {
    const need = new Set(input.parts.filter((p) => !decided(p, input, committed)).map((p) => p.topic))
    for (const t of need) for (const o of await admin.offsetsForTimestamp(t, from.timestamp)) byTime.set(tpKey(o.topic, o.partition), o.offset)
  }

  const out = new Map<string, Start>()
  for (const p of input.parts) {
    const key = tpKey(p.topic, p.partition)
    const w = marks.get(p.topic)?.get(p.partition) ?? { low: 0, high: 0 }
    let offset = input.seeks.get(key) ?? (input.group !== null ? committed.get(key) : p.position >= 0 ? p.position : undefined)
    if (offset === undefined) {
      if (from.kind === 'earliest') offset = w.low
      else if (from.kind === 'latest') offset = w.high
      else if (from.kind === 'offset') offset = from.offset
      else offset = byTime.get(key) ?? w.high
    }
    if (offset > w.high) log.warn({ topic: p.topic, partition: p.partition, offset, end: w.high }, 'start past the end: starting at the end')
    out.set(key, { offset: Math.min(Math.max(offset, w.low), w.high), high: w.high, committed: committed.get(key) })
  }
  return out
}

function decided(p: Part, input: StartInput, committed: Map<string, number>): boolean {
  const key = tpKey(p.topic, p.partition)
  return input.seeks.has(key) || (input.group !== null ? committed.has(key) : p.position >= 0)
}

/**
 * Reads the log's end of every partition in `parts` from the brokers into `end`; true when one
 * moved. A poll that returns at once (a drain asking "is anything left?") does this before saying
 * caught up: a consumer learns ends from its fetches, which may not have seen a commit acknowledged
 * a moment ago. Fails quietly (false): the fetches still move the ends.
 */
export async function readEnds(admin: KafkaAdmin, parts: ReadonlyMap<string, Part>): Promise<boolean> {
  const topics = [...new Set([...parts.values()].map((p) => p.topic))]
  try {
    const ends = new Map(await Promise.all(topics.map(async (t) => [t, await admin.logEnds(t)] as const)))
    let moved = false
    for (const p of parts.values()) {
      const end = ends.get(p.topic)?.get(p.partition) ?? p.end
      if (end > p.end) {
        p.end = end
        moved = true
      }
    }
    return moved
  } catch (e) {
    log.debug({ topics, cause: describe(e) }, 'could not read the end offsets')
    return false
  }
}

export const formatOffsets = (a: readonly PartitionOffset[]): string => a.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(' ')

/** The error of a commit for a partition this consumer no longer owns. */
export function rebalanced(o: TopicPartition, group: string | null): TributaryError {
  return new TributaryError(
    'TRIB_LOG_REBALANCED',
    `${o.topic}-${o.partition} is not assigned to this consumer of group ${group} any more (the group rebalanced); its uncommitted records are delivered again`,
    { details: { topic: o.topic, partition: o.partition, group } },
  )
}
