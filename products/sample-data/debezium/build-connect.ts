/**
 * Table definitions -> the Kafka Connect JSON schemas JsonConverter writes with schemas.enable=true,
 * field for field and in the same attribute order, so built events match real ones byte for byte.
 */
import { TributaryError } from '../../../runtime/errors.ts'
import { decimalParams, enumParams, keyColumns, SNAPSHOT_ALLOWED, specs, VSD, type ColumnDef, type Obj, type TableDef } from './build-schema.ts'

// JsonConverter order: type, fields, optional, name, version, doc, parameters, field

export function connectColumn(col: ColumnDef): Obj {
  const optional = col.optional === true
  switch (col.type) {
    case 'decimal':
      return { type: 'bytes', optional, name: 'org.apache.kafka.connect.data.Decimal', version: 1, parameters: decimalParams(col), field: col.name }
    case 'variable-decimal':
      return {
        type: 'struct',
        fields: [
          { type: 'int32', optional: false, field: 'scale' },
          { type: 'bytes', optional: false, field: 'value' },
        ],
        optional,
        name: VSD,
        version: 1,
        doc: 'Variable scaled decimal',
        field: col.name,
      }
    case 'enum':
      return { type: 'string', optional, name: 'io.debezium.data.Enum', version: 1, parameters: enumParams(col), field: col.name }
    default: {
      const spec = specs[col.type]
      if (spec === undefined) throw new TributaryError('TRIB_CONFIG_INVALID', `column ${col.name}: unknown type ${String(col.type)}`)
      return spec.name === undefined
        ? { type: spec.connect, optional, field: col.name }
        : { type: spec.connect, optional, name: spec.name, version: 1, field: col.name }
    }
  }
}

export function connectStruct(name: string, columns: readonly ColumnDef[], optional: boolean, field?: string): Obj {
  const s: Obj = { type: 'struct', fields: columns.map(connectColumn), optional, name }
  if (field !== undefined) s.field = field
  return s
}


const int64 = (field: string, optional: boolean): Obj => ({ type: 'int64', optional, field })
const str = (field: string, optional: boolean): Obj => ({ type: 'string', optional, field })

export const connectSourceSchema: Obj = {
  type: 'struct',
  fields: [
    str('version', false),
    str('connector', false),
    str('name', false),
    int64('ts_ms', false),
    { type: 'string', optional: true, name: 'io.debezium.data.Enum', version: 1, parameters: { allowed: SNAPSHOT_ALLOWED }, default: 'false', field: 'snapshot' },
    str('db', false),
    str('sequence', true),
    int64('ts_us', true),
    int64('ts_ns', true),
    str('schema', false),
    str('table', false),
    int64('txId', true),
    int64('lsn', true),
    int64('xmin', true),
  ],
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
  version: 1,
  field: 'source',
}

const connectTransaction: Obj = {
  type: 'struct',
  fields: [str('id', false), int64('total_order', false), int64('data_collection_order', false)],
  optional: true,
  name: 'event.block',
  version: 1,
  field: 'transaction',
}

export function connectKeySchema(table: TableDef): Obj | null {
  if (table.key.length === 0) return null
  return connectStruct(`${table.topic}.Key`, keyColumns(table), false)
}

export function connectEnvelopeSchema(table: TableDef): Obj {
  return {
    type: 'struct',
    fields: [
      connectStruct(`${table.topic}.Value`, table.columns, true, 'before'),
      connectStruct(`${table.topic}.Value`, table.columns, true, 'after'),
      connectSourceSchema,
      connectTransaction,
      str('op', false),
      int64('ts_ms', true),
      int64('ts_us', true),
      int64('ts_ns', true),
    ],
    optional: false,
    name: `${table.topic}.Envelope`,
    version: 2,
  }
}
