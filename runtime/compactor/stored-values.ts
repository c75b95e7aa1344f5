import { DuckDBBlobValue, DuckDBListValue, type DuckDBValue } from '@duckdb/node-api'
import { TributaryError } from '../errors.ts'
import type { SnapshotId, Table } from '../lake/index.ts'
import { quoteIdent, quoteString } from '../lake/duckdb.ts'
import { fieldAt, unwrapNullable } from '../spec/fields.ts'
import { keySql } from '../codec/key.ts'

/**
 * The stored values of some fields of live rows, by index key: what an upsert keeps for a field
 * whose new value the source did not send (an unchanged TOASTed column). Read with DuckDB from the
 * given snapshot. Only the types such columns have are read (strings, bytes, arrays of strings or
 * numbers); any other refuses, naming the field, rather than guess a value.
 */
export async function storedValues(
  table: Table,
  snapshotId: SnapshotId,
  target: { keyFields: readonly string[]; avroSchema: Record<string, unknown> },
  keys: readonly string[],
  fields: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>()
  if (keys.length === 0 || fields.length === 0) return out
  for (const f of fields) canonical(target.avroSchema, f) // refuses unsupported types before reading
  // The index key in SQL (codec/key.ts): the same text as the keys asked for.
  const keyText = keySql(target.avroSchema, target.keyFields, quoteIdent)
  const rows = await table.read({ snapshotId }, async (view, conn) =>
    (await conn.runAndReadAll(`SELECT ${keyText}, ${fields.map(quoteIdent).join(', ')} FROM (${view}) WHERE ${keyText} IN (${keys.map(quoteString).join(', ')})`)).getRows(),
  )
  for (const row of rows) {
    const values: Record<string, unknown> = {}
    fields.forEach((f, i) => (values[f] = canonical(target.avroSchema, f)(row[i + 1]!)))
    out.set(String(row[0]), values)
  }
  return out
}

/** DuckDB value -> canonical value, for the Avro types a TOASTed column has. */
function canonical(avroSchema: Record<string, unknown>, field: string): (v: DuckDBValue) => unknown {
  const type = unwrapNullable((fieldAt(avroSchema, field)?.type ?? null) as Parameters<typeof unwrapNullable>[0])
  const name = typeof type === 'string' ? type : (type as { type?: string; logicalType?: string; items?: unknown })?.type
  const logical = typeof type === 'object' && type !== null ? (type as { logicalType?: string }).logicalType : undefined
  const scalar = (t: unknown): ((v: DuckDBValue) => unknown) | undefined => {
    const n = typeof t === 'string' ? t : undefined
    if (n === 'string') return (v) => (v === null ? null : String(v))
    if (n === 'bytes') return (v) => (v instanceof DuckDBBlobValue ? Buffer.from(v.bytes) : null)
    if (n === 'int' || n === 'boolean' || n === 'double' || n === 'float') return (v) => v
    if (n === 'long') return (v) => (typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : v)
    return undefined
  }
  if (logical === undefined && name !== 'array') {
    const f = scalar(name)
    if (f) return f
  }
  if (name === 'array') {
    const item = scalar(unwrapNullable((type as { items: Parameters<typeof unwrapNullable>[0] }).items))
    if (item) return (v) => (v instanceof DuckDBListValue ? v.items.map((x) => (x === null ? null : item(x))) : null)
  }
  throw new TributaryError('TRIB_LAKE_ROW_INVALID', `field ${field}: an unavailable value of type ${JSON.stringify(type)} cannot be taken from the stored row`, { details: { field } })
}
