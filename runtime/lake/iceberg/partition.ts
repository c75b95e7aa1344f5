import { TributaryError } from '../../errors.ts'
import { bigIntToBytes } from '../../codec/values/decimal.ts'
import { formatDate, formatTimestamp } from '../../codec/values/temporal.ts'
import type { InternalValue } from './bounds.ts'
import { murmur3 } from './murmur3.ts'
import { fieldsById, parseDecimalType } from './schema.ts'
import type { IcebergType, PartitionField, PartitionSpec, PrimitiveType, Schema } from './types.ts'

/**
 * Partition specs and transforms (spec: "Partition Transforms"): identity, year, month, day, hour
 * and bucket[N]. Values are in the internal form of bounds.ts (dates as days, timestamps as micros).
 */

export type PartitionValue = InternalValue | null
export type PartitionTuple = Record<string, PartitionValue>

/** 'day(ts)', 'hour(ts)', 'bucket[16](id)', 'identity(country)' or just 'country'. */
export type PartitionFieldInput = string | { source: string; transform: string; name?: string }

export const UNPARTITIONED: PartitionSpec = { 'spec-id': 0, fields: [] }
export const FIRST_PARTITION_FIELD_ID = 1000

interface ParsedTransform {
  kind: 'identity' | 'year' | 'month' | 'day' | 'hour' | 'bucket' | 'void'
  n: number
}

export function parseTransform(transform: string): ParsedTransform {
  const bucket = /^bucket\[(\d+)\]$/.exec(transform)
  if (bucket) return { kind: 'bucket', n: Number(bucket[1]) }
  if (['identity', 'year', 'month', 'day', 'hour', 'void'].includes(transform)) return { kind: transform as ParsedTransform['kind'], n: 0 }
  throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `partition transform '${transform}' is not supported (identity, year, month, day, hour, bucket[N], void)`, {
    details: { transform },
  })
}

const TEMPORAL: PrimitiveType[] = ['date', 'timestamp', 'timestamptz']

/** The type a transform produces from its source type; refuses transforms that do not apply. */
export function transformResultType(transform: string, source: IcebergType, where = ''): IcebergType {
  const t = parseTransform(transform)
  const bad = (): never => {
    throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `partition field ${where}: ${transform} does not apply to type ${typeof source === 'string' ? source : source.type}`, {
      details: { field: where, transform },
    })
  }
  if (typeof source !== 'string') return bad()
  switch (t.kind) {
    case 'identity':
    case 'void':
      return source
    case 'year':
    case 'month':
      return TEMPORAL.includes(source) ? 'int' : bad()
    case 'day':
      return TEMPORAL.includes(source) ? 'date' : bad()
    case 'hour':
      return source === 'timestamp' || source === 'timestamptz' ? 'int' : bad()
    case 'bucket':
      return t.n > 0 && !['boolean', 'float', 'double'].includes(source) ? 'int' : bad()
  }
}

/**
 * A new partition spec for `schema` from field inputs. Field ids continue after
 * `lastPartitionId`; a field of an earlier spec with the same source and transform keeps its id.
 */
export function buildPartitionSpec(schema: Schema, inputs: PartitionFieldInput[], specId: number, lastPartitionId: number, previous: PartitionSpec[] = []): { spec: PartitionSpec; lastPartitionId: number } {
  let last = Math.max(lastPartitionId, FIRST_PARTITION_FIELD_ID - 1)
  const fields: PartitionField[] = inputs.map((input) => {
    const { source, transform, name } = typeof input === 'string' ? parseFieldInput(input) : input
    const field = schema.fields.find((f) => f.name === source)
    if (!field) throw new TributaryError('TRIB_LAKE_INVALID_UPDATE', `partition source ${source} is not a top-level field of the schema`, { details: { field: source } })
    transformResultType(transform, field.type, source)
    const t = parseTransform(transform)
    const fieldName = name ?? (t.kind === 'identity' ? source : t.kind === 'bucket' ? `${source}_bucket` : `${source}_${t.kind}`)
    const reused = previous.flatMap((s) => s.fields).find((f) => f['source-id'] === field.id && f.transform === transform)
    return { 'source-id': field.id, 'field-id': reused ? reused['field-id'] : ++last, name: fieldName, transform }
  })
  return { spec: { 'spec-id': specId, fields }, lastPartitionId: last }
}

function parseFieldInput(text: string): { source: string; transform: string; name?: string } {
  const m = /^\s*([a-z]+(?:\[\d+\])?)\(\s*([^)\s]+)\s*\)\s*$/.exec(text)
  return m ? { transform: m[1] as string, source: m[2] as string } : { transform: 'identity', source: text.trim() }
}

