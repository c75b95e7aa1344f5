/**
 * Table definitions for building Debezium events (PostgreSQL connector, 2.x), and what each column
 * type becomes in Kafka Connect (build-connect.ts) and Avro (build-avro.ts).
 */
import { TributaryError } from '../../../runtime/errors.ts'

export type ColumnType =
  | 'boolean'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'string'
  | 'bytes'
  /** io.debezium.time.* (time.precision.mode=adaptive) */
  | 'date'
  | 'time'
  | 'micro-time'
  | 'nano-time'
  | 'timestamp'
  | 'micro-timestamp'
  | 'nano-timestamp'
  | 'zoned-timestamp'
  | 'zoned-time'
  /** org.apache.kafka.connect.data.* (time.precision.mode=connect) */
  | 'connect-date'
  | 'connect-time'
  | 'connect-timestamp'
  /** numeric(p, s): needs precision and scale */
  | 'decimal'
  /** numeric without precision (decimal.handling.mode=precise) */
  | 'variable-decimal'
  | 'json'
  | 'uuid'
  /** needs allowed */
  | 'enum'

export interface ColumnDef {
  name: string
  type: ColumnType
  /** Nullable column. */
  optional?: boolean
  precision?: number
  scale?: number
  allowed?: readonly string[]
}

export interface TableDef {
  /** `<topic.prefix>.<schema>.<table>`, e.g. 'registration.public.users'. */
  topic: string
  columns: readonly ColumnDef[]
  /** Primary-key columns in key order; empty for a table without key (null message keys). */
  key: readonly string[]
  /** source.db; default 'postgres'. */
  database?: string
  /** source.version; default '2.7.3.Final'. */
  version?: string
}

export type Obj = Record<string, unknown>

export interface Spec {
  connect: string
  avro: string
  name?: string
  logicalType?: string
  connectType?: string
}

export const VSD = 'io.debezium.data.VariableScaleDecimal'

export const specs: Record<Exclude<ColumnType, 'decimal' | 'variable-decimal' | 'enum'>, Spec> = {
  boolean: { connect: 'boolean', avro: 'boolean' },
  int16: { connect: 'int16', avro: 'int', connectType: 'int16' },
  int32: { connect: 'int32', avro: 'int' },
  int64: { connect: 'int64', avro: 'long' },
  float32: { connect: 'float32', avro: 'float' },
  float64: { connect: 'float64', avro: 'double' },
  string: { connect: 'string', avro: 'string' },
  bytes: { connect: 'bytes', avro: 'bytes' },
  date: { connect: 'int32', avro: 'int', name: 'io.debezium.time.Date' },
  time: { connect: 'int32', avro: 'int', name: 'io.debezium.time.Time' },
  'micro-time': { connect: 'int64', avro: 'long', name: 'io.debezium.time.MicroTime' },
  'nano-time': { connect: 'int64', avro: 'long', name: 'io.debezium.time.NanoTime' },
  timestamp: { connect: 'int64', avro: 'long', name: 'io.debezium.time.Timestamp' },
  'micro-timestamp': { connect: 'int64', avro: 'long', name: 'io.debezium.time.MicroTimestamp' },
  'nano-timestamp': { connect: 'int64', avro: 'long', name: 'io.debezium.time.NanoTimestamp' },
  'zoned-timestamp': { connect: 'string', avro: 'string', name: 'io.debezium.time.ZonedTimestamp' },
  'zoned-time': { connect: 'string', avro: 'string', name: 'io.debezium.time.ZonedTime' },
  'connect-date': { connect: 'int32', avro: 'int', name: 'org.apache.kafka.connect.data.Date', logicalType: 'date' },
  'connect-time': { connect: 'int32', avro: 'int', name: 'org.apache.kafka.connect.data.Time', logicalType: 'time-millis' },
  'connect-timestamp': {
    connect: 'int64',
    avro: 'long',
    name: 'org.apache.kafka.connect.data.Timestamp',
    logicalType: 'timestamp-millis',
  },
  json: { connect: 'string', avro: 'string', name: 'io.debezium.data.Json' },
  uuid: { connect: 'string', avro: 'string', name: 'io.debezium.data.Uuid' },
}

export function decimalParams(col: ColumnDef): Record<string, string> {
  if (col.scale === undefined || col.precision === undefined) throw new TributaryError('TRIB_CONFIG_INVALID', `column ${col.name}: decimal needs precision and scale`)
  return { scale: String(col.scale), 'connect.decimal.precision': String(col.precision) }
}

export function enumParams(col: ColumnDef): Record<string, string> {
  if (col.allowed === undefined) throw new TributaryError('TRIB_CONFIG_INVALID', `column ${col.name}: enum needs allowed values`)
  return { allowed: col.allowed.join(',') }
}

export const SNAPSHOT_ALLOWED = 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental'

export function keyColumns(table: TableDef): ColumnDef[] {
  return table.key.map((k) => {
    const col = table.columns.find((c) => c.name === k)
    if (col === undefined) throw new TributaryError('TRIB_CONFIG_INVALID', `table ${table.topic}: key column ${k} is not a column`)
    return col
  })
}
