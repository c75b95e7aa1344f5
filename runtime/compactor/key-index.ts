import { keySql } from '../codec/key.ts'
import { parseSnapshotId, toSnapshotId, type SnapshotId, type Table } from '../lake/index.ts'
import { quoteIdent } from '../lake/duckdb.ts'
import type { StateStores } from '../state/db.ts'

const MARKER = '\u0000snapshot'

/** Where a live row is: the data file's URI and the row's position in it. */
export type RowPosition = readonly [file: string, pos: number]

/**
 * Key → position of the live row, for an upsert table, so a keyed commit writes position deletes
 * for exactly the rows it replaces instead of rewriting the table. Keys are the codec's canonical
 * key text (codec/key.ts: keyText in JavaScript, keySql for a rebuild from the table). It records
 * the snapshot it reflects; when that is not the table's head (a crash between the commit and the
 * index update, a rollback, a rewrite) it is rebuilt from the head snapshot's files.
 */
export class KeyIndex {
  readonly #db: StateStores
  readonly #store: string

  constructor(db: StateStores, table: string) {
    this.#db = db
    this.#store = `keys:${table}`
  }

  /** The snapshot the index reflects (kept as decimal text: ids are 64-bit). */
  get snapshotId(): SnapshotId | undefined {
    const v: unknown = this.#db.get(this.#store, MARKER)
    return typeof v === 'string' ? parseSnapshotId(v) : toSnapshotId(v)
  }

  get(key: string): RowPosition | undefined {
    return this.#db.get(this.#store, key) as RowPosition | undefined
  }

  /** Puts (a position) and deletes (undefined), stamped with the snapshot they produce. */
  apply(changes: Iterable<readonly [string, RowPosition | undefined]>, snapshotId: SnapshotId): void {
    this.#db.apply(this.#store, [...changes, [MARKER, String(snapshotId)]], [])
  }

  /** Forgets every key, then applies `changes`: the index of a table whose rows a truncate dropped. */
  replace(changes: Iterable<readonly [string, RowPosition | undefined]>, snapshotId: SnapshotId): void {
    this.#db.clear(this.#store)
    this.apply(changes, snapshotId)
  }

  /** Rebuilds from the live rows of a snapshot (deletes applied): key columns plus file and position. */
  async rebuild(table: Table, snapshotId: SnapshotId | undefined, keyFields: readonly string[], avroSchema: Record<string, unknown>): Promise<number> {
    this.#db.clear(this.#store)
    if (snapshotId === undefined) return 0
    // `_file` is the data file's URI, whatever local path DuckDB read it from.
    const changes = await table.read(
      { snapshotId },
      async (view, conn) => {
        const reader = await conn.runAndReadAll(`SELECT ${keySql(avroSchema, keyFields, quoteIdent)}, "_file", "_pos" FROM (${view})`)
        return reader.getRows().map((row): [string, RowPosition] => [String(row[0]), [String(row[1]), Number(row[2])]])
      },
      { positions: true },
    )
    this.apply(changes, snapshotId)
    return changes.length
  }
}