const MICROS_PER_DAY = 86_400_000_000
const MICROS_PER_HOUR = 3_600_000_000

/** Applies a transform to one internal source value. */
export function applyTransform(transform: string, sourceType: IcebergType, value: PartitionValue): PartitionValue {
  return applyParsed(parseTransform(transform), sourceType, value)
}

function applyParsed(t: ParsedTransform, sourceType: IcebergType, value: PartitionValue): PartitionValue {
  if (value === null) return null
  switch (t.kind) {
    case 'identity':
      return value
    case 'void':
      return null
    case 'day':
      return sourceType === 'date' ? Number(value) : Math.floor(Number(value) / MICROS_PER_DAY)
    case 'hour':
      return Math.floor(Number(value) / MICROS_PER_HOUR)
    case 'year':
    case 'month': {
      const days = sourceType === 'date' ? Number(value) : Math.floor(Number(value) / MICROS_PER_DAY)
      const [y, m] = formatDate(days).split('-').map(Number) as [number, number]
      return t.kind === 'year' ? y - 1970 : (y - 1970) * 12 + m - 1
    }
    case 'bucket':
      return (murmur3(bucketBytes(sourceType, value)) & 0x7fffffff) % t.n
  }
}

/** The bytes the bucket transform hashes (spec appendix B). */
export function bucketBytes(type: IcebergType, value: InternalValue): Uint8Array {
  if (type === 'string') return Buffer.from(String(value), 'utf8')
  if (type === 'binary' || (typeof type === 'string' && type.startsWith('fixed['))) return value as Buffer
  if (type === 'uuid') return Buffer.from(String(value).replace(/-/g, ''), 'hex')
  if (typeof type === 'string' && parseDecimalType(type)) return bigIntToBytes(BigInt(value as bigint)) as Buffer
  const b = Buffer.alloc(8)
  b.writeBigInt64LE(BigInt(value as number))
  return b
}

/** Compiles a function giving the partition tuple of one row from its internal values by source id. */
export function partitioner(spec: PartitionSpec, schema: Schema): (valueOf: (sourceId: number) => PartitionValue) => PartitionTuple {
  const byId = fieldsById(schema)
  // Parsed once here: the returned function runs for every row written.
  const fields = spec.fields.map((f) => ({ name: f.name, sourceId: f['source-id'], transform: parseTransform(f.transform), type: byId.get(f['source-id'])?.type }))
  return (valueOf) => {
    const out: PartitionTuple = {}
    for (const f of fields) out[f.name] = f.type === undefined ? null : applyParsed(f.transform, f.type, valueOf(f.sourceId))
    return out
  }
}

/** The directory of a partition under data/: 'ts_day=2024-01-31/id_bucket=3' (Hive style). */
export function partitionPath(spec: PartitionSpec, schema: Schema, tuple: PartitionTuple): string {
  const byId = fieldsById(schema)
  return spec.fields
    .map((f) => {
      const value = tuple[f.name] ?? null
      const source = byId.get(f['source-id'])?.type ?? 'string'
      return `${encodeURIComponent(f.name)}=${encodeURIComponent(humanValue(f.transform, source, value))}`
    })
    .join('/')
}

function humanValue(transform: string, source: IcebergType, value: PartitionValue): string {
  if (value === null) return 'null'
  const t = parseTransform(transform)
  if (t.kind === 'day') return formatDate(Number(value))
  if (t.kind === 'hour') return formatTimestamp(Number(value) * MICROS_PER_HOUR, 6, false).slice(0, 13).replace('T', '-')
  if (t.kind === 'month') return `${1970 + Math.floor(Number(value) / 12)}-${String((Number(value) % 12) + 1).padStart(2, '0')}`
  if (t.kind === 'year') return String(1970 + Number(value))
  if (t.kind === 'identity' && source === 'date') return formatDate(Number(value))
  if (t.kind === 'identity' && (source === 'timestamp' || source === 'timestamptz')) return formatTimestamp(Number(value), 6, source === 'timestamptz')
  if (Buffer.isBuffer(value)) return value.toString('hex')
  return String(value)
}

/** A string that is equal for equal tuples: groups rows by partition. */
export const tupleKey = (tuple: PartitionTuple): string =>
  Object.values(tuple)
    .map((v) => (v === null ? 'null' : Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : typeof v === 'string' ? JSON.stringify(v) : `${typeof v}:${String(v)}`))
    .join('|')

export function specById(specs: PartitionSpec[], id: number): PartitionSpec {
  const spec = specs.find((s) => s['spec-id'] === id)
  if (!spec) throw new TributaryError('TRIB_LAKE_CORRUPT', `partition spec ${id} is not in the table metadata`, { details: { specId: id } })
  return spec
}
