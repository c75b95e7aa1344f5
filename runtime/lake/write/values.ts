import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api'
import { TributaryError } from '../../errors.ts'
import { parseDecimal, smallCanonical } from '../../codec/values/decimal.ts'
import { narrow } from '../../codec/values/long.ts'
import { parseCanonicalTimestamp, parseDate, parseTime, parseTimestamp } from '../../codec/values/temporal.ts'
import { parseDecimalType } from '../iceberg/schema.ts'
import type { IcebergType, NestedField } from '../iceberg/types.ts'

/**
 * Canonical row values (runtime/codec/VALUES.md) to DuckDB values for one Iceberg type, compiled once per column
 * so the per-value path is a direct call. Also accepted: a Date for date and timestamp columns, a
 * number of days for dates and of microseconds for times and timestamps (Iceberg's units), a
 * bigint for long. Decimals must be strings (exact). `internal` gives the value in the form
 * partition transforms use (days, micros, unscaled bigint).
 */
export interface ColumnConverter {
  toDuckDB(value: unknown, row: number): DuckDBValue
  internal(value: unknown, row: number): number | bigint | string | boolean | Buffer | null
}

type Fail = (row: number, why: string) => never

export function columnConverter(field: NestedField, table: string): ColumnConverter {
  const fail: Fail = (row, why) => {
    throw new TributaryError('TRIB_LAKE_ROW_INVALID', `table ${table}: row ${row}, field ${field.name}: ${why}`, { details: { table, row, field: field.name } })
  }
  const toDuckDB = compile(field.type, field.required, field.name, fail)
  const internal = compileInternal(field.type, field.required, field.name, fail)
  return { toDuckDB, internal }
}

type Conv = (value: unknown, row: number) => DuckDBValue

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : Buffer.isBuffer(v) ? 'a Buffer' : typeof v === 'string' ? `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'` : typeof v)

function compile(type: IcebergType, required: boolean, path: string, fail: Fail): Conv {
  const inner = compileNonNull(type, path, fail)
  return (value, row) => (value === null || value === undefined ? missing(required, path, value, row, fail) : inner(value, row))
}

const missing = (required: boolean, path: string, value: null | undefined, row: number, fail: Fail): null =>
  required ? fail(row, `${path} is required but got ${value === null ? 'null' : 'nothing'}`) : null

function compileNonNull(type: IcebergType, path: string, fail: Fail): Conv {
  if (typeof type !== 'string') {
    if (type.type === 'list') {
      const element = compile(type.element, type['element-required'], `${path}[]`, fail)
      return (v, row) => {
        if (!Array.isArray(v)) return fail(row, `${path} expects an array, got ${describe(v)}`)
        return new DuckDBListValue(v.map((x) => element(x, row)))
      }
    }
    if (type.type === 'map') {
      const key = compile(type.key, true, `${path}.key`, fail)
      const value = compile(type.value, type['value-required'], `${path}.value`, fail)
      return (v, row) => {
        const entries = v instanceof Map ? [...v] : v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : fail(row, `${path} expects an object or Map, got ${describe(v)}`)
        return new DuckDBMapValue(entries.map(([k, x]) => ({ key: key(k, row), value: value(x, row) })))
      }
    }
    const fields = type.fields.map((f) => ({ name: f.name, conv: compile(f.type, f.required, `${path}.${f.name}`, fail) }))
    return (v, row) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(row, `${path} expects an object, got ${describe(v)}`)
      const out: Record<string, DuckDBValue> = {}
      for (const f of fields) out[f.name] = f.conv((v as Record<string, unknown>)[f.name], row)
      return new DuckDBStructValue(out)
    }
  }
  const toInternal = internalNonNull(type, path, fail)
  switch (type) {
    case 'long':
      return (v, row) => BigInt(toInternal(v, row) as number | bigint)
    case 'date':
      return (v, row) => new DuckDBDateValue(toInternal(v, row) as number)
    case 'time':
      return (v, row) => new DuckDBTimeValue(BigInt(toInternal(v, row) as number))
    case 'timestamptz':
      return (v, row) => new DuckDBTimestampTZValue(BigInt(toInternal(v, row) as number))
    case 'timestamp':
      return (v, row) => new DuckDBTimestampValue(BigInt(toInternal(v, row) as number))
    case 'binary':
      return (v, row) => new DuckDBBlobValue(toInternal(v, row) as Buffer)
  }
  const dec = parseDecimalType(type)
  if (dec) return (v, row) => new DuckDBDecimalValue(BigInt(toInternal(v, row) as number | bigint), dec.precision, dec.scale)
  return toInternal as Conv
}

