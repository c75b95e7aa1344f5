/**
 * Wire -> canonical conversions for Debezium / Kafka Connect semantic types and plain Avro logical
 * types. Each converter takes the wire value (already decoded from Avro, or from JSON with bytes
 * already turned into Buffers) and returns the canonical value from the brief. They throw plain
 * Errors; the schema compilers add the field path.
 */
import { bytesToBigInt, bytesToDecimal } from '../values/decimal.ts'
import { formatDate, formatTime as formatTimeOfDay, formatTimestamp } from '../values/temporal.ts'

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

/** Kinds whose wire value is a long that may exceed 2^53 and must then be read as a bigint. */
export const isNanoKind = (kind: SemanticKind | undefined): boolean =>
  kind === 'time-ns' || kind === 'ts-ns' || kind === 'local-ts-ns'

export type Convert = (value: unknown) => unknown

/** The converter for a kind; `scale` is used by 'decimal' only. undefined for 'as-is'. */
export function converterFor(kind: SemanticKind, scale = 0): Convert | undefined {
  switch (kind) {
    case 'date':
      return (v) => formatDate(inRange(int(v) * 86_400_000, 3) / 86_400_000)
    case 'time-ms':
      return (v) => formatTime(int(v), 3)
    case 'time-us':
      return (v) => formatTime(int(v), 6)
    case 'time-ns':
      return (v) => formatTime(long(v), 9)
    case 'ts-ms':
      return (v) => formatTimestamp(inRange(int(v), 3), 3, true)
    case 'ts-us':
      return (v) => formatTimestamp(inRange(int(v), 6), 6, true)
    case 'ts-ns':
      return (v) => formatTimestamp(long(v), 9, true)
    case 'local-ts-ms':
      return (v) => formatTimestamp(inRange(int(v), 3), 3, false)
    case 'local-ts-us':
      return (v) => formatTimestamp(inRange(int(v), 6), 6, false)
    case 'local-ts-ns':
      return (v) => formatTimestamp(long(v), 9, false)
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
    case 'as-is':
      return undefined
  }
}

// ---- wire value checks -------------------------------------------------------------------------

const kind = (v: unknown): string => (Buffer.isBuffer(v) ? 'bytes' : v === null ? 'null' : typeof v)

function int(v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v
  throw new Error(`expected a safe integer, got ${kind(v)} ${String(v)}`)
}

/** JS dates reach ±8.64e15 ms; canonical text is only defined inside that range. */
function inRange(v: number, digits: 3 | 6): number {
  if (Math.abs(v) > 8.64e15 * 10 ** (digits - 3)) throw new Error(`${v} is outside the supported date range`)
  return v
}

function long(v: unknown): number | bigint {
  if (typeof v === 'bigint') return v
  return int(v)
}

function str(v: unknown): string {
  if (typeof v === 'string') return v
  throw new Error(`expected a string, got ${kind(v)}`)
}

function decimalBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v
  throw new Error(`expected decimal bytes, got ${kind(v)}`)
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
  if (!(n >= 0 && n <= perDay)) throw new Error(`${String(value)} is not a time of day`)
  return n === perDay ? `24:00:00.${'0'.repeat(digits)}` : formatTimeOfDay(n, digits)
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
