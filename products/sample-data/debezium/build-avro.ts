/**
 * Table definitions -> the Avro schemas Confluent's AvroConverter registers for Debezium events,
 * field for field and in the same attribute order.
 */
import { TributaryError } from '../../../runtime/errors.ts'
import { decimalParams, enumParams, keyColumns, SNAPSHOT_ALLOWED, specs, VSD, type ColumnDef, type Obj, type TableDef } from './build-schema.ts'

// AvroConverter order: type, scale, precision, connect.doc, connect.version, connect.parameters, connect.default, connect.name, logicalType

/** Tracks named types already defined in the schema being built, which later uses must reference. */
type Defined = Set<string>

function avroColumnType(col: ColumnDef, defined: Defined): unknown {
  switch (col.type) {
    case 'decimal': {
      const params = decimalParams(col)
      return {
        type: 'bytes',
        scale: col.scale,
        precision: col.precision,
        'connect.version': 1,
        'connect.parameters': params,
        'connect.name': 'org.apache.kafka.connect.data.Decimal',
        logicalType: 'decimal',
      }
    }
    case 'variable-decimal':
      if (defined.has(VSD)) return VSD
      defined.add(VSD)
      return {
        type: 'record',
        name: 'VariableScaleDecimal',
        namespace: 'io.debezium.data',
        fields: [
          { name: 'scale', type: 'int' },
          { name: 'value', type: 'bytes' },
        ],
        'connect.doc': 'Variable scaled decimal',
        'connect.version': 1,
        'connect.name': VSD,
      }
    case 'enum':
      return { type: 'string', 'connect.version': 1, 'connect.parameters': enumParams(col), 'connect.name': 'io.debezium.data.Enum' }
    default: {
      const spec = specs[col.type]
      if (spec === undefined) throw new TributaryError('TRIB_CONFIG_INVALID', `column ${col.name}: unknown type ${String(col.type)}`)
      if (spec.connectType !== undefined) return { type: spec.avro, 'connect.type': spec.connectType }
      if (spec.name === undefined) return spec.avro
      const t: Obj = { type: spec.avro, 'connect.version': 1, 'connect.name': spec.name }
      if (spec.logicalType !== undefined) t.logicalType = spec.logicalType
      return t
    }
  }
}

function avroRecord(fullName: string, enclosingNamespace: string | undefined, columns: readonly ColumnDef[], defined: Defined): Obj {
  const dot = fullName.lastIndexOf('.')
  const namespace = fullName.slice(0, dot)
  const record: Obj = { type: 'record', name: fullName.slice(dot + 1) }
  if (namespace !== enclosingNamespace) record.namespace = namespace
  record.fields = columns.map((col) => {
    const t = avroColumnType(col, defined)
    return col.optional === true ? { name: col.name, type: ['null', t], default: null } : { name: col.name, type: t }
  })
  record['connect.name'] = fullName
  return record
}

const optionalLong = (name: string): Obj => ({ name, type: ['null', 'long'], default: null })

export const avroSourceSchema: Obj = {
  type: 'record',
  name: 'Source',
  namespace: 'io.debezium.connector.postgresql',
  fields: [
    { name: 'version', type: 'string' },
    { name: 'connector', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'ts_ms', type: 'long' },
    {
      name: 'snapshot',
      type: [
        {
          type: 'string',
          'connect.version': 1,
          'connect.parameters': { allowed: SNAPSHOT_ALLOWED },
          'connect.default': 'false',
          'connect.name': 'io.debezium.data.Enum',
        },
        'null',
      ],
      default: 'false',
    },
    { name: 'db', type: 'string' },
    { name: 'sequence', type: ['null', 'string'], default: null },
    optionalLong('ts_us'),
    optionalLong('ts_ns'),
    { name: 'schema', type: 'string' },
    { name: 'table', type: 'string' },
    optionalLong('txId'),
    optionalLong('lsn'),
    optionalLong('xmin'),
  ],
  'connect.version': 1,
  'connect.name': 'io.debezium.connector.postgresql.Source',
}

const avroTransaction: Obj = {
  type: 'record',
  name: 'block',
  namespace: 'event',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'total_order', type: 'long' },
    { name: 'data_collection_order', type: 'long' },
  ],
  'connect.version': 1,
  'connect.name': 'event.block',
}

export function avroKeySchema(table: TableDef): Obj | null {
  if (table.key.length === 0) return null
  return avroRecord(`${table.topic}.Key`, undefined, keyColumns(table), new Set())
}

/** The row record on its own (what rowSchemaOf returns, up to name qualification). */
export function avroValueSchema(table: TableDef): Obj {
  return avroRecord(`${table.topic}.Value`, undefined, table.columns, new Set())
}

export function avroEnvelopeSchema(table: TableDef): Obj {
  return {
    type: 'record',
    name: 'Envelope',
    namespace: table.topic,
    fields: [
      { name: 'before', type: ['null', avroRecord(`${table.topic}.Value`, table.topic, table.columns, new Set())], default: null },
      { name: 'after', type: ['null', 'Value'], default: null },
      { name: 'source', type: avroSourceSchema },
      { name: 'transaction', type: ['null', avroTransaction], default: null },
      { name: 'op', type: 'string' },
      optionalLong('ts_ms'),
      optionalLong('ts_us'),
      optionalLong('ts_ns'),
    ],
    'connect.version': 2,
    'connect.name': `${table.topic}.Envelope`,
  }
}
