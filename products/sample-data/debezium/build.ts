/**
 * Builds Debezium change events (PostgreSQL connector, 2.x) from canonical rows: the JSON message
 * with or without the `{schema, payload}` wrapper and the Avro schemas + values, exactly as
 * Debezium with JsonConverter / AvroConverter would write them. Used by the sample-data generator
 * and by tests. Rows hold canonical values (or the natural alternatives wire.ts accepts).
 */
import { TributaryError } from '../../../runtime/errors.ts'
import { avroEnvelopeSchema, avroKeySchema } from './build-avro.ts'
import { connectEnvelopeSchema, connectKeySchema } from './build-connect.ts'
import { keyColumns, type ColumnDef, type TableDef } from './build-schema.ts'
import { writeJson } from '../../../runtime/codec/json/write.ts'
import type { ChangeOp } from '../../../runtime/codec/debezium/types.ts'
import * as wire from './wire.ts'

export type Row = Record<string, unknown>

export interface ChangeSpec {
  op: ChangeOp
  before?: Row | null
  after?: Row | null
  /** When Debezium processed the event; default Date.now(). `tsNs`, when given, wins (ts_ms/ts_us derive from it). */
  tsMs?: number
  tsNs?: bigint
  /** Overrides of source fields (ts_ms defaults to the event time, snapshot to 'true' for r and 'false' otherwise). */
  source?: Partial<SourceFields>
}

export interface SourceFields {
  version: string
  name: string
  ts_ms: number
  ts_ns: bigint
  snapshot: string | null
  db: string
  sequence: string | null
  txId: number | null
  lsn: number | null
  xmin: number | null
}

export interface BuiltJson {
  /** null for tables without key and for truncates. */
  key: string | null
  /** null for a tombstone. */
  value: string | null
}

export interface BuiltAvro {
  keySchema: object | null
  valueSchema: object
  /** Wire values ready for `createPlainType(keySchema).toBuffer(key)`. */
  key: Row | null
  /** Wire values ready for `createEnvelopeType(valueSchema).toBuffer(value)`; null for a tombstone. */
  value: Row | null
}

const encodeError = (table: TableDef, message: string, cause?: unknown): TributaryError =>
  new TributaryError('TRIB_ENCODE_FAILED', `${table.topic}: ${message}`, { cause, details: { topic: table.topic } })

function columnToWire(col: ColumnDef, v: unknown): unknown {
  switch (col.type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw new Error(`expected a boolean, got ${wire.describe(v)}`)
      return v
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      if (typeof v !== 'number' || (col.type.startsWith('int') && !Number.isInteger(v))) throw new Error(`expected a ${col.type}, got ${wire.describe(v)}`)
      return v
    case 'int64':
      return wire.toLong(v)
    case 'string':
    case 'zoned-timestamp':
    case 'zoned-time':
      if (v instanceof Date && col.type === 'zoned-timestamp') return v.toISOString()
      if (typeof v !== 'string') throw new Error(`expected a string, got ${wire.describe(v)}`)
      return v
    case 'bytes':
      return wire.toBytes(v)
    case 'date':
    case 'connect-date':
      return wire.toEpochDays(v)
    case 'time':
    case 'connect-time':
      return wire.toTimeOfDay(v, 3)
    case 'micro-time':
      return wire.toTimeOfDay(v, 6)
    case 'nano-time':
      return wire.toTimeOfDay(v, 9)
    case 'timestamp':
    case 'connect-timestamp':
      return wire.toEpochUnits(v, 3)
    case 'micro-timestamp':
      return wire.toEpochUnits(v, 6)
    case 'nano-timestamp':
      return wire.toEpochUnits(v, 9)
    case 'decimal':
      return wire.toDecimalBytes(v, col.scale ?? 0)
    case 'variable-decimal':
      return wire.toVariableScaleDecimal(v)
    case 'json':
      // Canonical Json values are already JSON text; objects are printed the way jsonb prints them.
      return typeof v === 'string' ? v : jsonbText(v)
    case 'uuid':
      if (typeof v !== 'string') throw new Error(`expected a uuid string, got ${wire.describe(v)}`)
      return v.toLowerCase()
    case 'enum':
      if (typeof v !== 'string' || !(col.allowed ?? []).includes(v)) throw new Error(`${wire.describe(v)} is not one of ${(col.allowed ?? []).join(', ')}`)
      return v
    default:
      throw new Error(`unknown column type ${String(col.type)}`)
  }
}

