/**
 * Debezium JSON without the `{schema, payload}` wrapper (JsonConverter with schemas.enable=false)
 * carries no types: dates, times and timestamps come as counts, decimals as base64 bytes. The
 * port's reader schema says what each field is, so this converts a row field by field the way the
 * wrapper's Connect schema would have, before the row is conformed to that schema:
 * - date (int): the day count (Debezium's infinity sentinels become 'infinity' / '-infinity');
 * - time-millis / time-micros: a count in the reader's unit (declare the unit the column has:
 *   Debezium writes `time(0..3)` in millis, `time(4..6)` in micros);
 * - timestamp-* and local-timestamp-*: a count in the reader's unit, likewise (`timestamp(0..3)`
 *   in millis, else micros); a ZonedTimestamp string is left to the reader's parsing;
 * - decimal: base64 two's-complement bytes at the reader's scale (Connect's Decimal with
 *   `decimal.format=BASE64`, its default), or a VariableScaleDecimal `{scale, value}`;
 * - string: a VariableScaleDecimal `{scale, value}` becomes its decimal text;
 * - long with `"connect.name": "io.debezium.time.MicroDuration"`: an interval; the int64 limits,
 *   which Debezium sends for one it cannot hold, are refused (semantic.ts, microDuration).
 * Anything else, and any value not in these forms, is left for the conformer to accept or refuse.
 * Arrays, maps, records and nullable unions are followed.
 */
import type { Type } from 'avsc'
import type { AnyType } from '../types/conform.ts'
import { CanonicalType, DateType, DecimalType, LocalTimestampMicrosType, LocalTimestampMillisType, TimeMicrosType, TimeMillisType, TimestampMicrosType, TimestampMillisType } from '../types/logical-types.ts'
import { bytesToBigInt, bytesToDecimal } from '../values/decimal.ts'
import { isInt64 } from '../values/long.ts'
import { formatDate, formatTime, formatTimestamp, isTimeOfDay } from '../values/temporal.ts'
import { isMicroDurationLong } from '../types/avro-types.ts'
import { dateInfinity, formatUnscaled, microDuration, timestampInfinity, type Convert } from './semantic.ts'
import { leaf } from './types.ts'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)

/** undefined when the type needs nothing. */
export function compileBare(type: Type): Convert | undefined {
  return compile(type, new Set(), '')
}

/** `path` names the field in errors (the only one thrown: a MicroDuration's limits). */
function compile(type: Type, seen: Set<Type>, path: string): Convert | undefined {
  const t = type as AnyType
  if (type instanceof CanonicalType) return logical(type)
  switch (type.typeName) {
    case 'long':
      return isMicroDurationLong(type) ? leaf((v) => (isInt64(v) ? microDuration(v) : v), path) : undefined
    case 'string':
      return (v) => (isObject(v) && 'scale' in v && 'value' in v ? (variableDecimal(v) ?? v) : v)
    case 'union:unwrapped': {
      const live = t.types!.filter((b) => b.typeName !== 'null')
      return live.length === 1 ? compile(live[0]!, seen, path) : undefined
    }
    case 'array': {
      const item = compile(t.itemsType!, seen, path)
      return item && ((v) => (Array.isArray(v) ? v.map((x) => (x == null ? x : item(x))) : v))
    }
    case 'map': {
      const value = compile(t.valuesType!, seen, path)
      return value && ((v) => (isObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x == null ? x : value(x)])) : v))
    }
    case 'record':
    case 'error': {
      if (seen.has(type)) return undefined // recursive: inner levels as given
      seen.add(type)
      const fields = t.fields!.flatMap((f) => {
        const c = compile(f.type, seen, path === '' ? f.name : `${path}.${f.name}`)
        return c ? [[f.name, c] as const] : []
      })
      seen.delete(type)
      if (fields.length === 0) return undefined
      return (v) => {
        if (!isObject(v)) return v
        const out = { ...v }
        for (const [name, c] of fields) if (out[name] != null) out[name] = c(out[name])
        return out
      }
    }
    default:
      return undefined
  }
}

function logical(type: CanonicalType): Convert | undefined {
  if (type instanceof DateType) return (v) => (typeof v === 'number' && Number.isInteger(v) ? (dateInfinity(v) ?? formatDate(v)) : v)
  if (type instanceof TimeMillisType || type instanceof TimeMicrosType) {
    const digits = type.digits
    // Within a day only (24:00:00 included); the conformer refuses the rest with the field's name.
    return (v) => (typeof v === 'number' && isTimeOfDay(v, digits) ? formatTime(v, digits) : v)
  }
  if (type instanceof TimestampMillisType || type instanceof TimestampMicrosType || type instanceof LocalTimestampMillisType || type instanceof LocalTimestampMicrosType) {
    const { digits, utc } = type
    return (v) => (isInt64(v) ? (timestampInfinity(v, digits) ?? formatTimestamp(v, digits, utc)) : v)
  }
  if (type instanceof DecimalType) {
    const scale = type.scale
    return (v) => {
      if (typeof v === 'string' && BASE64.test(v) && v.length % 4 === 0) return bytesToDecimal(Buffer.from(v, 'base64'), scale)
      if (isObject(v)) return variableDecimal(v) ?? v
      return v
    }
  }
  return undefined
}

/** A VariableScaleDecimal as JSON writes it: `{scale: int, value: base64}`. */
function variableDecimal(v: Record<string, unknown>): string | undefined {
  const { scale, value } = v
  if (typeof scale !== 'number' || !Number.isInteger(scale) || typeof value !== 'string' || !BASE64.test(value)) return undefined
  return formatUnscaled(bytesToBigInt(Buffer.from(value, 'base64')), scale)
}
