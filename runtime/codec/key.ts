import { TributaryError } from '../errors.ts'
import { fieldAt, unwrapNullable } from '../spec/fields.ts'
import { writeJson } from './json/write.ts'

/**
 * The one canonical text of a key (VALUES.md, "Keys"): what table-mode state stores, `ctx.lookup`
 * and the lake's key index compare, so a key means the same wherever it came from.
 * - A record with one field is that field's value: `{ id: 42 }` (a Debezium key struct) and `42`
 *   are one key.
 * - A value's text: a string (also an enum symbol, uuid, date, time, timestamp or decimal, whose
 *   canonical forms are strings) as it is; an integer (number or bigint) in decimal digits;
 *   a boolean `true`/`false`; bytes in base64; a float in JavaScript's shortest form; a Date as its
 *   ISO string; anything else (an array, a nested record) as JSON.
 * - A composite key (a record of several fields, in field order, or `keyText` of several parts):
 *   the parts' texts with `\` written `\\` and U+001F written `\x1f`, joined by U+001F; a null
 *   part is `\N`. So no two keys share a text.
 * - null (no key) is the empty text.
 * `keySql` is the same definition in SQL, over the columns of a lake table (DuckDB).
 */
export function canonicalKey(key: unknown): string {
  if (isRecord(key)) {
    const values = Object.values(key)
    return values.length === 1 ? valueText(values[0]) : keyText(values)
  }
  return key === null || key === undefined ? '' : valueText(key)
}

/** The canonical text of a key given as its fields' values in order (one part: that value's text). */
export function keyText(parts: readonly unknown[]): string {
  if (parts.length === 1) return parts[0] === null || parts[0] === undefined ? '' : valueText(parts[0])
  let out = ''
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (i > 0) out += SEPARATOR
    out += p === null || p === undefined ? NULL_PART : escape(valueText(p))
  }
  return out
}

const SEPARATOR = '\u001f'
const NULL_PART = '\\N'
const escape = (text: string): string => (text.includes('\\') || text.includes(SEPARATOR) ? text.replaceAll('\\', '\\\\').replaceAll(SEPARATOR, '\\x1f') : text)

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)

function valueText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v)
    case 'bigint':
    case 'boolean':
      return String(v)
    default:
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
      if (v instanceof Date) return v.toISOString()
      return writeJson(v)
  }
}

/**
 * The canonical key text of each row, as a DuckDB SQL expression over the table's key columns
 * (Iceberg types as the lake writes them from `avroSchema`, the port's record schema). Keys of a
 * float or double field have no text SQL and JavaScript agree on, so they are refused; dates and
 * timestamps are covered in years 0001..9999 (DuckDB writes other years its own way).
 */
export function keySql(avroSchema: Record<string, unknown>, keyFields: readonly string[], quote: (name: string) => string): string {
  const parts = keyFields.map((name) => {
    const field = fieldAt(avroSchema, name)
    if (!field) throw new TributaryError('TRIB_SCHEMA_INVALID', `key field ${name} is not a field of ${String(avroSchema.name)}`)
    return columnText(unwrapNullable(field.type), quote(name), name)
  })
  if (parts.length === 1) return `coalesce(${parts[0]!}, '')`
  const escaped = parts.map((p) => `coalesce(replace(replace(${p}, '\\', '\\\\'), chr(31), '\\x1f'), '\\N')`)
  return `concat_ws(chr(31), ${escaped.join(', ')})`
}

function columnText(type: unknown, col: string, name: string): string {
  const t = typeof type === 'object' && type !== null ? (type as Record<string, unknown>) : { type }
  const base = typeof t.type === 'object' && t.type !== null ? (t.type as Record<string, unknown>).type : t.type
  switch (t.logicalType) {
    case 'timestamp-micros':
      return `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')`
    case 'timestamp-millis':
      return `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`
    case 'local-timestamp-micros':
      return `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%f')`
    case 'local-timestamp-millis':
      return `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%g')`
    case 'time-micros':
      return `strftime(DATE '1970-01-01' + ${col}, '%H:%M:%S.%f')`
    case 'time-millis':
      return `strftime(DATE '1970-01-01' + ${col}, '%H:%M:%S.%g')`
    case 'date':
      return `strftime(${col}, '%Y-%m-%d')`
    case 'decimal':
    case 'uuid':
      return `CAST(${col} AS VARCHAR)`
  }
  if (base === 'float' || base === 'double')
    throw new TributaryError('TRIB_SCHEMA_INVALID', `key field ${name} is a ${base}: a float has no text the lake's SQL and the runtime agree on, so it cannot key an upsert table`)
  if (base === 'bytes' || base === 'fixed') return `to_base64(${col})`
  return `CAST(${col} AS VARCHAR)`
}
