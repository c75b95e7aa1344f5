import avro from 'avsc'
import type { Schema, Type } from 'avsc'
import { TributaryError, messageOf } from '../../errors.ts'
import { parseExact } from '../json/exact.ts'
import { toInt64 } from '../values/long.ts'
import { bytesToDecimal, decimalToBytes, maxPrecisionForSize } from '../values/decimal.ts'
import {
  type Digits,
  formatDate,
  formatTime,
  formatTimestamp,
  isCanonicalDate,
  isTimeOfDay,
  parseCanonicalTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
} from '../values/temporal.ts'
import { exactTypeHook } from './avro-types.ts'

/**
 * avsc logical types that hold the canonical in-memory values of the value model (../VALUES.md):
 * dates, times and timestamps as ISO strings, decimals as exact strings, uuids as lowercase
 * strings. Encoding also accepts natural alternatives (a Date for dates and timestamps, a count in
 * the wire unit, a bigint for counts beyond 2^53), never a number for a decimal. A logical type
 * whose schema does not fit it (another underlying type, bad parameters) is its underlying type,
 * as the Avro spec requires (`accepts`, and avsc when a constructor throws).
 *
 * Resolution (reading data written with another schema): a plain writer of a compatible underlying
 * type is read as the reader's unit, as the spec says. A writer of the same family is converted
 * through the canonical string, so millis widen to micros and decimal(4,1) to decimal(6,3)
 * exactly; narrowing (micros to millis, a smaller scale) is refused as lossy.
 */

type Family = 'date' | 'time' | 'timestamp' | 'local-timestamp' | 'decimal' | 'uuid'
type SchemaObject = Record<string, unknown>

const DAY_MS = 86_400_000
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

type Underlying = 'int' | 'long' | 'string' | 'bytes' | 'fixed'
/** The underlying Avro type of a logical type's schema: `{type: 'long', …}` or `{type: {type: 'fixed', …}}`. */
const underlyingOf = (schema: SchemaObject): unknown => (typeof schema.type === 'object' && schema.type !== null ? (schema.type as SchemaObject).type : schema.type)
const on =
  (...allowed: Underlying[]) =>
  (schema: SchemaObject): boolean =>
    allowed.includes(underlyingOf(schema) as Underlying)

export abstract class CanonicalType extends avro.types.LogicalType {
  abstract readonly family: Family
  /** Precision rank within the family: a writer of a lower rank widens into this type. */
  get rank(): number {
    return 0
  }

  /** The canonical string for a string this type can hold exactly, else undefined. */
  normalize(value: unknown): string | undefined {
    if (typeof value !== 'string') return undefined
    if (this.isCanonical(value)) return value
    const wire = this._toValue(value)
    return wire === undefined ? undefined : (this._fromValue(wire) as string)
  }

  /** What a value of this type looks like, for error messages. */
  abstract describe(): string

  /** A cheap exact test for text already in canonical form (the common case on the hot path). */
  protected isCanonical(_text: string): boolean {
    return false
  }

  protected sameAs(other: CanonicalType): boolean {
    return other.constructor === this.constructor && other.rank === this.rank
  }

  protected widensFrom(writer: CanonicalType): boolean {
    return writer.family === this.family && writer.rank <= this.rank
  }

  protected override _resolve(writer: Type): ((value: unknown) => unknown) | undefined {
    if (writer instanceof CanonicalType) {
      if (this.sameAs(writer)) return (v) => v
      if (!this.widensFrom(writer)) return undefined
      return (v) => {
        const wire = this._toValue(v)
        if (wire === undefined) throw new Error(`a written value does not fit ${this.describe()}`)
        return this._fromValue(wire)
      }
    }
    if (avro.Type.isType(writer, 'logical')) return undefined
    try {
      this.underlyingType.createResolver(writer)
    } catch {
      return undefined
    }
    // string <-> bytes promotion would hand _fromValue the other representation.
    if (writer.typeName !== this.underlyingType.typeName && (writer.typeName === 'bytes' || writer.typeName === 'string')) return undefined
    return (v) => this._fromValue(v)
  }
}

const INT32 = 2 ** 31

/** date (int days) <-> 'YYYY-MM-DD', 'infinity', '-infinity'. */
export class DateType extends CanonicalType {
  static accepts = on('int')
  readonly family = 'date'
  describe(): string {
    return "date string YYYY-MM-DD (or 'infinity')"
  }
  protected override isCanonical(text: string): boolean {
    return isCanonicalDate(text)
  }
  protected override _fromValue(days: number): string {
    return formatDate(days)
  }
  protected override _toValue(value: unknown): number | undefined {
    if (typeof value === 'string') return parseDate(value)
    if (typeof value === 'number') return Number.isInteger(value) && value >= -INT32 && value < INT32 ? value : undefined
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : Math.floor(value.getTime() / DAY_MS)
    return undefined
  }
}

