/**
 * Wire -> canonical conversions for Debezium / Kafka Connect semantic types and plain Avro logical
 * types. Each converter takes the wire value (already decoded from Avro, or from JSON with bytes
 * already turned into Buffers) and returns the canonical value of the value model (../VALUES.md).
 * They throw plain Errors; the schema compilers add the field path.
 *
 * Counts are int64s, exact: a timestamp after 2262 in nanos or 2255 in micros is a bigint on the
 * wire and stays exact. PostgreSQL's infinite dates and timestamps arrive as the extreme values
 * Debezium puts in their place (SENTINELS below); they become 'infinity' and '-infinity'.
 */
import { INT64_MAX, INT64_MIN, isInt64, type Int64 } from '../values/long.ts'
import { bytesToBigInt, bytesToDecimal } from '../values/decimal.ts'
import { DATE_INFINITY, formatDate, formatTime as formatTimeOfDay, formatTimestamp, INFINITY, NEG_INFINITY, parseDate } from '../values/temporal.ts'

/** What a field means, independent of whether it came from a Connect `name` or an Avro `logicalType`. */
export type SemanticKind =
  | 'date'
  | 'time-ms'
  | 'time-us'
  | 'time-ns'
  | 'ts-ms'
  | 'ts-us'
  | 'ts-ns'
  | 'local-ts-ms'
  | 'local-ts-us'
  | 'local-ts-ns'
  | 'decimal'
  | 'variable-decimal'
  | 'json'
  | 'uuid'
  /** Debezium's MicroDuration (PostgreSQL interval): an int64 count, its extremes refused (microDuration). */
  | 'duration-us'
  /** Already canonical on the wire (ZonedTimestamp, ZonedTime, Enum): recognised, left as is. */
  | 'as-is'

/** Connect schema names (the JSON `name`, the Avro `connect.name`) -> meaning. */
const byConnectName: Record<string, SemanticKind> = {
  'io.debezium.time.Date': 'date',
  'org.apache.kafka.connect.data.Date': 'date',
  'io.debezium.time.Time': 'time-ms',
  'org.apache.kafka.connect.data.Time': 'time-ms',
  'io.debezium.time.MicroTime': 'time-us',
  'io.debezium.time.NanoTime': 'time-ns',
  'io.debezium.time.Timestamp': 'ts-ms',
  'org.apache.kafka.connect.data.Timestamp': 'ts-ms',
  'io.debezium.time.MicroTimestamp': 'ts-us',
  'io.debezium.time.NanoTimestamp': 'ts-ns',
  'io.debezium.time.ZonedTimestamp': 'as-is',
  'io.debezium.time.ZonedTime': 'as-is',
  'org.apache.kafka.connect.data.Decimal': 'decimal',
  'io.debezium.data.VariableScaleDecimal': 'variable-decimal',
  'io.debezium.data.Json': 'json',
  'io.debezium.data.Uuid': 'uuid',
  'io.debezium.time.MicroDuration': 'duration-us',
  'io.debezium.data.Enum': 'as-is',
}

/** Avro logical types, used only when a schema has no `connect.name` (e.g. not from AvroConverter). */
const byLogicalType: Record<string, SemanticKind> = {
  date: 'date',
  'time-millis': 'time-ms',
  'time-micros': 'time-us',
  'timestamp-millis': 'ts-ms',
  'timestamp-micros': 'ts-us',
  'timestamp-nanos': 'ts-ns',
  'local-timestamp-millis': 'local-ts-ms',
  'local-timestamp-micros': 'local-ts-us',
  'local-timestamp-nanos': 'local-ts-ns',
  decimal: 'decimal',
  uuid: 'uuid',
}

export const kindOfConnectName = (name: unknown): SemanticKind | undefined =>
  typeof name === 'string' ? byConnectName[name] : undefined

export const kindOfLogicalType = (logicalType: unknown): SemanticKind | undefined =>
  typeof logicalType === 'string' ? byLogicalType[logicalType] : undefined

export type Convert = (value: unknown) => unknown

/**
 * What Debezium's PostgreSQL connector sends for `infinity` and `-infinity` (its versions differ):
 * dates as days of +5877611-06-21 / -5877611-06-22 (older releases overflowed +infinity to
 * -5877611-06-21), timestamps as PgJDBC's DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY read in
 * the column's unit, or the int64 extremes; the int32 and int64 extremes also stand for them, as
 * PostgreSQL and DuckDB store infinities so.
 *
 * A date read by the snapshot (JDBC) is PgJDBC's java.sql.Date for infinity, turned into days by
 * java.sql.Date.toLocalDate (local time, Julian calendar, year of era) and cast to int32: the
 * counts below, one day later when the connector's JVM runs east of UTC. No PostgreSQL date is
 * that far from 1970 (its range starts at 4713 BC, day −2440588).
 */
export const SENTINELS = {
  date: {
    positive: [parseDate('+5877611-06-21')!, -2_147_472_692, DATE_INFINITY, -622_191_234, -622_191_233],
    negative: [parseDate('-5877611-06-22')!, -DATE_INFINITY, -(2 ** 31), -625_821_272, -625_821_271],
  },
  3: { positive: [9_223_372_036_825_200n], negative: [-9_223_372_036_832_400n] },
  6: { positive: [9_223_372_036_825_200_000n], negative: [-9_223_372_036_832_400_000n] },
  9: { positive: [], negative: [] },
} as const
const INT64_EXTREMES = { positive: INT64_MAX, negative: INT64_MIN }

