import { parseSnapshotId, toSnapshotId, type SnapshotId, type Table } from '../lake/index.ts'
import { quoteIdent } from '../lake/duckdb.ts'
import type { StateDb } from '../state/db.ts'
import { fieldAt, unwrapNullable } from '../spec/fields.ts'

const MARKER = '\u0000snapshot'

/**
 * The index key of a row: its key fields' canonical values as text, joined. The same text comes
 * out of DuckDB for a rebuild (see keyColumnSql), so both paths agree.
 */
export const keyString = (values: readonly unknown[]): string => (values.length === 1 ? String(values[0]) : values.map(String).join('\u001f'))

/** SQL giving a key column as the text of its canonical value. */
export function keyColumnSql(avroSchema: Record<string, unknown>, field: string): string {
  const t = unwrapNullable(fieldAt(avroSchema, field)!.type) as { logicalType?: string }
  const col = quoteIdent(field)
  if (t?.logicalType === 'timestamp-micros') return `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')`
  if (t?.logicalType === 'timestamp-millis') return `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`
  return `CAST(${col} AS VARCHAR)`
}

/** Where a live row is: the data file's URI and the row's position in it. */
export type RowPosition = readonly [file: string, pos: number]

/**
 * Key → position of the live row, for an upsert table, so a keyed commit writes position deletes
 * for exactly the rows it replaces instead of rewriting the table. It records the snapshot it
 * reflects; when that is not the table's head (a crash between the commit and the index update, a
 * rollback, a rewrite) it is rebuilt from the head snapshot's files.
 */
export class KeyIndex {
  readonly #db: StateDb
  readonly #store: string

  constructor(db: StateDb, table: string) {
    this.#db = db
    this.#store = `keys:${table}`
  }

  /** The snapshot the index reflects (kept as decimal text: ids are 64-bit). */
  get snapshotId(): SnapshotId | undefined {
    const v: unknown = this.#db.db(this.#store).get(MARKER)
    return typeof v === 'string' ? parseSnapshotId(v) : toSnapshotId(v)
  }

  get(key: string): RowPosition | undefined {
    return this.#db.db(this.#store).get(key) as RowPosition | undefined
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
        const reader = await conn.runAndReadAll(`SELECT ${keyFields.map((k) => keyColumnSql(avroSchema, k)).join(', ')}, "_file", "_pos" FROM (${view})`)
        return reader.getRows().map((row): [string, RowPosition] => [keyString(row.slice(0, keyFields.length)), [String(row[keyFields.length]), Number(row[keyFields.length + 1])]])
      },
      { positions: true },
    )
    this.apply(changes, snapshotId)
    return changes.length
  }
}