/** time-millis (int) and time-micros (long) <-> 'HH:MM:SS.fff…', from 00:00:00 up to and including 24:00:00. */
abstract class TimeType extends CanonicalType {
  readonly family = 'time'
  abstract readonly digits: 3 | 6
  override get rank(): number {
    return this.digits
  }
  describe(): string {
    return `time string HH:MM:SS.${'s'.repeat(this.digits)} (up to 24:00:00)`
  }
  protected override _fromValue(value: number | bigint): string {
    // Another writer may have put anything in the int or long: only times of day are times.
    if (typeof value !== 'number' || !isTimeOfDay(value, this.digits)) throw new Error(`a ${this.digits === 3 ? 'time-millis' : 'time-micros'} beyond 24:00:00 (or below 0) is not a time of day`)
    return formatTime(value, this.digits)
  }
  protected override _toValue(value: unknown): number | undefined {
    if (typeof value === 'string') return parseTime(value, this.digits)
    if (typeof value === 'number') return isTimeOfDay(value, this.digits) ? value : undefined
    return undefined
  }
}

export class TimeMillisType extends TimeType {
  static accepts = on('int')
  readonly digits = 3
}

export class TimeMicrosType extends TimeType {
  static accepts = on('long')
  readonly digits = 6
}

abstract class TimestampType extends CanonicalType {
  abstract readonly digits: 3 | 6
  abstract readonly utc: boolean
  get family(): Family {
    return this.utc ? 'timestamp' : 'local-timestamp'
  }
  override get rank(): number {
    return this.digits
  }
  describe(): string {
    return `ISO 8601 ${this.utc ? 'UTC ' : 'local '}timestamp string with ${this.digits} fraction digits`
  }
  protected override isCanonical(text: string): boolean {
    return parseCanonicalTimestamp(text, this.digits, this.utc) !== undefined
  }
  protected override _fromValue(value: number | bigint): string {
    return formatTimestamp(value, this.digits as Digits, this.utc)
  }
  protected override _toValue(value: unknown): number | bigint | undefined {
    if (typeof value === 'string') return parseTimestamp(value, this.digits, this.utc)
    if (typeof value === 'number' || typeof value === 'bigint') return toInt64(value)
    if (value instanceof Date) {
      const ms = value.getTime()
      return Number.isNaN(ms) ? undefined : ms * 10 ** (this.digits - 3)
    }
    return undefined
  }
}

export class TimestampMillisType extends TimestampType {
  static accepts = on('long')
  readonly digits = 3
  readonly utc = true
}
export class TimestampMicrosType extends TimestampType {
  static accepts = on('long')
  readonly digits = 6
  readonly utc = true
}
export class LocalTimestampMillisType extends TimestampType {
  static accepts = on('long')
  readonly digits = 3
  readonly utc = false
}
export class LocalTimestampMicrosType extends TimestampType {
  static accepts = on('long')
  readonly digits = 6
  readonly utc = false
}

/** decimal on bytes or fixed <-> string with exactly `scale` fraction digits. */
export class DecimalType extends CanonicalType {
  static accepts = on('bytes', 'fixed')
  readonly family = 'decimal'
  readonly precision: number
  readonly scale: number
  readonly #size: number | undefined

