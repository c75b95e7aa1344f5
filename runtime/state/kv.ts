import type { Log, OutgoingRecord, PartitionOffset, RecordPosition } from '../log/log.ts'
import type { StateStore } from '../product/transform.ts'
import { parseExact } from '../codec/json/exact.ts'
import { writeJson } from '../codec/json/write.ts'
import { TributaryError } from '../errors.ts'
import type { StateStores } from './db.ts'

const STORE = 'kv'
const sep = '\u0000'

/**
 * `ctx.state`: a key-value store scoped to the input partition of the record being processed, like
 * a Kafka Streams task store. Its source of truth is the changelog topic, written in the same
 * commit as the outputs and input offsets; the local LMDB copy is a cache brought up to date from
 * the changelog. Changes of one record are staged and discarded if that record fails, so a
 * dead-lettered record leaves no trace in state. Values are JSON as the codec writes and reads it
 * (runtime/codec/VALUES.md): int64 exact (a bigint beyond 2^53), -0.0 kept; NaN and the infinities
 * come back as the strings "NaN", "Infinity", "-Infinity", bytes as base64 strings.
 */
export class PartitionedState {
  readonly #db: StateStores
  readonly topic: string
  #partition = 0
  #record = new Map<string, string | null>()
  #batch = new Map<string, string | null>()

  constructor(db: StateStores, changelogTopic: string) {
    this.#db = db
    this.topic = changelogTopic
  }

  /** The transform's view, bound to the current record's partition. */
  readonly api: StateStore = {
    get: <T>(key: string): T | undefined => {
      const k = this.#key(key)
      const staged = this.#record.has(k) ? this.#record.get(k) : this.#batch.get(k)
      if (staged === null) return undefined
      const text = staged ?? (this.#db.get(STORE, k) as string | undefined)
      return text === undefined ? undefined : (parseExact(text) as T)
    },
    put: (key: string, value: unknown): void => {
      if (value === undefined) throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `ctx.state.put("${key}"): value is undefined; use delete`)
      this.#record.set(this.#key(key), writeJson(value))
    },
    delete: (key: string): void => {
      this.#record.set(this.#key(key), null)
    },
  }

  begin(partition: number): void {
    this.#partition = partition
    this.#record.clear()
  }

  keep(): void {
    for (const [k, v] of this.#record) this.#batch.set(k, v)
    this.#record.clear()
  }

  discard(): void {
    this.#record.clear()
  }

  get dirty(): boolean {
    return this.#batch.size > 0
  }

  /** Changelog records for the batch: the last value per key, on the key's partition. */
  changelog(): OutgoingRecord[] {
    return [...this.#batch].map(([k, v]) => {
      const i = k.indexOf(sep)
      return {
        topic: this.topic,
        partition: Number(k.slice(0, i)),
        key: Buffer.from(k.slice(i + 1)),
        value: v === null ? null : Buffer.from(v),
      }
    })
  }

  /** After the commit: copy the batch into LMDB with the changelog positions it reached. */
  committed(positions: readonly RecordPosition[]): void {
    const next = new Map<number, number>()
    for (const p of positions) if (p.topic === this.topic) next.set(p.partition, Math.max(next.get(p.partition) ?? 0, p.offset + 1))
    const changes = [...this.#batch].map(([k, v]) => [k, v === null ? undefined : v] as const)
    this.#db.apply(STORE, changes, [...next].map(([partition, offset]) => ({ topic: this.topic, partition, offset })))
    this.#batch.clear()
  }

  abandon(): void {
    this.#batch.clear()
    this.#record.clear()
  }

  /** Brings the local copy up to the end of the changelog (after a crash or on a new machine). */
  async restore(log: Log, member?: { index: number; count: number }): Promise<number> {
    const info = await log.describeTopic(this.topic)
    if (!info) return 0
    const from = new Map(this.#db.positions(STORE).map((p) => [p.partition, p.offset]))
    const mine = member ? info.partitions.filter((p) => p.partition % member.count === member.index) : info.partitions
    const pending = mine.filter((p) => (from.get(p.partition) ?? 0) < p.end)
    if (pending.length === 0) return 0
    const consumer = log.consumer({ group: null, topics: [this.topic], from: { kind: 'earliest' } })
    let applied = 0
    try {
      for (const p of info.partitions) consumer.seek({ topic: this.topic, partition: p.partition, offset: from.get(p.partition) ?? p.end })
      for (const p of pending) consumer.seek({ topic: this.topic, partition: p.partition, offset: from.get(p.partition) ?? 0 })
      const ends = new Map(pending.map((p) => [p.partition, p.end]))
      const done = (pos: Map<number, number>) => [...ends].every(([p, end]) => (pos.get(p) ?? from.get(p) ?? 0) >= end)
      const pos = new Map<number, number>()
      while (!done(pos)) {
        const records = await consumer.poll({ maxRecords: 5000, maxWaitMs: 1000 })
        const changes: Array<[string, unknown]> = []
        const positions: PartitionOffset[] = []
        for (const r of records) {
          // Another stream thread may append to its own partitions meanwhile: leave those alone.
          if (!ends.has(r.partition)) continue
          changes.push([`${r.partition}${sep}${r.key?.toString() ?? ''}`, r.value === null ? undefined : r.value.toString()])
          pos.set(r.partition, r.offset + 1)
        }
        for (const [partition, offset] of pos) positions.push({ topic: this.topic, partition, offset })
        this.#db.apply(STORE, changes, positions)
        applied += records.length
        // Kafka: a partition can end in transaction markers, which never arrive as records.
        if (records.length === 0 && consumer.caughtUp()) break
      }
    } finally {
      await consumer.close()
    }
    return applied
  }

  #key(key: string): string {
    if (typeof key !== 'string') throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `ctx.state keys are strings, got ${typeof key}`)
    return `${this.#partition}${sep}${key}`
  }
}