/** JSON text as PostgreSQL prints jsonb (', ' and ': ' separators), which Debezium passes on verbatim. */
function jsonbText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(', ')}]`
  if (v !== null && typeof v === 'object') {
    const members = Object.entries(v).filter(([, x]) => x !== undefined)
    return `{${members.map(([k, x]) => `${JSON.stringify(k)}: ${jsonbText(x)}`).join(', ')}}`
  }
  const text = JSON.stringify(v) as string | undefined
  if (text === undefined) throw new Error(`expected a JSON value, got ${wire.describe(v)}`)
  return text
}

/** A canonical row -> wire values in column order; every column must be given or be optional. */
export function rowToWire(table: TableDef, row: Row, columns: readonly ColumnDef[] = table.columns): Row {
  for (const name of Object.keys(row)) {
    if (!columns.some((c) => c.name === name)) throw encodeError(table, `row has no column ${name}`)
  }
  const out: Row = {}
  for (const col of columns) {
    const v = row[col.name]
    if (v === null || v === undefined) {
      if (col.optional !== true) throw encodeError(table, `column ${col.name} is required`)
      out[col.name] = null
      continue
    }
    try {
      out[col.name] = columnToWire(col, v)
    } catch (e) {
      throw encodeError(table, `column ${col.name}: ${(e as Error).message}`, e)
    }
  }
  return out
}

const topicParts = (table: TableDef): [prefix: string, schema: string, name: string] => {
  const parts = table.topic.split('.')
  if (parts.length < 3) throw encodeError(table, 'topic must be <prefix>.<schema>.<table>')
  return [parts.slice(0, -2).join('.'), parts[parts.length - 2]!, parts[parts.length - 1]!]
}

const times = (ms: number | undefined, ns: bigint | undefined): { ms: number; us: number; ns: bigint } => {
  const n = ns ?? BigInt(ms ?? Date.now()) * 1_000_000n
  return { ms: Number(n / 1_000_000n), us: Number(n / 1_000n), ns: n }
}

/** The envelope payload in wire form, fields in schema order. */
export function envelopeToWire(table: TableDef, change: ChangeSpec): Row {
  const [prefix, schema, name] = topicParts(table)
  const event = times(change.tsMs, change.tsNs)
  const s = change.source ?? {}
  const src = times(s.ts_ms ?? (s.ts_ns === undefined ? event.ms : undefined), s.ts_ns)
  const truncate = change.op === 't'
  const side = (row: Row | null | undefined): Row | null => (truncate || row == null ? null : rowToWire(table, row))
  return {
    before: side(change.before),
    after: side(change.after),
    source: {
      version: s.version ?? table.version ?? '2.7.3.Final',
      connector: 'postgresql',
      name: s.name ?? prefix,
      ts_ms: src.ms,
      snapshot: s.snapshot !== undefined ? s.snapshot : change.op === 'r' ? 'true' : 'false',
      db: s.db ?? table.database ?? 'postgres',
      sequence: s.sequence ?? null,
      ts_us: src.us,
      ts_ns: src.ns,
      schema,
      table: name,
      txId: s.txId ?? null,
      lsn: s.lsn ?? null,
      xmin: s.xmin ?? null,
    },
    transaction: null,
    op: change.op,
    ts_ms: event.ms,
    ts_us: event.us,
    ts_ns: event.ns,
  }
}

/** The key struct in wire form, from `before` for deletes and `after` otherwise; null without key. */
export function keyToWire(table: TableDef, change: Pick<ChangeSpec, 'op' | 'before' | 'after'>): Row | null {
  if (table.key.length === 0 || change.op === 't') return null
  const row = change.op === 'd' ? change.before : change.after
  if (row == null) throw encodeError(table, `op "${change.op}" needs ${change.op === 'd' ? 'before' : 'after'} to build the key`)
  const cols = keyColumns(table)
  const keyRow: Row = {}
  for (const c of cols) keyRow[c.name] = row[c.name]
  return rowToWire(table, keyRow, cols)
}

export interface JsonOptions {
  /** JsonConverter schemas.enable (default true): the `{schema, payload}` wrapper. */
  schemas?: boolean
}

function jsonKey(table: TableDef, key: Row | null, schemas: boolean): string | null {
  if (key === null) return null
  return writeJson(schemas ? { schema: connectKeySchema(table), payload: key } : key)
}

export function buildJson(table: TableDef, change: ChangeSpec, options: JsonOptions = {}): BuiltJson {
  const schemas = options.schemas ?? true
  const payload = envelopeToWire(table, change)
  return {
    key: jsonKey(table, keyToWire(table, change), schemas),
    value: writeJson(schemas ? { schema: connectEnvelopeSchema(table), payload } : payload),
  }
}

/** The tombstone Debezium writes after a delete: the delete's key, a null value. */
export function buildJsonTombstone(table: TableDef, deleted: Row, options: JsonOptions = {}): BuiltJson {
  return { key: jsonKey(table, keyToWire(table, { op: 'd', before: deleted }), options.schemas ?? true), value: null }
}

export function buildAvro(table: TableDef, change: ChangeSpec): BuiltAvro {
  return {
    keySchema: avroKeySchema(table),
    valueSchema: avroEnvelopeSchema(table),
    key: keyToWire(table, change),
    value: envelopeToWire(table, change),
  }
}

export function buildAvroTombstone(table: TableDef, deleted: Row): BuiltAvro {
  return {
    keySchema: avroKeySchema(table),
    valueSchema: avroEnvelopeSchema(table),
    key: keyToWire(table, { op: 'd', before: deleted }),
    value: null,
  }
}
