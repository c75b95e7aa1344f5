import type { PartitionOffset, TopicInfo } from '../../runtime/log/log.ts'
import type { Partition } from './partition.ts'

/**
 * Journal records are commits as data: each is applied by one pure-ish function (`apply`), both
 * when this process writes it and when any process reads it back. Short keys keep records small.
 */
export type TopicEntry = [name: string, partitions: number]
/** [topic, partition, segment base, end offset, committed bytes in segment, batch start byte] */
export type PartitionEntry = [topic: string, partition: number, seg: number, end: number, pos: number, from: number]
export type GroupEntry = [group: string, topic: string, partition: number, offset: number]

export interface JournalEntry {
  /** Checkpoint: the first record of every journal file holds the full state. */
  c?: 1
  t?: TopicEntry[]
  p?: PartitionEntry[]
  g?: GroupEntry[]
  /** Rotation marker: continue in journal file number r. */
  r?: number
  /** Deleted topics (with every group's offsets on them). */
  x?: string[]
  /** Deleted consumer groups. */
  xg?: string[]
}

export interface Topic {
  name: string
  partitions: Partition[]
}

const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isStr = (x: unknown): x is string => typeof x === 'string'

/** Shape check of a parsed record; returns the reason it is malformed, or undefined. */
export function malformed(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'not an object'
  const e = x as Record<string, unknown>
  const rows = (k: string, ok: (row: unknown[]) => boolean): boolean =>
    e[k] === undefined || (Array.isArray(e[k]) && (e[k] as unknown[]).every((r) => Array.isArray(r) && ok(r)))
  if (!rows('t', (r) => isStr(r[0]) && isNat(r[1]))) return 'bad topic entry'
  if (!rows('p', (r) => isStr(r[0]) && r.slice(1, 6).every(isNat) && r.length === 6)) return 'bad partition entry'
  if (!rows('g', (r) => isStr(r[0]) && isStr(r[1]) && isNat(r[2]) && isNat(r[3]))) return 'bad group entry'
  if (e.r !== undefined && !isNat(e.r)) return 'bad rotation marker'
  for (const k of ['x', 'xg']) if (e[k] !== undefined && !(Array.isArray(e[k]) && (e[k] as unknown[]).every(isStr))) return `bad ${k === 'x' ? 'topic' : 'group'} deletion`
  return undefined
}

/** The committed state of the whole log, as known from the journal. */
export class LogState {
  readonly topics = new Map<string, Topic>()
  /** group -> topic -> partition -> next offset to read */
  readonly groups = new Map<string, Map<string, Map<number, number>>>()

  constructor(private readonly makePartition: (topic: string, partition: number) => Partition) {}

  /** Applies a committed record. Throws (plain Error) when it contradicts the state. */
  apply(entry: JournalEntry): void {
    for (const name of entry.x ?? []) {
      this.topics.delete(name)
      for (const byTopic of this.groups.values()) byTopic.delete(name)
    }
    for (const group of entry.xg ?? []) this.groups.delete(group)
    for (const [name, count] of entry.t ?? []) {
      if (this.topics.has(name)) continue
      const partitions = Array.from({ length: count }, (_, i) => this.makePartition(name, i))
      this.topics.set(name, { name, partitions })
    }
    for (const [topic, partition, seg, end, pos, from] of entry.p ?? []) {
      const p = this.partition(topic, partition)
      if (p === undefined) throw new Error(`commit for unknown partition ${topic}-${partition}`)
      p.applyCommit(seg, end, pos, from)
    }
    for (const [group, topic, partition, offset] of entry.g ?? []) {
      let byTopic = this.groups.get(group)
      if (byTopic === undefined) this.groups.set(group, (byTopic = new Map()))
      let byPartition = byTopic.get(topic)
      if (byPartition === undefined) byTopic.set(topic, (byPartition = new Map()))
      byPartition.set(partition, offset)
    }
  }

  /** A record that rebuilds this state from nothing (one `p` entry per segment, in order). */
  checkpoint(): JournalEntry {
    const t: TopicEntry[] = []
    const p: PartitionEntry[] = []
    const g: GroupEntry[] = []
    for (const topic of this.topics.values()) {
      t.push([topic.name, topic.partitions.length])
      for (const part of topic.partitions) {
        for (const s of part.segments) p.push([topic.name, part.partition, s.base, s.end, s.bytes, s.lastBatchFrom])
      }
    }
    for (const [group, byTopic] of this.groups) {
      for (const [topic, byPartition] of byTopic) {
        for (const [partition, offset] of byPartition) g.push([group, topic, partition, offset])
      }
    }
    return { c: 1, t, p, g }
  }

  partition(topic: string, partition: number): Partition | undefined {
    return this.topics.get(topic)?.partitions[partition]
  }

  topicInfo(name: string): TopicInfo | undefined {
    const topic = this.topics.get(name)
    return topic && { name, partitions: topic.partitions.map((p) => p.info()) }
  }

  groupOffsets(group: string): PartitionOffset[] {
    const out: PartitionOffset[] = []
    for (const [topic, byPartition] of this.groups.get(group) ?? []) {
      for (const [partition, offset] of byPartition) out.push({ topic, partition, offset })
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  }

  committedOffset(group: string, topic: string, partition: number): number | undefined {
    return this.groups.get(group)?.get(topic)?.get(partition)
  }
}
