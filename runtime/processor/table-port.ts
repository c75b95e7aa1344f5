import type { Consumer, Log, OutgoingRecord, PartitionOffset } from '../log/log.ts'
import type { StateStores } from '../state/db.ts'
import { getter } from '../spec/fields.ts'
import { compileContract, type ContractCheck } from './contract.ts'
import type { PortDecoder } from './decode.ts'
import { deadLetter, stageOf } from '../log/dead-letters.ts'
import { isTruncate, keepUnavailable, TruncateBarrier, UNAVAILABLE_FROM_HEADER, unavailableOf } from '../log/change-headers.ts'
import { canonicalKey } from '../codec/key.ts'
import type { Codec } from '../codec/index.ts'
import { TributaryError } from '../errors.ts'

/**
 * A table-mode input port: the latest value per key of its topic, kept in the product's state
 * store and read by the transform with `ctx.lookup`. It is global (every instance reads every
 * partition), so lookups need no co-partitioning. Deletes and tombstones remove the key; a
 * truncate (Debezium's op t, or a Tributary output's truncate header) removes every key. Rows are
 * checked against the port's contract rules; fields the source did not send keep their stored
 * value (see log/change-headers.ts).
 */
export class TablePort {
  readonly name: string
  readonly #store: string
  readonly #db: StateStores
  readonly #decoder: PortDecoder
  readonly #keyOf: ((v: Record<string, unknown>) => unknown) | undefined
  readonly #check: ContractCheck
  #consumer: Consumer | undefined
  #barrier = new TruncateBarrier(1)

  constructor(db: StateStores, decoder: PortDecoder) {
    this.name = decoder.port.spec.name
    this.#store = `table:${this.name}`
    this.#db = db
    this.#decoder = decoder
    this.#keyOf = decoder.port.spec.key ? getter(decoder.port.spec.key) : undefined
    this.#check = compileContract(decoder.port.spec.contract?.fields)
  }

  get(key: unknown): unknown {
    return this.#db.get(this.#store, canonicalKey(key))
  }

  async open(log: Log): Promise<void> {
    const topic = this.#decoder.port.spec.topic
    this.#barrier = new TruncateBarrier((await log.describeTopic(topic))?.partitions.length ?? 1)
    const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'earliest' } })
    for (const p of this.#db.positions(this.#store)) if (p.topic === topic) consumer.seek(p)
    this.#consumer = consumer
  }

  /**
   * Applies everything available now. Records that cannot be decoded become dead letters, which the
   * caller appends before this table's position moves (at-least-once for those dead letters).
   */
  async catchUp(codec: Codec, dlqTopic: string, appendDeadLetters: (r: OutgoingRecord[]) => Promise<void>): Promise<number> {
    const consumer = this.#consumer
    if (!consumer) throw new TributaryError('TRIB_INTERNAL', `table port ${this.name} is not open`)
    let applied = 0
    for (;;) {
      const records = await consumer.poll({ maxRecords: 5000, maxWaitMs: 0 })
      if (records.length === 0) return applied
      const ids = new Set<number>()
      for (const r of records) this.#decoder.schemaIds(r, ids)
      await codec.prefetch(ids)
      const changes = new Map<string, unknown>()
      const positions = new Map<string, PartitionOffset>()
      const dead: OutgoingRecord[] = []
      let emptyFirst = false
      // Values removed by deletes of this poll, for a row whose key changed (its delete comes first).
      const deleted = new Map<string, unknown>()
      const moved: Array<{ key: string; from: string; fields: ReadonlySet<string>; row: Record<string, unknown> }> = []
      for (const [r, truncate] of this.#barrier.take(records)) {
        positions.set(`${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
        try {
          // A marker of another partition only moves that partition's position.
          if (!truncate && isTruncate(r.headers)) continue
          const d = this.#decoder.decode(r)
          if (truncate || d.op === 't') {
            changes.clear()
            deleted.clear()
            moved.length = 0
            emptyFirst = true
            continue
          }
          const removed = d.value === null || d.op === 'd'
          const unavailable = d.unavailable ?? (d.value === null ? undefined : unavailableOf(r.headers))
          if (d.previousKey === undefined && unavailable && r.headers[UNAVAILABLE_FROM_HEADER]) d.previousKey = this.#decoder.decodeKey(r.headers[UNAVAILABLE_FROM_HEADER]!)
          if (!removed) {
            const violation = this.#check(d.value!, unavailable)
            if (violation) throw new TributaryError('TRIB_VALIDATE_RULE', `table port ${this.name}: ${violation.message}`, { details: { ...violation } })
          }
          const keySource = this.#keyOf && d.value ? this.#keyOf(d.value) : d.key
          if (keySource === undefined || keySource === null) throw new TributaryError('TRIB_DECODE_ENVELOPE', `table port ${this.name}: record has no key`)
          const key = canonicalKey(keySource)
          let value = removed ? undefined : d.value!
          if (value && unavailable) {
            // After a key change the values are under the old key, whose delete may already be pending.
            const from = d.previousKey === undefined || d.previousKey === null ? key : canonicalKey(d.previousKey)
            const pending = changes.get(from)
            const stored =
              pending !== undefined ? pending : from !== key && deleted.has(from) ? deleted.get(from) : emptyFirst || changes.has(from) ? undefined : this.#db.get(this.#store, from)
            value = keepUnavailable(value, unavailable, stored as Record<string, unknown> | undefined)
            // The old key's row may come later in this poll, from another partition.
            if (stored === undefined && from !== key) moved.push({ key, from, fields: unavailable, row: value })
          }
          if (removed) deleted.set(key, changes.has(key) ? changes.get(key) : emptyFirst ? undefined : this.#db.get(this.#store, key))
          changes.set(key, value)
        } catch (e) {
          dead.push(deadLetter(dlqTopic, r, stageOf(e), this.name, e))
        }
      }
      for (const m of moved) {
        const later = (changes.get(m.from) ?? deleted.get(m.from)) as Record<string, unknown> | undefined
        // Unless a later change of the key replaced the row.
        if (later && changes.get(m.key) === m.row) changes.set(m.key, keepUnavailable(m.row, m.fields, later))
      }
      if (dead.length > 0) await appendDeadLetters(dead)
      this.#db.apply(this.#store, changes, [...positions.values()], emptyFirst)
      applied += records.length
    }
  }

  async close(): Promise<void> {
    await this.#consumer?.close()
    this.#consumer = undefined
  }
}