/** 'infinity' or '-infinity' when a date's day count stands for one. */
export function dateInfinity(days: number): string | undefined {
  if ((SENTINELS.date.positive as readonly number[]).includes(days)) return INFINITY
  if ((SENTINELS.date.negative as readonly number[]).includes(days)) return NEG_INFINITY
  return undefined
}

/** 'infinity' or '-infinity' when a timestamp's count (in 10^-digits seconds) stands for one. */
export function timestampInfinity(v: Int64, digits: 3 | 6 | 9): string | undefined {
  if (typeof v === 'number') return undefined // the sentinels are all beyond 2^53
  if (v === INT64_EXTREMES.positive || (SENTINELS[digits].positive as readonly bigint[]).includes(v)) return INFINITY
  if (v === INT64_EXTREMES.negative || (SENTINELS[digits].negative as readonly bigint[]).includes(v)) return NEG_INFINITY
  return undefined
}

const timestamp = (digits: 3 | 6 | 9, utc: boolean): Convert => (v) => {
  const n = long(v)
  return timestampInfinity(n, digits) ?? formatTimestamp(n, digits, utc)
}

/**
 * The converter for a kind; `scale` is used by 'decimal' only. undefined for 'as-is'. `local`:
 * Debezium's zoneless timestamps (PostgreSQL `timestamp`) are read as local date-times, without
 * the 'Z' they get by default, for a reader field declared `local-timestamp-*`.
 */
export function converterFor(kind: SemanticKind, scale = 0, local = false): Convert | undefined {
  switch (kind) {
    case 'date':
      return (v) => {
        const days = int(v)
        return dateInfinity(days) ?? formatDate(days)
      }
    case 'time-ms':
      return (v) => formatTime(int(v), 3)
    case 'time-us':
      return (v) => formatTime(long(v), 6)
    case 'time-ns':
      return (v) => formatTime(long(v), 9)
    case 'ts-ms':
      return timestamp(3, !local)
    case 'ts-us':
      return timestamp(6, !local)
    case 'ts-ns':
      return timestamp(9, !local)
    case 'local-ts-ms':
      return timestamp(3, false)
    case 'local-ts-us':
      return timestamp(6, false)
    case 'local-ts-ns':
      return timestamp(9, false)
    case 'decimal':
      return scale >= 0 ? (v) => bytesToDecimal(decimalBytes(v), scale) : (v) => formatUnscaled(bytesToBigInt(decimalBytes(v)), scale)
    case 'variable-decimal':
      return variableScaleDecimal
    case 'json':
      // Kept as the JSON text: it fits a `string` field of any reader schema, and is checked to parse.
      return (v) => {
        const text = str(v)
        JSON.parse(text)
        return text
      }
    case 'uuid':
      return (v) => str(v).toLowerCase()
    case 'duration-us':
      return microDuration
    case 'as-is':
      return undefined
  }
}

// ---- wire value checks -------------------------------------------------------------------------

const kind = (v: unknown): string => (Buffer.isBuffer(v) ? 'bytes' : v === null ? 'null' : typeof v)

function int(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) return v
  throw new Error(`expected a 32-bit integer, got ${kind(v)}`)
}

function long(v: unknown): Int64 {
  if (isInt64(v)) return v
  throw new Error(`expected a 64-bit integer, got ${kind(v)}`)
}

function str(v: unknown): string {
  if (typeof v === 'string') return v
  throw new Error(`expected a string, got ${kind(v)}`)
}

function decimalBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v
  throw new Error(`expected decimal bytes, got ${kind(v)}`)
}

/**
 * Debezium computes a MicroDuration in floating point and casts it to int64, which saturates: the
 * int64 extremes stand for an interval beyond ±292,271 years (PostgreSQL's reach 178,000,000),
 * not for a value, so they are refused rather than kept as a different interval.
 */
export function microDuration(v: unknown): Int64 {
  const n = long(v)
  if (n === INT64_EXTREMES.positive || n === INT64_EXTREMES.negative)
    throw new Error('an interval beyond the int64 microseconds of a MicroDuration (Debezium sends the int64 limit in its place)')
  return n
}

function variableScaleDecimal(v: unknown): string {
  const s = v as { scale?: unknown; value?: unknown } | null
  if (s === null || typeof s !== 'object') throw new Error(`expected {scale, value}, got ${kind(v)}`)
  const scale = int(s.scale)
  return scale >= 0 ? bytesToDecimal(decimalBytes(s.value), scale) : formatUnscaled(bytesToBigInt(decimalBytes(s.value)), scale)
}

// ---- formatting: the registry's calendar arithmetic, so both ends agree on canonical text ----

export { formatDate, formatTimestamp } from '../values/temporal.ts'

/** Time of day; 24:00:00 is allowed because PostgreSQL allows it. */
export function formatTime(value: number | bigint, digits: 3 | 6 | 9): string {
  const n = Number(value)
  const perDay = 86_400 * 10 ** digits
  if (!(n >= 0 && n <= perDay)) throw new Error(`a value beyond 24:00:00 (or below 0) is not a time of day`)
  return formatTimeOfDay(n, digits)
}

/** Big-endian two's complement (Java BigInteger.toByteArray, Avro decimal) -> bigint. */
export const bigintFromTwosComplement = bytesToBigInt

/** unscaled × 10^-scale as a string with exactly `scale` fraction digits: (12345n, 2) -> '123.45'. */
export function formatUnscaled(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString()
  const negative = unscaled < 0n
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0')
  const point = digits.length - scale
  return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`
}
