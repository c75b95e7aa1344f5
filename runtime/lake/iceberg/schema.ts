import { TributaryError } from '../../errors.ts'
import { canPromote, parseDecimalType } from './schema-types.ts'
import type { IcebergType, NestedField, PrimitiveType, Schema, StructType } from './types.ts'

export { canPromote, fieldsById, maxFieldId, parseDecimalType, sameSchema } from './schema-types.ts'

/**
 * Avro record schemas (JSON, with our logical types) to Iceberg schemas with field ids, and schema
 * evolution: given the table's previous schema, a field keeps its id when its name path matches,
 * new fields take ids above `last-column-id`, and changes that would make existing data files
 * unreadable are refused.
 */

type Avro = string | AvroObject | Avro[]
interface AvroObject {
  type: Avro
  name?: string
  namespace?: string
  fields?: { name: string; type: Avro; default?: unknown; doc?: string }[]
  items?: Avro
  values?: Avro
  symbols?: string[]
  size?: number
  logicalType?: string
  precision?: number
  scale?: number
  'connect.name'?: string
  'connect.parameters'?: Record<string, string>
  [key: string]: unknown
}

/** A converted type before ids are assigned: the same shape as IcebergType minus the ids. */
type Draft =
  | { kind: 'primitive'; type: PrimitiveType }
  | { kind: 'list'; element: Draft; elementRequired: boolean }
  | { kind: 'map'; key: Draft; value: Draft; valueRequired: boolean }
  | { kind: 'struct'; fields: DraftField[] }
interface DraftField {
  name: string
  required: boolean
  hasDefault: boolean
  doc?: string
  type: Draft
}

export interface ConvertOptions {
  /** The table's current schema: ids are kept by name path, and changes are checked against it. */
  previous?: Schema
  /** The table's last-column-id (defaults to 0 for a new table). */
  lastColumnId?: number
  schemaId?: number
  /** Top-level field names that identify a row (the port's key); they must be required primitives. */
  identifierFields?: string[]
}

export interface ConvertedSchema {
  schema: Schema
  lastColumnId: number
}

export function avroToIcebergSchema(avro: unknown, options: ConvertOptions = {}): ConvertedSchema {
  const named = new Map<string, AvroObject>()
  const root = toDraft(avro as Avro, named, '', '')
  if (root.kind !== 'struct') throw unsupported('', 'the top-level Avro type must be a record')
  let last = options.lastColumnId ?? 0
  const nextId = (): number => ++last
  const fields = assignStruct(root.fields, options.previous, nextId, '', options.previous !== undefined)
  const schema: Schema = { type: 'struct', 'schema-id': options.schemaId ?? 0, fields }
  if (options.identifierFields?.length) {
    schema['identifier-field-ids'] = options.identifierFields.map((name) => {
      const field = fields.find((f) => f.name === name)
      if (!field) throw new TributaryError('TRIB_LAKE_SCHEMA_UNSUPPORTED', `identifier field ${name} is not a top-level field of the schema`, { details: { field: name } })
      if (!field.required || typeof field.type !== 'string' || ['float', 'double'].includes(field.type)) {
        throw new TributaryError('TRIB_LAKE_SCHEMA_UNSUPPORTED', `identifier field ${name} must be a required, non-floating-point primitive`, { details: { field: name } })
      }
      return field.id
    })
  }
  return { schema, lastColumnId: last }
}

const unsupported = (path: string, why: string): TributaryError =>
  new TributaryError('TRIB_LAKE_SCHEMA_UNSUPPORTED', `Avro field ${path || '<root>'}: ${why}`, { details: { field: path } })

const PRIMITIVES: Record<string, PrimitiveType> = { boolean: 'boolean', int: 'int', long: 'long', float: 'float', double: 'double', string: 'string', bytes: 'binary' }

