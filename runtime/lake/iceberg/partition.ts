import { TributaryError, isTributaryError } from '../../errors.ts'
import { bigIntToBytes } from '../../codec/values/decimal.ts'
import { civilFromDays, formatDate, formatTimestamp } from '../../codec/values/temporal.ts'
import type { InternalValue } from './bounds.ts'
import { murmur3 } from './murmur3.ts'
import { fieldsById, parseDecimalType } from './schema.ts'
import type { IcebergType, PartitionField, PartitionSpec, PrimitiveType, Schema } from './types.ts'

/**
 * Partition specs and transforms (spec: "Partition Transforms"): identity, year, month, day, hour
 * and bucket[N]. Values are in the internal form of bounds.ts (dates as days, timestamps as micros,
 * a number while safe and a bigint beyond), and transforms are exact over the whole int64 range.
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
const INT32_MAX = 2 ** 31 - 1

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
      return daysOf(sourceType, value)
    case 'hour': {
      const hours = floorDiv(value as number | bigint, MICROS_PER_HOUR)
      // Iceberg's hour is an int: beyond year 246,953 there is none (Java's would overflow).
      if (Math.abs(hours) > INT32_MAX) throw new TributaryError('TRIB_LAKE_ROW_INVALID', `hour(${String(value)} µs) is beyond the int an hour partition holds`, { details: { transform: 'hour' } })
      return hours
    }
    case 'year':
    case 'month': {
      const [y, m] = civilFromDays(daysOf(sourceType, value))
      return t.kind === 'year' ? y - 1970 : (y - 1970) * 12 + m - 1
    }
    case 'bucket':
      return (murmur3(bucketBytes(sourceType, value)) & 0x7fffffff) % t.n
  }
}

const daysOf = (sourceType: IcebergType, value: InternalValue): number => (sourceType === 'date' ? Number(value) : floorDiv(value as number | bigint, MICROS_PER_DAY))

/** ⌊count / unit⌋ of an int64 count: in doubles while it is safe (exact there), in bigint beyond. */
function floorDiv(count: number | bigint, unit: number): number {
  if (typeof count === 'number') return Math.floor(count / unit)
  const u = BigInt(unit)
  const q = count / u
  return Number(count % u < 0n ? q - 1n : q)
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
  const fields = spec.fields.map((f) => ({ name: f.name, sourceId: f['source-id'], transform: parseTransform(f.transform), source: byId.get(f['source-id']) }))
  return (valueOf) => {
    const out: PartitionTuple = {}
    for (const f of fields) {
      if (f.source === undefined) out[f.name] = null
      else
        try {
          out[f.name] = applyParsed(f.transform, f.source.type, valueOf(f.sourceId))
        } catch (e) {
          // A value the partition cannot hold: the caller names the row.
          throw isTributaryError(e) ? new TributaryError(e.code, `${f.source.name}: ${e.message}`, { cause: e, details: { ...e.details, field: f.source.name } }) : e
        }
    }
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
  const n = Number(value)
  if (t.kind === 'day') return formatDate(n)
  if (t.kind === 'hour') return `${formatDate(Math.floor(n / 24))}-${String(n - Math.floor(n / 24) * 24).padStart(2, '0')}`
  if (t.kind === 'month') return `${1970 + Math.floor(n / 12)}-${String(n - Math.floor(n / 12) * 12 + 1).padStart(2, '0')}`
  if (t.kind === 'year') return String(1970 + n)
  if (t.kind === 'identity' && source === 'date') return formatDate(n)
  if (t.kind === 'identity' && (source === 'timestamp' || source === 'timestamptz')) return formatTimestamp(value as number | bigint, 6, source === 'timestamptz')
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