type Internal = (value: unknown, row: number) => number | bigint | string | boolean | Buffer | null

function compileInternal(type: IcebergType, required: boolean, path: string, fail: Fail): Internal {
  if (typeof type !== 'string') return () => null
  const inner = internalNonNull(type, path, fail)
  return (value, row) => (value === null || value === undefined ? missing(required, path, value, row, fail) : inner(value, row))
}

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
/** An int64 in the value model's form: a number while safe. */

const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1

/** Canonical value to internal form for a primitive type; refuses anything else. */
function internalNonNull(type: string, path: string, fail: Fail): (value: unknown, row: number) => number | bigint | string | boolean | Buffer {
  const bad = (row: number, v: unknown, what: string): never => fail(row, `${path ? `${path} ` : ''}expects ${what}, got ${describe(v)}`)
  switch (type) {
    case 'boolean':
      return (v, row) => (typeof v === 'boolean' ? v : bad(row, v, 'a boolean'))
    case 'int':
      return (v, row) => (typeof v === 'number' && Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX ? v : bad(row, v, 'a 32-bit integer'))
    case 'long':
      return (v, row) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'bigint' && BigInt.asIntN(64, v) === v ? narrow(v) : bad(row, v, 'a safe integer or a 64-bit bigint'))
    case 'float':
    case 'double':
      return (v, row) => (typeof v === 'number' ? v : bad(row, v, 'a number'))
    case 'string':
    case 'uuid':
      // A lone surrogate has no UTF-8 form: writing it would put U+FFFD in its place.
      return (v, row) => (typeof v === 'string' ? (isWellFormed(v) ? v : bad(row, v, 'a string without lone surrogates')) : bad(row, v, 'a string'))
    case 'binary':
      return (v, row) => (Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.length) : bad(row, v, 'a Buffer'))
    case 'date':
      return (v, row) => {
        if (typeof v === 'string') return parseDate(v) ?? bad(row, v, "a date 'YYYY-MM-DD'")
        if (v instanceof Date && !Number.isNaN(v.getTime())) return Math.floor(v.getTime() / 86_400_000)
        return typeof v === 'number' && Number.isInteger(v) ? v : bad(row, v, "a date 'YYYY-MM-DD'")
      }
    case 'time':
      return (v, row) => {
        if (typeof v === 'string') return parseTime(v, 6) ?? bad(row, v, "a time 'HH:MM:SS.ffffff'")
        return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 86_400_000_000 ? v : bad(row, v, "a time 'HH:MM:SS.ffffff'")
      }
    case 'timestamp':
    case 'timestamptz': {
      const utc = type === 'timestamptz'
      const what = utc ? "an ISO UTC timestamp ('…Z')" : "a local ISO timestamp (no zone)"
      return (v, row) => {
        if (typeof v === 'string') {
          // Fast paths for the canonical micros and millis shapes, then any ISO form.
          const micros = parseCanonicalTimestamp(v, 6, utc)
          if (micros !== undefined) return micros
          const millis = parseCanonicalTimestamp(v, 3, utc)
          if (millis !== undefined) return micros1000(millis)
          return parseTimestamp(v, 6, utc) ?? bad(row, v, what)
        }
        if (v instanceof Date && !Number.isNaN(v.getTime())) return micros1000(v.getTime())
        return typeof v === 'number' && Number.isSafeInteger(v) ? v : bad(row, v, what)
      }
    }
  }
  const dec = parseDecimalType(type)
  if (dec) {
    const limit = 10n ** BigInt(dec.precision)
    // Most decimals are short canonical strings: read as a safe number (smallCanonical), no bigint.
    const smallLimit = dec.precision <= 15 ? 10 ** dec.precision : Number.POSITIVE_INFINITY
    return (v, row) => {
      if (typeof v === 'string') {
        const small = smallCanonical(v, dec.scale)
        if (small !== undefined && Math.abs(small) < smallLimit) return small || 0 // '-0.00' is 0
      }
      const unscaled = typeof v === 'string' ? parseDecimal(v, dec.scale) : undefined
      if (unscaled === undefined) return bad(row, v, `a decimal string with at most ${dec.scale} fraction digits`)
      if (unscaled >= limit || unscaled <= -limit) return bad(row, v, `a decimal of at most ${dec.precision} digits`)
      return unscaled
    }
  }
  return (v, row) => bad(row, v, `a value of type ${type} (not writable)`)
}

/** Millis to micros exactly: beyond 2^53 micros (before 1684, after 2255) a double would round. */
const micros1000 = (ms: number): number | bigint => (Math.abs(ms) < 9_007_199_254_740 ? ms * 1000 : BigInt(ms) * 1000n)