// Debezium / Kafka Connect semantic types, whose canonical values (runtime/codec/VALUES.md) are not the raw Avro ones.
const CONNECT_TYPES: Record<string, PrimitiveType> = {
  'io.debezium.time.Date': 'date',
  'org.apache.kafka.connect.data.Date': 'date',
  'io.debezium.time.Time': 'time',
  'io.debezium.time.MicroTime': 'time',
  'org.apache.kafka.connect.data.Time': 'time',
  'io.debezium.time.Timestamp': 'timestamptz',
  'io.debezium.time.MicroTimestamp': 'timestamptz',
  'org.apache.kafka.connect.data.Timestamp': 'timestamptz',
  'io.debezium.time.ZonedTimestamp': 'string',
  'io.debezium.time.ZonedTime': 'string',
  'io.debezium.time.NanoTime': 'string',
  'io.debezium.time.NanoTimestamp': 'string',
  'io.debezium.data.Json': 'string',
  'io.debezium.data.Uuid': 'string',
  'io.debezium.data.Enum': 'string',
  'io.debezium.data.VariableScaleDecimal': 'string',
}

function toDraft(avro: Avro, named: Map<string, AvroObject>, path: string, namespace: string): Draft {
  if (Array.isArray(avro)) {
    const branches = avro.filter((b) => b !== 'null')
    if (branches.length !== 1 || branches.length === avro.length) throw unsupported(path, 'only unions of null and one other type are supported')
    return toDraft(branches[0] as Avro, named, path, namespace)
  }
  if (typeof avro === 'string') {
    const prim = PRIMITIVES[avro]
    if (prim) return { kind: 'primitive', type: prim }
    const ref = named.get(avro) ?? named.get(namespace ? `${namespace}.${avro}` : avro)
    if (ref) return toDraft(ref, named, path, namespace)
    throw unsupported(path, `unknown Avro type '${avro}'`)
  }
  if (avro === null || typeof avro !== 'object') throw unsupported(path, 'not an Avro schema')
  if (avro.name !== undefined && ['record', 'enum', 'fixed'].includes(avro.type as string)) {
    const ns = avro.name.includes('.') ? avro.name.slice(0, avro.name.lastIndexOf('.')) : (avro.namespace ?? namespace)
    const full = avro.name.includes('.') ? avro.name : ns ? `${ns}.${avro.name}` : avro.name
    named.set(full, avro)
    named.set(avro.name, avro)
    namespace = ns
  }
  const connect = avro['connect.name']
  if (typeof connect === 'string') {
    if (connect === 'org.apache.kafka.connect.data.Decimal') {
      const scale = Number(avro['connect.parameters']?.scale ?? avro.scale ?? 0)
      const precision = Number(avro['connect.parameters']?.['connect.decimal.precision'] ?? avro.precision ?? 38)
      return decimal(path, precision, scale)
    }
    const mapped = CONNECT_TYPES[connect]
    if (mapped) return { kind: 'primitive', type: mapped }
  }
  switch (avro.logicalType) {
    case 'date':
      return { kind: 'primitive', type: 'date' }
    case 'time-millis':
    case 'time-micros':
      return { kind: 'primitive', type: 'time' }
    case 'timestamp-millis':
    case 'timestamp-micros':
      return { kind: 'primitive', type: 'timestamptz' }
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
      return { kind: 'primitive', type: 'timestamp' }
    case 'timestamp-nanos':
    case 'local-timestamp-nanos':
      throw unsupported(path, `${avro.logicalType} needs Iceberg v3 (nanosecond timestamps); use a micros timestamp`)
    case 'decimal':
      return decimal(path, avro.precision ?? 0, avro.scale ?? 0)
    case 'uuid':
      return { kind: 'primitive', type: 'string' }
  }
  switch (avro.type) {
    case 'record':
      return {
        kind: 'struct',
        fields: (avro.fields ?? []).map((f) => {
          const fieldPath = path ? `${path}.${f.name}` : f.name
          const optional = Array.isArray(f.type) && f.type.includes('null')
          const field: DraftField = { name: f.name, required: !optional, hasDefault: 'default' in f, type: toDraft(f.type, named, fieldPath, namespace) }
          if (typeof f.doc === 'string') field.doc = f.doc
          return field
        }),
      }
    case 'enum':
      return { kind: 'primitive', type: 'string' }
    case 'fixed':
      return { kind: 'primitive', type: 'binary' }
    case 'array':
      return { kind: 'list', element: toDraft(avro.items as Avro, named, `${path}[]`, namespace), elementRequired: !isNullable(avro.items) }
    case 'map':
      return {
        kind: 'map',
        key: { kind: 'primitive', type: 'string' },
        value: toDraft(avro.values as Avro, named, `${path}{}`, namespace),
        valueRequired: !isNullable(avro.values),
      }
    default:
      return toDraft(avro.type, named, path, namespace)
  }
}

