/**
 * The Avro type to read a column Debezium sends, from the column's writer schema (a Kafka Connect
 * schema in JSON, or the Avro that AvroConverter writes): the type table of the README
 * ("PostgreSQL through Debezium"). `evolution: additive` types a column the declared reader lacks
 * with it. A column no Avro reader type holds exactly (nanosecond times, structs, maps) is refused
 * with a FieldError naming it: such a column must be declared.
 */
import type { ConnectSchema } from './connect-schema.ts'
import { deref, isObject, type AvroObject, type AvroSchema } from './avro-names.ts'
import { kindOfConnectName } from './semantic.ts'
import { FieldError } from './types.ts'
import { optionalType } from '../types/additive.ts'

const plain: Record<string, string> = { int8: 'int', int16: 'int', int32: 'int', int64: 'long', float32: 'float', float64: 'double', boolean: 'boolean', string: 'string', bytes: 'bytes' }

/** Iceberg's largest decimal precision: the type of a Decimal whose precision the connector does not say. */
const MAX_PRECISION = 38

export function readerTypeOfConnect(s: ConnectSchema, path: string): unknown {
  const name = s.name
  switch (kindOfConnectName(name)) {
    case 'variable-decimal':
    case 'json':
      return 'string'
    case 'decimal': {
      const scale = Number(s.parameters?.scale ?? 0)
      const precision = Number(s.parameters?.['connect.decimal.precision'] ?? MAX_PRECISION)
      if (!Number.isInteger(scale) || !Number.isInteger(precision) || scale < 0 || precision < Math.max(1, scale))
        throw new FieldError(path, `a Decimal with scale ${String(s.parameters?.scale)} and precision ${String(s.parameters?.['connect.decimal.precision'])}: declare the column`)
      return { type: 'bytes', logicalType: 'decimal', precision, scale }
    }
    case 'date':
      return { type: 'int', logicalType: 'date' }
    case 'time-ms':
      return { type: 'int', logicalType: 'time-millis' }
    case 'time-us':
      return { type: 'long', logicalType: 'time-micros' }
    // Debezium's timestamps are PostgreSQL's zoneless `timestamp`; Connect's own Timestamp is an instant.
    case 'ts-ms':
      return { type: 'long', logicalType: name === 'org.apache.kafka.connect.data.Timestamp' ? 'timestamp-millis' : 'local-timestamp-millis' }
    case 'ts-us':
      return { type: 'long', logicalType: 'local-timestamp-micros' }
    case 'uuid':
      return { type: 'string', logicalType: 'uuid' }
    case 'duration-us':
      return { type: 'long', 'connect.name': 'io.debezium.time.MicroDuration' }
    case 'as-is':
      return name === 'io.debezium.time.ZonedTimestamp' ? { type: 'long', logicalType: 'timestamp-micros' } : 'string'
    case 'time-ns':
    case 'ts-ns':
    case 'local-ts-ms':
    case 'local-ts-us':
    case 'local-ts-ns':
      throw new FieldError(path, `no Avro type reads ${String(name)} exactly: declare the column`)
    case undefined:
      break
  }
  if (s.type === 'array') {
    if (!isObject(s.items)) throw new FieldError(path, 'an array schema without `items`')
    return { type: 'array', items: optionalType(readerTypeOfConnect(s.items as ConnectSchema, `${path}[]`)) }
  }
  const t = plain[s.type]
  if (t === undefined) throw new FieldError(path, `a ${s.type} column cannot be added at run time: declare it`)
  return t
}

const connectTypeOfAvro: Record<string, string> = { int: 'int32', long: 'int64', float: 'float32', double: 'float64', boolean: 'boolean', string: 'string', bytes: 'bytes' }

/**
 * The same for a column of an AvroConverter writer schema (Connect's name and parameters are its
 * `connect.*` attributes). `schema` must be dereferenced against `named` (avro-names.ts).
 */
export function readerTypeOfAvro(schema: AvroSchema, named: Map<string, AvroObject>, path: string): unknown {
  const raw = deref(schema, named)
  const d = Array.isArray(raw) ? nonNull(raw, named, path) : raw
  if (typeof d === 'string') return readerTypeOfConnect({ type: connectTypeOfAvro[d] ?? d }, path)
  if (Array.isArray(d)) throw new FieldError(path, 'a nested union cannot be added at run time: declare it')
  const s: AvroObject = d
  if (isObject(s.type)) return readerTypeOfAvro(s.type as AvroSchema, named, path)
  const type = typeof s.type === 'string' ? s.type : ''
  if (s['connect.name'] === undefined && typeof s.logicalType === 'string') return s // plain Avro (not from Connect): its own type
  if (type === 'array') return { type: 'array', items: optionalType(readerTypeOfAvro(s.items as AvroSchema, named, `${path}[]`)) }
  const connectType = typeof s['connect.type'] === 'string' ? s['connect.type'] : (connectTypeOfAvro[type] ?? type)
  const connect: ConnectSchema = { type: type === 'record' ? 'struct' : connectType }
  if (typeof s['connect.name'] === 'string') connect.name = s['connect.name']
  if (isObject(s['connect.parameters'])) connect.parameters = s['connect.parameters'] as Record<string, string>
  return readerTypeOfConnect(connect, path)
}

function nonNull(union: AvroSchema[], named: Map<string, AvroObject>, path: string): AvroSchema {
  const rest = union.filter((b) => b !== 'null')
  if (rest.length !== 1) throw new FieldError(path, 'a union of several types cannot be added at run time: declare it')
  return deref(rest[0]!, named)
}
