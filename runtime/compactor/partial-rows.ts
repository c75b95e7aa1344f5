import { keepUnavailable } from '../log/change-headers.ts'

type Row = Record<string, unknown>
/** What an upsert window holds for a key: a row, its checked Avro bytes (columnar path), or null (deleted). */
export type Pending = Row | Buffer | null
interface Unresolved {
  fields: ReadonlySet<string>
  /** The key whose stored values they keep: the row's own, or the one it had before a key change. */
  from: string
}

/**
 * The rows of an upsert window with fields whose value the source did not send (Debezium's
 * unchanged TOASTed columns, see log/change-headers.ts): what each keeps, and from where. A field
 * keeps the value of the pending row of its `from` key when there is one; else it is resolved at
 * commit, from a row of the old key that came later in the window (output partitions are read
 * independently), or else from the table. After a delete of the same key, or a truncate, nothing
 * is kept: the field stays null.
 */
export class PartialRows {
  readonly #pending: Map<string, Pending>
  readonly #decode: (value: Buffer) => Row
  readonly #unresolved = new Map<string, Unresolved>()
  /** Rows that pending deletes removed, for a row whose key changed (its delete comes first). */
  readonly #deleted = new Map<string, { row: Row | Buffer; unresolved: Unresolved | undefined }>()

  /** `pending` is the window's map, which this class updates with the merged rows. */
  constructor(pending: Map<string, Pending>, decode: (value: Buffer) => Row) {
    this.#pending = pending
    this.#decode = decode
  }

  get size(): number {
    return this.#unresolved.size
  }

  /** A full row or a delete for `key` is about to be pended (call before setting it). */
  replaced(key: string, deleting: boolean): void {
    const gone = this.#pending.get(key)
    if (deleting && gone) this.#deleted.set(key, { row: gone, unresolved: this.#unresolved.get(key) })
    this.#unresolved.delete(key)
  }

  /** Pends a row whose `unavailable` fields keep what key `from` holds. */
  take(key: string, row: Row, unavailable: ReadonlySet<string>, from: string): void {
    const pending = this.#pending.get(from)
    const source = pending ? { row: pending, unresolved: this.#unresolved.get(from) } : from !== key ? this.#deleted.get(from) : undefined
    if (!source) {
      this.#pending.set(key, row)
      if (pending === null && from === key) this.#unresolved.delete(key)
      else this.#unresolved.set(key, { fields: unavailable, from })
      return
    }
    this.#pending.set(key, keepUnavailable(row, unavailable, this.#row(source.row)))
    // Still unknown: what neither this row nor the one it keeps from knew.
    const still = source.unresolved && [...unavailable].filter((f) => source.unresolved!.fields.has(f))
    if (still && still.length > 0) this.#unresolved.set(key, { fields: new Set(still), from: source.unresolved!.from })
    else this.#unresolved.delete(key)
  }

  /**
   * Fills the unresolved rows at commit: from a row of the old key that came later in the window,
   * else from `stored` (by `from` key, for the given fields; not called when nothing is left).
   */
  async resolve(stored: (froms: Array<{ key: string; from: string }>, fields: string[]) => Promise<Map<string, Row>>): Promise<void> {
    for (const [key, u] of this.#unresolved) {
      if (u.from === key) continue
      const later = this.#pending.get(u.from) || this.#deleted.get(u.from)?.row
      if (!later) continue
      this.#pending.set(key, keepUnavailable(this.#pending.get(key) as Row, u.fields, this.#row(later)))
      this.#unresolved.delete(key)
    }
    if (this.#unresolved.size === 0) return
    const entries = [...this.#unresolved]
    const values = await stored(
      entries.map(([key, u]) => ({ key, from: u.from })),
      [...new Set(entries.flatMap(([, u]) => [...u.fields]))],
    )
    for (const [key, u] of entries) this.#pending.set(key, keepUnavailable(this.#pending.get(key) as Row, u.fields, values.get(u.from)))
    this.#unresolved.clear()
  }

  clear(): void {
    this.#unresolved.clear()
    this.#deleted.clear()
  }

  #row(v: Row | Buffer): Row {
    return Buffer.isBuffer(v) ? this.#decode(v) : v
  }
}