const isNullable = (avro: Avro | undefined): boolean => Array.isArray(avro) && avro.includes('null')

function decimal(path: string, precision: number, scale: number): Draft {
  if (!(precision >= 1 && precision <= 38) || !(scale >= 0 && scale <= precision)) {
    throw unsupported(path, `decimal(${precision}, ${scale}) is outside Iceberg's range (precision 1..38, 0 <= scale <= precision)`)
  }
  return { kind: 'primitive', type: `decimal(${precision}, ${scale})` }
}

function assignStruct(fields: DraftField[], previous: StructType | undefined, nextId: () => number, path: string, evolving: boolean): NestedField[] {
  // Ids for every field of this level first, then their children (the order Iceberg's Java code uses).
  const withIds = fields.map((f) => {
    const fieldPath = path ? `${path}.${f.name}` : f.name
    const old = previous?.fields.find((p) => p.name === f.name)
    let required = f.required
    if (!old && evolving && required) {
      // Iceberg v2 has no initial-default: files written before this field existed read it as null.
      if (!f.hasDefault) {
        throw new TributaryError('TRIB_LAKE_SCHEMA_INCOMPATIBLE', `new field ${fieldPath} is required and has no default; existing data files lack it (make it optional)`, {
          details: { field: fieldPath },
        })
      }
      required = false
    }
    if (old && !old.required && required) {
      throw new TributaryError('TRIB_LAKE_SCHEMA_INCOMPATIBLE', `field ${fieldPath} was optional and cannot become required (existing rows may be null)`, {
        details: { field: fieldPath },
      })
    }
    return { draft: f, old, id: old ? old.id : nextId(), required, fieldPath }
  })
  return withIds.map(({ draft, old, id, required, fieldPath }) => {
    const field: NestedField = { id, name: draft.name, required, type: assignType(draft.type, old?.type, nextId, fieldPath, evolving && old !== undefined) }
    if (draft.doc !== undefined) field.doc = draft.doc
    return field
  })
}

function assignType(draft: Draft, old: IcebergType | undefined, nextId: () => number, path: string, evolving: boolean): IcebergType {
  switch (draft.kind) {
    case 'primitive':
      if (old !== undefined && !canPromote(old, draft.type)) throw incompatible(path, old, draft.type)
      return draft.type
    case 'struct': {
      if (old !== undefined && (typeof old === 'string' || old.type !== 'struct')) throw incompatible(path, old, 'struct')
      return { type: 'struct', fields: assignStruct(draft.fields, old, nextId, path, evolving) }
    }
    case 'list': {
      if (old !== undefined && (typeof old === 'string' || old.type !== 'list')) throw incompatible(path, old, 'list')
      const elementId = old ? old['element-id'] : nextId()
      if (old && !old['element-required'] && draft.elementRequired) throw incompatible(path, 'optional element', 'required element')
      return { type: 'list', 'element-id': elementId, element: assignType(draft.element, old?.element, nextId, `${path}[]`, evolving), 'element-required': draft.elementRequired }
    }
    case 'map': {
      if (old !== undefined && (typeof old === 'string' || old.type !== 'map')) throw incompatible(path, old, 'map')
      const keyId = old ? old['key-id'] : nextId()
      const valueId = old ? old['value-id'] : nextId()
      if (old && !old['value-required'] && draft.valueRequired) throw incompatible(path, 'optional value', 'required value')
      return {
        type: 'map',
        'key-id': keyId,
        key: assignType(draft.key, old?.key, nextId, `${path}.key`, evolving),
        'value-id': valueId,
        value: assignType(draft.value, old?.value, nextId, `${path}.value`, evolving),
        'value-required': draft.valueRequired,
      }
    }
  }
}

const typeName = (t: IcebergType | string): string => (typeof t === 'string' ? t : t.type)

const incompatible = (path: string, from: IcebergType | string, to: string): TributaryError =>
  new TributaryError('TRIB_LAKE_SCHEMA_INCOMPATIBLE', `field ${path} cannot change from ${typeName(from)} to ${to}`, { details: { field: path, from: typeName(from), to } })
