import type { Consumer, Log, OutgoingRecord, PartitionOffset } from '../log/log.ts'
import type { StateDb } from '../state/db.ts'
import { getter } from '../spec/fields.ts'
import type { PortDecoder } from './decode.ts'
import { deadLetter } from '../log/dead-letters.ts'
import { canonicalKey } from './canonical-key.ts'
import type { Serde } from '../codec/avro/serde.ts'
import { TributaryError } from '../errors.ts'

/**
 * A table-mode input port: the latest value per key of its topic, kept in the product's state
 * store and read by the transform with `ctx.lookup`. It is global (every instance reads every
 * partition), so lookups need no co-partitioning. Deletes and tombstones remove the key.
 */
export class TablePort {
  readonly name: string
  readonly #store: string
  readonly #db: StateDb
  readonly #decoder: PortDecoder
  readonly #keyOf: ((v: Record<string, unknown>) => unknown) | undefined
  #consumer: Consumer | undefined

  constructor(db: StateDb, decoder: PortDecoder) {
    this.name = decoder.port.spec.name
    this.#store = `table:${this.name}`
    this.#db = db
    this.#decoder = decoder
    this.#keyOf = decoder.port.spec.key ? getter(decoder.port.spec.key) : undefined
  }

  get(key: unknown): unknown {
    return this.#db.db(this.#store).get(canonicalKey(key))
  }

  async open(log: Log): Promise<void> {
    const topic = this.#decoder.port.spec.topic
    const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'earliest' } })
    for (const p of this.#db.positions(this.#store)) if (p.topic === topic) consumer.seek(p)
    this.#consumer = consumer
  }

  /**
   * Applies everything available now. Records that cannot be decoded become dead letters, which the
   * caller appends before this table's position moves (at-least-once for those dead letters).
   */
  async catchUp(serde: Serde, dlqTopic: string, appendDeadLetters: (r: OutgoingRecord[]) => Promise<void>): Promise<number> {
    const consumer = this.#consumer
    if (!consumer) throw new TributaryError('TRIB_INTERNAL', `table port ${this.name} is not open`)
    let applied = 0
    for (;;) {
      const records = await consumer.poll({ maxRecords: 5000, maxWaitMs: 0 })
      if (records.length === 0) return applied
      const ids = new Set<number>()
      for (const r of records) this.#decoder.schemaIds(r, ids)
      await serde.prefetch(ids)
      const changes = new Map<string, unknown>()
      const positions = new Map<string, PartitionOffset>()
      const dead: OutgoingRecord[] = []
      for (const r of records) {
        positions.set(`${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
        try {
          const d = this.#decoder.decode(r)
          const removed = d.value === null || d.op === 'd'
          const keySource = this.#keyOf && d.value ? this.#keyOf(d.value) : d.key
          if (keySource === undefined || keySource === null) throw new TributaryError('TRIB_DECODE_ENVELOPE', `table port ${this.name}: record has no key`)
          changes.set(canonicalKey(keySource), removed ? undefined : d.value)
        } catch (e) {
          dead.push(deadLetter(dlqTopic, r, 'decode', this.name, e))
        }
      }
      if (dead.length > 0) await appendDeadLetters(dead)
      this.#db.apply(this.#store, changes, [...positions.values()])
      applied += records.length
    }
  }

  async close(): Promise<void> {
    await this.#consumer?.close()
    this.#consumer = undefined
  }
}