  constructor(schema: SchemaObject, opts?: unknown) {
    super(schema as Schema, opts)
    const precision = schema.precision
    const scale = schema.scale ?? 0
    if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1) throw new Error(`invalid decimal precision: ${String(precision)}`)
    if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) throw new Error(`invalid decimal scale: ${String(scale)}`)
    const underlying = this.underlyingType
    if (underlying.typeName === 'fixed') {
      this.#size = (underlying as unknown as { size: number }).size
      if (precision > maxPrecisionForSize(this.#size)) throw new Error(`decimal precision ${precision} does not fit fixed(${this.#size})`)
    } else if (underlying.typeName !== 'bytes') {
      throw new Error('decimal needs bytes or fixed')
    }
    this.precision = precision
    this.scale = scale
  }

  describe(): string {
    return `decimal string with ${this.scale} fraction digits (precision ${this.precision})`
  }

  #canonical: RegExp | undefined
  protected override isCanonical(text: string): boolean {
    // No leading zeros, exactly `scale` fraction digits, at most `precision` digits, no '-0.00'.
    const whole = this.precision - this.scale
    this.#canonical ??= new RegExp(`^-?(?:0${whole > 1 ? `|[1-9]\\d{0,${whole - 1}}` : whole === 1 ? '|[1-9]' : ''})${this.scale > 0 ? `\\.\\d{${this.scale}}` : ''}$`)
    return this.#canonical.test(text) && !(text.charCodeAt(0) === 45 && /^-[0.]*$/.test(text))
  }

  protected override sameAs(other: CanonicalType): boolean {
    return other instanceof DecimalType && other.scale === this.scale && other.precision === this.precision && other.#size === this.#size
  }

  protected override widensFrom(writer: CanonicalType): boolean {
    return writer instanceof DecimalType && writer.scale <= this.scale && writer.precision - writer.scale <= this.precision - this.scale
  }

  protected override _fromValue(bytes: Buffer): string {
    return bytesToDecimal(bytes, this.scale)
  }

  protected override _toValue(value: unknown): Buffer | undefined {
    // Strings only: a JS number cannot carry an exact decimal.
    return typeof value === 'string' ? decimalToBytes(value, this.scale, this.precision, this.#size) : undefined
  }

  protected override _export(schema: Schema): void {
    Object.assign(schema as SchemaObject, { precision: this.precision, scale: this.scale })
  }
}

/** uuid on string (or fixed(16)) <-> lowercase 8-4-4-4-12 string. */
export class UuidType extends CanonicalType {
  static accepts = on('string', 'fixed')
  readonly family = 'uuid'
  readonly #fixed: boolean

  constructor(schema: SchemaObject, opts?: unknown) {
    super(schema as Schema, opts)
    const underlying = this.underlyingType
    this.#fixed = underlying.typeName === 'fixed'
    if (this.#fixed ? (underlying as unknown as { size: number }).size !== 16 : underlying.typeName !== 'string') {
      throw new Error('uuid needs string or fixed(16)')
    }
  }

  describe(): string {
    return 'uuid string'
  }
  protected override isCanonical(text: string): boolean {
    if (text.length !== 36) return false
    for (let i = 0; i < 36; i++) {
      const c = text.charCodeAt(i)
      if (i === 8 || i === 13 || i === 18 || i === 23 ? c !== 45 : !((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
    }
    return true
  }

  protected override sameAs(other: CanonicalType): boolean {
    return other instanceof UuidType
  }

  protected override _fromValue(value: string | Buffer): string {
    if (typeof value === 'string') return value.toLowerCase()
    const hex = value.toString('hex')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }

  protected override _toValue(value: unknown): string | Buffer | undefined {
    if (typeof value !== 'string' || !UUID_RE.test(value)) return undefined
    return this.#fixed ? Buffer.from(value.replaceAll('-', ''), 'hex') : value.toLowerCase()
  }
}

/** Pass as `Type.forSchema(schema, { logicalTypes, wrapUnions: false })`; or use createType. */
export const logicalTypes = {
  date: DateType,
  'time-millis': TimeMillisType,
  'time-micros': TimeMicrosType,
  'timestamp-millis': TimestampMillisType,
  'timestamp-micros': TimestampMicrosType,
  'local-timestamp-millis': LocalTimestampMillisType,
  'local-timestamp-micros': LocalTimestampMicrosType,
  decimal: DecimalType,
  uuid: UuidType,
} as const

/** The options every part of Tributary parses Avro schemas with (canonical in-memory values). */
export const typeOptions = { logicalTypes, wrapUnions: false, omitRecordMethods: true } as const

/**
 * An avsc Type for a schema (object or JSON text) with the canonical representation: logical types
 * above, the exact primitives of avro-types.ts, unions unwrapped, records without avsc's helper
 * methods. Throws TRIB_SCHEMA_INVALID, e.g. for a union whose branches cannot be told apart once
 * unwrapped (two records, int and long). `utf8: 'escape'` is for locating invalid strings only.
 */
export function createType(schema: string | object, options: { wrapUnions?: 'auto'; utf8?: 'escape' } = {}): Type {
  try {
    const json = typeof schema === 'string' ? schemaFromText(schema) : schema
    return avro.Type.forSchema(json as Schema, {
      ...typeOptions,
      logicalTypes: { ...logicalTypes },
      ...(options.wrapUnions ? { wrapUnions: options.wrapUnions } : {}),
      typeHook: exactTypeHook(options.utf8 ?? 'throw'),
    } as never)
  } catch (e) {
    throw new TributaryError('TRIB_SCHEMA_INVALID', `cannot use Avro schema: ${messageOf(e)}`, { cause: e })
  }
}

/** JSON schema text (integers exact, for long defaults), or a bare type name such as `long` (avsc accepts names, JSON does not). */
function schemaFromText(text: string): unknown {
  const trimmed = text.trim()
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(trimmed) ? trimmed : parseExact(text)
}
