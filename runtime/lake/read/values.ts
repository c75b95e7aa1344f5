import {
  DuckDBTypeId,
  type DuckDBArrayType,
  type DuckDBArrayValue,
  type DuckDBBlobValue,
  type DuckDBDateValue,
  type DuckDBDecimalValue,
  type DuckDBIntervalValue,
  type DuckDBListType,
  type DuckDBListValue,
  type DuckDBMapType,
  type DuckDBMapValue,
  type DuckDBStructType,
  type DuckDBStructValue,
  type DuckDBTimestampMillisecondsValue,
  type DuckDBTimestampNanosecondsValue,
  type DuckDBTimestampSecondsValue,
  type DuckDBTimestampValue,
  type DuckDBTimeNSValue,
  type DuckDBTimeValue,
  type DuckDBType,
  type DuckDBUnionType,
  type DuckDBUnionValue,
  type DuckDBValue,
} from '@duckdb/node-api'
import { formatDecimal } from '../../codec/values/decimal.ts'
import { narrow } from '../../codec/values/long.ts'
import { formatDate, formatTime, formatTimestamp } from '../../codec/values/temporal.ts'

/**
 * A DuckDB result value in the value model (runtime/codec/VALUES.md), read from its exact type,
 * never through a JavaScript number: integers of any width as numbers while safe and bigints
 * beyond (BIGINT, UBIGINT, HUGEINT, BIGNUM), floats as they are (NaN, ±Infinity, -0), decimals as
 * strings at full precision, dates, times and timestamps as the canonical strings (3, 6 or 9
 * fraction digits by the type's unit, any year; DuckDB's infinite ones as `infinity`/`-infinity`), blobs as Buffers, lists as arrays,
 * structs as objects, maps with text keys as objects (other maps: their entries as {key, value}).
 * What the model has no form for (intervals, unions) keeps DuckDB's parts; the rest (uuid, bit
 * strings, time with zone, …) is DuckDB's text.
 */
export function fromDuckDB(v: DuckDBValue, type: DuckDBType): unknown {
  if (v === null) return null
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return typeof v === 'bigint' ? narrow(v) : v
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return v
    case DuckDBTypeId.DECIMAL:
      return formatDecimal((v as DuckDBDecimalValue).value, (v as DuckDBDecimalValue).scale)
    case DuckDBTypeId.BLOB:
      return Buffer.from((v as DuckDBBlobValue).bytes)
    case DuckDBTypeId.DATE: {
      const { days } = v as DuckDBDateValue
      return Math.abs(days) === DATE_INFINITY ? infinity(days) : formatDate(days)
    }
    case DuckDBTypeId.TIME:
      return formatTime((v as DuckDBTimeValue).micros, 6)
    case DuckDBTypeId.TIME_NS:
      return formatTime((v as DuckDBTimeNSValue).nanos, 9)
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestamp((v as DuckDBTimestampValue).micros, 1n, 6, type.typeId === DuckDBTypeId.TIMESTAMP_TZ)
    case DuckDBTypeId.TIMESTAMP_MS:
      return timestamp((v as DuckDBTimestampMillisecondsValue).millis, 1n, 3, false)
    case DuckDBTypeId.TIMESTAMP_S:
      return timestamp((v as DuckDBTimestampSecondsValue).seconds, 1000n, 3, false)
    case DuckDBTypeId.TIMESTAMP_NS:
      return timestamp((v as DuckDBTimestampNanosecondsValue).nanos, 1n, 9, false)
    case DuckDBTypeId.INTERVAL: {
      const i = v as DuckDBIntervalValue
      return { months: i.months, days: i.days, micros: narrow(i.micros) }
    }
    case DuckDBTypeId.LIST:
      return (v as DuckDBListValue).items.map((x) => fromDuckDB(x, (type as DuckDBListType).valueType))
    case DuckDBTypeId.ARRAY:
      return (v as DuckDBArrayValue).items.map((x) => fromDuckDB(x, (type as DuckDBArrayType).valueType))
    case DuckDBTypeId.STRUCT: {
      const { entryNames, entryTypes } = type as DuckDBStructType
      const { entries } = v as DuckDBStructValue
      return Object.fromEntries(entryNames.map((name, i) => [name, fromDuckDB(entries[name] ?? null, entryTypes[i]!)]))
    }
    case DuckDBTypeId.MAP: {
      const { keyType, valueType } = type as DuckDBMapType
      const { entries } = v as DuckDBMapValue
      if (keyType.typeId === DuckDBTypeId.VARCHAR) return Object.fromEntries(entries.map((e) => [e.key as string, fromDuckDB(e.value, valueType)]))
      return entries.map((e) => ({ key: fromDuckDB(e.key, keyType), value: fromDuckDB(e.value, valueType) }))
    }
    case DuckDBTypeId.UNION: {
      const { memberTags, memberTypes } = type as DuckDBUnionType
      const u = v as DuckDBUnionValue
      const member = memberTypes[memberTags.indexOf(u.tag)]
      return { tag: u.tag, value: member === undefined ? String(u.value) : fromDuckDB(u.value, member) }
    }
    default:
      return String(v)
  }
}


// DuckDB's infinite dates and timestamps (PostgreSQL's 'infinity'): the extreme counts, which are no instant.
const DATE_INFINITY = 2 ** 31 - 1
const TIMESTAMP_INFINITY = 2n ** 63n - 1n
const infinity = (n: number | bigint): string => (n > 0 ? 'infinity' : '-infinity')

/** A timestamp of `count` units (times `scale` to reach the printed unit), or `infinity`/`-infinity`. */
function timestamp(count: bigint, scale: bigint, digits: 3 | 6 | 9, utc: boolean): string {
  if (count === TIMESTAMP_INFINITY || count === -TIMESTAMP_INFINITY) return infinity(count)
  return formatTimestamp(narrow(count * scale), digits, utc)
}
